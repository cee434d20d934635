// autocast: which ops run on 16-bit operands, against independent float64 references built from
// operands rounded by the bit rules of src/amp/cast.ts. Runs on whichever backend is active
// (npm test runs the suite on native and on js).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { autocast, autocastDtype } from '../../src/amp/autocast.js';
import { fromBfloat16Bits, fromFloat16Bits, toBfloat16Bits, toFloat16Bits } from '../../src/amp/cast.js';
import { crossEntropy, fusedLinearCrossEntropy } from '../../src/losses/index.js';
import * as T from '../../src/tensor/index.js';

type D = 'bfloat16' | 'float16';
const rnd = (d: D, x: number): number => (d === 'bfloat16' ? fromBfloat16Bits(toBfloat16Bits(x)) : fromFloat16Bits(toFloat16Bits(x)));

function randn(shape: number[], seed: number): T.Tensor {
  return T.randn(shape, { generator: new T.Generator(seed) });
}

/** float64 [m,k]·[k,n] of plain arrays. */
function mm(a: number[], b: number[], m: number, k: number, n: number): { y: number[]; abs: number[] } {
  const y = new Array<number>(m * n).fill(0), abs = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) {
    y[i * n + j] += a[i * k + p]! * b[p * n + j]!;
    abs[i * n + j] += Math.abs(a[i * k + p]! * b[p * n + j]!);
  }
  return { y, abs };
}
const tr = (a: number[], r: number, c: number): number[] => Array.from({ length: r * c }, (_, i) => a[(i % r) * c + Math.floor(i / r)]!);

