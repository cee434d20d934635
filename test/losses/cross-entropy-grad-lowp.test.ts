// crossEntropyGradLowp (the fused LM head's loss rows + 16-bit dlogits in one kernel) against an
// independent float64 computation from the definitions, the native kernel against the js one (special
// rows included), the op against logSoftmaxNll's backward + toLowp, and the fused LM head under
// autocast with every option (class weights, ignoreIndex, label smoothing, z-loss) against the unfused
// crossEntropy + z-loss under autocast.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend, LowpDtype } from '../../src/backend/backend.js';
import { jsBackend } from '../../src/backend/js/index.js';
import { loadNativeBackend } from '../../src/backend/native/index.js';
import * as T from '../../src/tensor/index.js';
import { autocast } from '../../src/amp/autocast.js';
import { crossEntropy, fusedLinearCrossEntropy } from '../../src/losses/index.js';
import { rng } from '../util/rng.js';

const native = loadNativeBackend();
const backends: [string, Backend][] = [['js', jsBackend], ...(native ? [['native', native] as [string, Backend]] : [])];

function randn(r: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

/** float32 values of 16-bit patterns. */
function decode(be: Backend, dtype: LowpDtype, bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  be.castFromLowp(dtype, bits, out, bits.length);
  return out;
}

interface Case { rows: number; C: number; weighted: boolean; eps: number; gLoss: number; gLseOfLse: number }

/** Loss, lse and dx in float64 from the definitions (finite rows only). */
function reference(x: Float32Array, target: Int32Array, w: Float32Array | null, c: Case) {
  const { rows, C, eps, gLoss, gLseOfLse } = c;
  const loss = new Float64Array(rows), lse = new Float64Array(rows), dx = new Float64Array(rows * C);
  const wc = (k: number) => (w ? w[k]! : 1);
  let sw = 0;
  for (let k = 0; k < C; k++) sw += wc(k);
  for (let r = 0; r < rows; r++) {
    const xr = x.subarray(r * C, (r + 1) * C);
    const m = Math.max(...xr);
    let s = 0;
    for (let k = 0; k < C; k++) s += Math.exp(xr[k]! - m);
    const L = m + Math.log(s);
    lse[r] = L;
    const y = target[r]!, valid = y !== -100;
    let sx = 0;
    for (let k = 0; k < C; k++) sx += wc(k) * (xr[k]! - L);
    loss[r] = valid ? (1 - eps) * -(wc(y) * (xr[y]! - L)) + (eps / C) * -sx : 0;
    for (let k = 0; k < C; k++) {
      const p = Math.exp(xr[k]! - L);
      let d = gLseOfLse * L * p;
      if (valid) d += gLoss * ((1 - eps) * wc(y) * (p - (k === y ? 1 : 0)) + (eps / C) * (p * sw - wc(k)));
      dx[r * C + k] = d;
    }
  }
  return { loss, lse, dx };
}

const CASES: Case[] = [
  { rows: 1, C: 1, weighted: false, eps: 0, gLoss: 1, gLseOfLse: 0 },
  { rows: 5, C: 17, weighted: false, eps: 0, gLoss: 0.2, gLseOfLse: 0 },
  { rows: 9, C: 300, weighted: true, eps: 0.1, gLoss: 1 / 7, gLseOfLse: 2e-3 },
  { rows: 6, C: 50257, weighted: false, eps: 0, gLoss: 1 / 6, gLseOfLse: 2e-4 },
  { rows: 4, C: 1000, weighted: true, eps: 0.2, gLoss: 3, gLseOfLse: 0 },
];

function caseInputs(c: Case, seed: number) {
  const r = rng(seed);
  const x = randn(r, c.rows * c.C, 4);
  const target = Int32Array.from({ length: c.rows }, (_, i) => (i % 4 === 3 ? -100 : Math.floor(r() * c.C)));
  const w = c.weighted ? new Float32Array(c.C).map(() => 0.5 + r()) : null;
  return { x, target, w };
}

describe('crossEntropyGradLowp kernel', () => {
  for (const [name, be] of backends) {
    test(`${name}: loss, lse and 16-bit dlogits match the float64 definitions (bf16 and fp16)`, () => {
      for (const dtype of ['bfloat16', 'float16'] as const) {
        CASES.forEach((c, ci) => {
          const { x, target, w } = caseInputs(c, 100 + ci);
          const want = reference(x, target, w, c);
          const loss = new Float32Array(c.rows), lse = new Float32Array(c.rows), dx = new Uint16Array(c.rows * c.C);
          be.crossEntropyGradLowp(dtype, x.slice(), target, w, loss, lse, dx, c.rows, c.C, -100, c.eps, c.gLoss, c.gLseOfLse);
          const what = `${name} ${dtype} case ${ci}`;
          for (let r = 0; r < c.rows; r++) {
            assert.ok(Math.abs(loss[r]! - want.loss[r]!) <= 1e-5 * (1 + Math.abs(want.loss[r]!)), `${what} loss[${r}] ${loss[r]} vs ${want.loss[r]}`);
            assert.ok(Math.abs(lse[r]! - want.lse[r]!) <= 1e-5 * (1 + Math.abs(want.lse[r]!)), `${what} lse[${r}] ${lse[r]} vs ${want.lse[r]}`);
          }
          // One rounding to 16 bits (relative 2^-8 for bf16, 2^-11 for fp16, fp16 subnormals below
          // 6e-5 absolute) on top of float32 arithmetic (~1e-6 of the row's largest term).
          const rel = dtype === 'bfloat16' ? 2 ** -8 : 2 ** -11;
          const got = decode(be, dtype, dx);
          for (let i = 0; i < got.length; i++) {
            const e = want.dx[i]!, tol = rel * Math.abs(e) + 1e-6 * Math.max(c.gLoss, 1e-3) + (dtype === 'float16' ? 2 ** -24 : 0);
            if (Math.abs(got[i]! - e) > tol) assert.fail(`${what} dx[${i}] ${got[i]} vs ${e} (tol ${tol})`);
          }
        });
      }
    });
  }

  test('native against js: special rows (a masked class, an all -inf row, a NaN row, +inf) and thread-sized inputs', { skip: native ? false : 'native addon not built' }, () => {
    const r = rng(7);
    for (const [rows, C] of [[3, 17], [64, 1000], [8, 50257]] as [number, number][]) {
      for (const [weighted, eps, gz] of [[false, 0, 0], [true, 0.1, 0.01], [false, 0.2, 0.3]] as [boolean, number, number][]) {
        const x = randn(r, rows * C, 4);
        x[1] = -Infinity;
        for (let j = 0; j < C; j++) x[C + j] = -Infinity;
        x[2 * C + 1] = NaN;
        if (rows > 3) x[3 * C + 2] = Infinity;
        const target = Int32Array.from({ length: rows }, (_, i) => (i % 4 === 3 ? -100 : Math.floor(r() * C)));
        const w = weighted ? new Float32Array(C).map(() => 0.5 + r()) : null;
        const outs = backends.map(([, be]) => {
          const loss = new Float32Array(rows), lse = new Float32Array(rows), dx = new Uint16Array(rows * C);
          be.crossEntropyGradLowp('bfloat16', x.slice(), target, w, loss, lse, dx, rows, C, -100, eps, 0.25, gz);
          return { loss, lse, dx: decode(jsBackend, 'bfloat16', dx) };
        });
        const what = `[${rows},${C}] weighted=${weighted} eps=${eps} gz=${gz}`;
        const close = (a: Float32Array, e: Float32Array, rtol: number, atol: number, part: string) => {
          for (let i = 0; i < e.length; i++) {
            const u = a[i]!, v = e[i]!;
            if (Number.isNaN(u) || Number.isNaN(v)) { assert.ok(Number.isNaN(u) && Number.isNaN(v), `${what} ${part}[${i}]: native ${u}, js ${v}`); continue; }
            if (!Number.isFinite(u) || !Number.isFinite(v)) { assert.equal(u, v, `${what} ${part}[${i}]`); continue; }
            assert.ok(Math.abs(u - v) <= atol + rtol * Math.abs(v), `${what} ${part}[${i}]: native ${u}, js ${v}`);
          }
        };
        close(outs[1]!.loss, outs[0]!.loss, 1e-5, 1e-5, 'loss');
        close(outs[1]!.lse, outs[0]!.lse, 1e-6, 1e-6, 'lse');
        close(outs[1]!.dx, outs[0]!.dx, 2 ** -7, 1e-7, 'dx');
      }
    }
  });
});

describe('logSoftmaxNllGradLowp op', () => {
  test('equals logSoftmaxNll backward for the same objective, rounded by toLowp (to one 16-bit step)', () => {
    const r = rng(11);
    const N = 6, C = 40;
    const xd = randn(r, N * C, 3);
    const x = T.tensor(xd.slice(), [N, C]);
    const target = T.tensor(new Int32Array([3, -100, 39, 0, 7, 7]), [N]);
    const weight = T.tensor(new Float32Array(C).map(() => 0.5 + r()), [C]);
    const opts = { weight, labelSmoothing: 0.1 };
    const logits = x.detach().requiresGrad_();
    const rows = T.logSoftmaxNll(logits, target, opts);
    T.backward(T.add(T.mulScalar(T.sum(rows.loss), 0.3), T.mulScalar(T.sum(T.square(rows.lse)), 0.05)));
    const expected = logits.grad!.toArray() as number[];
    const out = T.empty([N, C], 'bfloat16');
    const got = T.logSoftmaxNllGradLowp(T.tensor(xd.slice(), [N, C]), target, out, { ...opts, gLoss: 0.3, gLseOfLse: 0.1 });
    assert.deepEqual((got.loss.toArray() as number[]).map((v) => v.toFixed(5)), (rows.loss.toArray() as number[]).map((v) => v.toFixed(5)));
    assert.deepEqual((got.lse.toArray() as number[]).map((v) => v.toFixed(5)), (rows.lse.toArray() as number[]).map((v) => v.toFixed(5)));
    const bits = (out.storage.data as Uint16Array).subarray(out.offset, out.offset + N * C);
    const vals = decode(jsBackend, 'bfloat16', bits);
    expected.forEach((e, i) => assert.ok(Math.abs(vals[i]! - e) <= 2 ** -8 * Math.abs(e) + 1e-7, `dx[${i}] ${vals[i]} vs ${e}`));
  });

  test('refuses an out of another shape or dtype, and non-contiguous logits, naming the argument', () => {
    const x = T.zeros([2, 3]), t = T.tensor(new Int32Array([0, 1]), [2]);
    assert.throws(() => T.logSoftmaxNllGradLowp(x, t, T.empty([3, 2], 'bfloat16'), { gLoss: 1 }), /logSoftmaxNllGradLowp: out must be a contiguous bfloat16 or float16 tensor of shape \[2, 3\], got bfloat16 \[3, 2\]/);
    assert.throws(() => T.logSoftmaxNllGradLowp(x, t, T.empty([2, 3], 'float32'), { gLoss: 1 }), /out must be a contiguous bfloat16 or float16 tensor/);
    assert.throws(() => T.logSoftmaxNllGradLowp(T.transpose(T.zeros([3, 2]), 0, 1), t, T.empty([2, 3], 'bfloat16'), { gLoss: 1 }), /logits must be contiguous float32/);
    assert.throws(() => T.logSoftmaxNllGradLowp(x, T.tensor(new Int32Array([0, 3]), [2]), T.empty([2, 3], 'bfloat16'), { gLoss: 1 }), /target 3 at row 1 is out of range/);
  });
});

test('fused LM head under autocast with class weights, ignoreIndex, label smoothing and z-loss matches the unfused loss', () => {
  // N = 7 tokens in chunks of 2: one group (W's 16-bit copy in dW's bytes) and groups of 4 (its own buffer).
  const C = 16, V = 13, N = 7, zCoef = 0.01, eps = 0.1;
  const h = T.tensor(randn(rng(51), N * C), [N, C]).requiresGrad_(), w = T.tensor(randn(rng(52), V * C), [V, C]).requiresGrad_().keep();
  const y = T.tensor(new Int32Array([1, 5, -100, 0, 3, 7, 12]), [N]);
  const cw = T.tensor(new Float32Array(V).map((_, i) => 0.5 + i / V), [V]);
  const unfused = autocast({ dtype: 'bfloat16' }, () => {
    const logits = T.matmul(h, T.transpose(w, 0, 1));
    const ce = crossEntropy(logits, y, { weight: cw, labelSmoothing: eps });
    return T.add(ce, T.mulScalar(T.mean(T.square(T.logsumexp(logits, -1))), zCoef));
  });
  T.backward(unfused);
  const want = [h.grad!.toArray() as number[], w.grad!.toArray() as number[]];
  for (const lowpGroupSize of [64, 4]) {
    h.clearGrad(); w.clearGrad();
    const l = autocast({ dtype: 'bfloat16' }, () => fusedLinearCrossEntropy(h, w, y, { weight: cw, labelSmoothing: eps, zLossCoef: zCoef, chunkSize: 2, lowpGroupSize }));
    T.backward(l);
    assert.ok(Math.abs(l.item() - unfused.item()) < 1e-5, `group ${lowpGroupSize}: loss ${l.item()} vs ${unfused.item()}`);
    [h.grad!.toArray() as number[], w.grad!.toArray() as number[]].forEach((xs, j) =>
      xs.forEach((v, i) => assert.ok(Math.abs(v - want[j]![i]!) < 1e-5, `group ${lowpGroupSize} part ${j}[${i}]: ${v} vs ${want[j]![i]}`)));
  }
});

test('fused LM head under autocast with only one input requiring grad: that gradient matches the unfused one', () => {
  const C = 16, V = 13, N = 7;
  const hd = randn(rng(61), N * C), wd = randn(rng(62), V * C);
  const y = T.tensor(new Int32Array([1, 5, 12, 0, 3, 7, 9]), [N]);
  for (const which of ['hidden', 'weight'] as const) {
    const grads = [false, true].map((fused) => {
      const h = T.tensor(hd.slice(), [N, C]), w = T.tensor(wd.slice(), [V, C]);
      const x = which === 'hidden' ? h.requiresGrad_() : w.requiresGrad_();
      const l = autocast({ dtype: 'bfloat16' }, () => (fused ? fusedLinearCrossEntropy(h, w, y, { chunkSize: 2 })
        : crossEntropy(T.matmul(h, T.transpose(w, 0, 1)), y)));
      T.backward(l);
      assert.equal((which === 'hidden' ? w : h).grad, null);
      return x.grad!.toArray() as number[];
    });
    grads[1]!.forEach((v, i) => assert.ok(Math.abs(v - grads[0]![i]!) < 1e-6, `${which} grad[${i}]: fused ${v} vs unfused ${grads[0]![i]}`));
  }
});