function assertWithin(got: number[], want: number[], abs: number[], k: number, what: string): void {
  for (let i = 0; i < want.length; i++) {
    const tol = (k + 2) * 2 ** -23 * abs[i]! + 1e-12;
    assert.ok(Math.abs(got[i]! - want[i]!) <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]} (tol ${tol})`);
  }
}

describe('autocast', () => {
  for (const d of ['bfloat16', 'float16'] as const) {
    test(`${d}: matmul forward and backward use rounded operands, float32 sums`, () => {
      const m = 5, k = 33, n = 7;
      const a = randn([m, k], 1).requiresGrad_(), w = randn([n, k], 2).requiresGrad_();
      const y = autocast({ dtype: d }, () => T.matmul(a, T.transpose(w, 0, 1)));
      assert.equal(y.dtype, 'float32');
      const ar = a.toArray().map((x) => rnd(d, x)), wr = w.toArray().map((x) => rnd(d, x));
      const f = mm(ar, tr(wr, n, k), m, k, n);
      assertWithin(y.toArray(), f.y, f.abs, k, 'y');
      // The rounding is really there: the float32 product differs.
      const y32 = T.matmul(a, T.transpose(w, 0, 1)).toArray();
      assert.ok(y32.some((v, i) => Math.abs(v - f.y[i]!) > 1e-4), 'float32 product should differ from the rounded one');
      // Backward outside the region still uses the forward's dtype: dA = round(g)·round(W), dW = round(g)ᵀ·round(A).
      const g = randn([m, n], 3);
      T.backward(y, g);
      const gr = g.toArray().map((x) => rnd(d, x));
      const da = mm(gr, wr, m, n, k);
      assertWithin(a.grad!.toArray(), da.y, da.abs, n, 'dA');
      const dw = mm(tr(gr, m, n), ar, n, m, k);
      assertWithin(w.grad!.toArray(), dw.y, dw.abs, m, 'dW');
      assert.equal(a.grad!.dtype, 'float32');
    });
  }

  test('softmax, layer norm and sums stay float32 (identical with and without autocast)', () => {
    const x = randn([4, 9], 5), w = randn([9], 6), b = randn([9], 7);
    const plain = [T.softmax(x, -1), T.logSoftmax(x, -1), T.layerNorm(x, w, b, 1e-5), T.sum(x)].map((t) => t.toArray());
    const cast = autocast({ dtype: 'bfloat16' }, () => [T.softmax(x, -1), T.logSoftmax(x, -1), T.layerNorm(x, w, b, 1e-5), T.sum(x)].map((t) => t.toArray()));
    assert.deepEqual(cast, plain);
  });

  test('a parameter changed between regions is cast again (no stale copy)', () => {
    const w = randn([8, 8], 8).requiresGrad_().keep();
    const x = randn([2, 8], 9);
    const y1 = autocast({ dtype: 'bfloat16' }, () => T.matmul(x, w)).toArray();
    (w.storage.data as Float32Array).fill(0.5);
    const y2 = autocast({ dtype: 'bfloat16' }, () => T.matmul(x, w)).toArray();
    const xr = x.toArray().map((v) => rnd('bfloat16', v));
    const want = mm(xr, new Array(64).fill(0.5), 2, 8, 8);
    assertWithin(y2, want.y, want.abs, 8, 'y2');
    assert.notDeepEqual(y1, y2);
  });

  test('regions nest, enabled: false turns it off, the dtype is restored, errors are clear', () => {
    assert.equal(autocastDtype(), null);
    autocast({ dtype: 'float16' }, () => {
      assert.equal(autocastDtype(), 'float16');
      autocast({ enabled: false }, () => assert.equal(autocastDtype(), null));
      autocast({ dtype: 'bfloat16' }, () => assert.equal(autocastDtype(), 'bfloat16'));
      assert.equal(autocastDtype(), 'float16');
    });
    assert.equal(autocastDtype(), null);
    assert.throws(() => autocast({ dtype: 'float8' as never }, () => 0), /autocast: dtype must be 'bfloat16' or 'float16', got 'float8'/);
    assert.throws(() => autocast({}, () => { throw new Error('inner'); }), /inner/);
    assert.equal(autocastDtype(), null);
  });

  for (const d of ['bfloat16', 'float16'] as const) {
    test(`${d}: causal attention on rounded q, k, v; masked keys stay masked`, () => {
      const B = 2, Tq = 5, Dh = 4;
      const q = randn([B, Tq, Dh], 11).requiresGrad_(), k = randn([B, Tq, Dh], 12), v = randn([B, Tq, Dh], 13);
      const scale = 1 / Math.sqrt(Dh);
      const y = autocast({ dtype: d }, () => T.scaledDotProductAttention(q, k, v, { causal: true })).toArray();
      const pre = d === 'float16' ? scale : 1;
      const qr = q.toArray().map((x) => rnd(d, x * pre)), kr = k.toArray().map((x) => rnd(d, x)), vr = v.toArray().map((x) => rnd(d, x));
      for (let b = 0; b < B; b++) for (let i = 0; i < Tq; i++) {
        const s: number[] = [];
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let c = 0; c < Dh; c++) dot += qr[(b * Tq + i) * Dh + c]! * kr[(b * Tq + j) * Dh + c]!;
          s.push(dot * (scale / pre));
        }
        const mx = Math.max(...s), e = s.map((x) => Math.exp(x - mx)), z = e.reduce((p, c) => p + c, 0);
        for (let c = 0; c < Dh; c++) {
          let o = 0, mag = 0;
          for (let j = 0; j <= i; j++) {
            o += (e[j]! / z) * vr[(b * Tq + j) * Dh + c]!;
            mag += (e[j]! / z) * Math.abs(vr[(b * Tq + j) * Dh + c]!);
          }
          // bf16 on AMX (native) also rounds the probabilities before P·V, as PyTorch's autocast
          // does: at most bf16's unit roundoff 2^-8 of Σ P|v| (test/backend/attention-lowp.test.ts).
          const tol = 2e-5 + (d === 'bfloat16' ? 2 ** -8 * mag : 0);
          assert.ok(Math.abs(y[(b * Tq + i) * Dh + c]! - o) < tol, `${d} out[${b},${i},${c}] ${y[(b * Tq + i) * Dh + c]} vs ${o}`);
        }
      }
    });
  }

  test('float16 attention does not overflow where unscaled q·k would pass 65504, and has finite gradients', () => {
    // q·k = 64 · 100 · 100 = 640000 before scaling (beyond float16), 80000 after 1/√64 (still beyond),
    // but each scaled q element (12.5) and every k element fit, and the sums are float32.
    const q = T.full([1, 3, 64], 100).requiresGrad_(), k = T.full([1, 3, 64], 100).requiresGrad_(), v = randn([1, 3, 64], 14).requiresGrad_();
    const y = autocast({ dtype: 'float16' }, () => T.scaledDotProductAttention(q, k, v, { causal: true }));
    assert.ok(y.toArray().every(Number.isFinite));
    T.backward(T.sum(y));
    for (const t of [q, k, v]) assert.ok(t.grad!.toArray().every(Number.isFinite));
  });

  test('fused LM head under autocast matches crossEntropy(matmul) under autocast', () => {
    const h = randn([2, 3, 16], 21).requiresGrad_(), w = randn([11, 16], 22).requiresGrad_().keep();
    const y = T.tensor(new Int32Array([1, 5, 10, 0, 3, 7]), [2, 3]);
    const fused = autocast({ dtype: 'bfloat16' }, () => fusedLinearCrossEntropy(h, w, y, { chunkSize: 4 }));
    T.backward(fused);
    const gh = h.grad!.toArray(), gw = w.grad!.toArray();
    h.clearGrad(); w.clearGrad();
    const unfused = autocast({ dtype: 'bfloat16' }, () => crossEntropy(T.matmul(h, T.transpose(w, 0, 1)), y, { layout: 'BTV' }));
    T.backward(unfused);
    assert.ok(Math.abs(fused.item() - unfused.item()) < 1e-5, `${fused.item()} vs ${unfused.item()}`);
    gh.forEach((v, i) => assert.ok(Math.abs(v - h.grad!.toArray()[i]!) < 1e-5, `dh[${i}]`));
    gw.forEach((v, i) => assert.ok(Math.abs(v - w.grad!.toArray()[i]!) < 1e-5, `dw[${i}]`));
    // and differs from float32 (the rounding is there)
    const f32 = fusedLinearCrossEntropy(h, w, y, { chunkSize: 4 }).item();
    assert.notEqual(f32, fused.item());
  });
  test('fused LM head under autocast: gathered 16-bit dlogits (lowpGroupSize) give the unfused gradients', () => {
    // 7 tokens in chunks of 2: groups of 4 tokens (2 + 2, then 2 + 1), 5, 6, 2 (one chunk each), 1
    // and all; each against crossEntropy(matmul) under autocast, whose backward rounds the float32
    // dlogits to bfloat16 for both gradient products just as the gathered groups do. With C = 16
    // the groups fit in the buffer beside W's 16-bit copy (rows ≤ C), with C = 4 the larger ones do not.
    for (const C of [16, 4]) {
      const h = randn([7, C], 51).requiresGrad_(), w = randn([13, C], 52).requiresGrad_().keep();
      const y = T.tensor(new Int32Array([1, 5, 12, 0, 3, 7, 9]), [7]);
      const unfused = autocast({ dtype: 'bfloat16' }, () => crossEntropy(T.matmul(h, T.transpose(w, 0, 1)), y, { layout: 'BTV' }));
      T.backward(unfused);
      const want = [h.grad!.toArray() as number[], w.grad!.toArray() as number[]];
      for (const lowpGroupSize of [4, 5, 6, 2, 1, 64]) {
        h.clearGrad(); w.clearGrad();
        const l = autocast({ dtype: 'bfloat16' }, () => fusedLinearCrossEntropy(h, w, y, { chunkSize: 2, lowpGroupSize }));
        T.backward(l);
        const what = `C ${C} group ${lowpGroupSize}`;
        assert.ok(Math.abs(l.item() - unfused.item()) < 1e-5, `${what}: loss ${l.item()} vs ${unfused.item()}`);
        [h.grad!.toArray() as number[], w.grad!.toArray() as number[]].forEach((xs, j) =>
          xs.forEach((v, i) => assert.ok(Math.abs(v - want[j]![i]!) < 1e-6, `${what} part ${j}[${i}]: ${v} vs ${want[j]![i]}`)));
      }
      assert.throws(() => fusedLinearCrossEntropy(h, w, y, { lowpGroupSize: 0 }), /option 'lowpGroupSize' must be a positive integer, got 0/);
    }
  });
  test('toLowp into a narrowed 16-bit buffer writes only those rows', () => {
    const a = randn([2, 3], 61);
    const buf = T.toLowp(T.zeros([4, 3]), 'bfloat16');
    T.toLowp(a, 'bfloat16', T.narrow(buf, 0, 1, 2));
    const bits = Array.from((buf.storage.data as Uint16Array).subarray(buf.offset, buf.offset + 12)), ad = a.toArray() as number[];
    assert.deepEqual(bits, [0, 0, 0, ...ad.map((x) => toBfloat16Bits(x)), 0, 0, 0]);
    assert.throws(() => T.toLowp(a, 'bfloat16', T.narrow(buf, 0, 0, 1)), /out must be a contiguous bfloat16 tensor of 6 elements/);
  });
  test('lowpViewsOf: 16-bit views side by side in a float32 buffer', () => {
    const host = T.zeros([3, 2]); // 6 float32 = 12 16-bit elements
    const [a, b] = T.lowpViewsOf(host, 'bfloat16', [[2, 3], [1, 5]]);
    assert.deepEqual([a!.shape, a!.dtype, b!.shape], [[2, 3], 'bfloat16', [1, 5]]);
    const x = randn([2, 3], 71), y = randn([1, 5], 72);
    T.toLowp(x, 'bfloat16', a); T.toLowp(y, 'bfloat16', b);
    // b starts right after a's 6 elements and neither overwrote the other
    const bits = [...T.lowpViewsOf(host, 'bfloat16', [[12]])[0]!.storage.data as Uint16Array];
    assert.deepEqual(bits, [...(x.toArray() as number[]), ...(y.toArray() as number[])].map((v) => toBfloat16Bits(v)).concat([0]));
    assert.throws(() => T.lowpViewsOf(host, 'bfloat16', [[13]]), /13 bfloat16 elements do not fit in 6 float32 elements/);
    assert.throws(() => T.lowpViewsOf(T.zeros([2, 3], 'float64'), 'bfloat16', [[1]]), /host must be a contiguous float32 tensor, got float64/);
  });
  test('toLowp + addmmInPlace: a 16-bit operand makes a 16-bit product, no policy needed', () => {
    for (const d of ['bfloat16', 'float16'] as const) {
      const a = randn([5, 7], 31), b = randn([4, 7], 32);
      const a16 = T.toLowp(a, d);
      assert.equal(a16.dtype, d);
      const ad = a.toArray() as number[], bd = b.toArray() as number[];
      (a16.storage.data as Uint16Array).forEach((h, i) => assert.equal(h, d === 'bfloat16' ? toBfloat16Bits(ad[i]!) : toFloat16Bits(ad[i]!), `bits[${i}]`));
      const out = T.full([5, 4], Number.NaN);
      T.addmmInPlace(out, a16, T.transpose(b, 0, 1), 0); // b float32: rounded by the kernel
      const ref = mm(ad.map((x) => rnd(d, x)), tr(bd.map((x) => rnd(d, x)), 4, 7), 5, 7, 4);
      assertWithin(out.toArray() as number[], ref.y, ref.abs, 7, `${d} product`);
      assert.throws(() => T.addmmInPlace(out, a16, T.transpose(T.toLowp(b, d === 'bfloat16' ? 'float16' : 'bfloat16'), 0, 1)), /16-bit operand/);
    }
  });

  test('fused LM head under autocast: the recomputing backward gives the precomputed gradients', () => {
    const h = randn([2, 3, 16], 41).requiresGrad_(), w = randn([11, 16], 42).requiresGrad_().keep();
    const y = T.tensor(new Int32Array([1, 5, 10, 0, 3, 7]), [2, 3]);
    const grads = (pre: boolean): number[][] => {
      h.clearGrad(); w.clearGrad();
      const l = autocast({ dtype: 'bfloat16' }, () => fusedLinearCrossEntropy(h, w, y, { chunkSize: 4, precomputeGradients: pre }));
      T.backward(l);
      return [[l.item()], h.grad!.toArray() as number[], w.grad!.toArray() as number[]];
    };
    const a = grads(true), b = grads(false);
    a.forEach((xs, j) => xs.forEach((v, i) => assert.ok(Math.abs(v - b[j]![i]!) < 1e-6, `part ${j}[${i}]: ${v} vs ${b[j]![i]}`)));
  });
});
