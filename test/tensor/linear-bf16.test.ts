// linear with bfloat16 tensors under bf16 autocast (as PyTorch's CPU autocast passes them between
// ops): a bf16 input read as it is with a bf16 input gradient, and a bf16 output (lowpOutput) taking a
// bf16 gradient. Each is checked against the float32 path with the same values, whose own
// correctness lowp-linear.test.ts and the autocast golden cases establish: what the float32 path
// rounds to bf16 must come out bit for bit, what it keeps in float32 must agree within the bf16
// rounding; plus gradient accumulation into a bf16 tensor used twice, and the errors. Current
// backend (js under TRAINFORMER_BACKEND=js).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { autocast } from '../../src/amp/autocast.js';
import { fromBfloat16Bits, toBfloat16Bits } from '../../src/amp/cast.js';
import * as T from '../../src/tensor/index.js';
import { toLowp } from '../../src/tensor/ops/matmul.js';
import { TransformerBlock } from '../../src/nn/block.js';

const bf16 = <R>(fn: () => R): R => autocast({ dtype: 'bfloat16' }, fn);

function bits(t: T.Tensor): number[] {
  const d = t.contiguous().data();
  return d instanceof Uint16Array ? [...d] : [...new Uint32Array(Float32Array.from(d).buffer)];
}
function same(got: T.Tensor, want: T.Tensor, what: string): void {
  assert.equal(got.dtype, want.dtype, what);
  const a = bits(got), b = bits(want);
  const i = a.findIndex((v, j) => v !== b[j]);
  assert.equal(i, -1, `${what} differs at ${i}`);
}
/** The float32 tensor of a bf16 tensor's values. */
function widen(t: T.Tensor): T.Tensor {
  return T.tensor(Array.from(t.contiguous().data() as Uint16Array, (h) => fromBfloat16Bits(h)), t.shape);
}
function randn(shape: number[], seed: number): T.Tensor {
  return T.randn(shape, { generator: new T.Generator(seed) });
}

describe('linear with bfloat16 tensors under bf16 autocast', () => {
  for (const [rows, inF, outF, bias] of [[6, 8, 12, true], [35, 40, 24, false], [130, 48, 96, true]] as const) {
    test(`bf16 input [${rows}, ${inF}] → ${outF}, bias ${bias}: as the float32 input of its values; dx bf16 = the float32 dx rounded`, () => {
      const w = randn([outF, inF], 1).requiresGrad_(), b = bias ? randn([outF], 2).requiresGrad_() : null;
      const x16 = toLowp(randn([rows, inF], 3), 'bfloat16').requiresGrad_();
      const x32 = widen(x16).requiresGrad_();
      const wy = randn([rows, outF], 4);
      const run = (x: T.Tensor): T.Tensor[] => {
        w.grad = null; if (b) b.grad = null;
        const y = bf16(() => T.linear(x, w, b));
        T.backward(T.sum(T.mul(y, wy)));
        return [y.detach(), w.grad!, ...(b ? [b.grad!] : [])];
      };
      const got = run(x16), want = run(x32);
      ['y', 'w.grad', 'b.grad'].slice(0, got.length).forEach((what, i) => same(got[i]!, want[i]!, what));
      assert.equal(x16.grad!.dtype, 'bfloat16');
      assert.deepEqual(bits(x16.grad!), Array.from(x32.grad!.data(), (v) => toBfloat16Bits(v)));
    });

    test(`lowpOutput [${rows}, ${inF}] → ${outF}, bias ${bias}: a bf16 gradient gives the gradients of the float32 gradient of its values`, () => {
      const w = randn([outF, inF], 5).requiresGrad_(), b = bias ? randn([outF], 6).requiresGrad_() : null;
      const x = randn([rows, inF], 7).requiresGrad_();
      const g16 = toLowp(randn([rows, outF], 8), 'bfloat16');
      const run = (g: T.Tensor): T.Tensor[] => {
        w.grad = null; x.grad = null; if (b) b.grad = null;
        const y = bf16(() => T.linear(x, w, b, { lowpOutput: true }));
        assert.equal(y.dtype, 'bfloat16');
        T.backward(y, g);
        return [x.grad!, w.grad!, ...(b ? [b.grad!] : [])];
      };
      const got = run(g16), want = run(widen(g16));
      ['x.grad', 'w.grad', 'b.grad'].slice(0, got.length).forEach((what, i) => same(got[i]!, want[i]!, what));
      if (b) {
        // The bias gradient against float64 column sums of g.
        const gv = widen(g16).data();
        const db = b.grad!.data();
        for (let j = 0; j < outF; j++) {
          let s = 0, sa = 0;
          for (let i = 0; i < rows; i++) { s += gv[i * outF + j]!; sa += Math.abs(gv[i * outF + j]!); }
          assert.ok(Math.abs(db[j]! - s) <= rows * 2 ** -23 * sa, `db[${j}] ${db[j]} vs ${s}`);
        }
      }
    });
  }

  test('a bf16 hidden layer between two linears (fc1 lowpOutput → fc2): as the float32 hidden rounded by fc2, bias 1 gradient within bf16 rounding', () => {
    const [rows, C, H] = [40, 16, 64];
    const w1 = randn([H, C], 10).requiresGrad_(), b1 = randn([H], 11).requiresGrad_();
    const w2 = randn([C, H], 12).requiresGrad_(), b2 = randn([C], 13).requiresGrad_();
    const x = randn([rows, C], 14).requiresGrad_();
    const wy = randn([rows, C], 15);
    const params = [x, w1, b1, w2, b2];
    const run = (lowpOutput: boolean): T.Tensor[] => {
      for (const p of params) p.grad = null;
      const y = bf16(() => {
        const h = T.linear(x, w1, b1, { lowpOutput });
        assert.equal(h.dtype, lowpOutput ? 'bfloat16' : 'float32');
        return T.linear(h, w2, b2);
      });
      T.backward(T.sum(T.mul(y, wy)));
      return [y.detach(), ...params.map((p) => p.grad!)];
    };
    const got = run(true), want = run(false);
    // fc2 rounds a float32 hidden to the very bf16 values fc1 writes, and fc1's products read its
    // gradient rounded to bf16 either way; only b1's gradient sums bf16 (now) or float32 values.
    const names = ['y', 'x.grad', 'w1.grad', 'b1.grad', 'w2.grad', 'b2.grad'];
    for (const i of [0, 1, 2, 4, 5]) same(got[i]!, want[i]!, names[i]!);
    const a = got[3]!.data(), e = want[3]!.data();
    for (let j = 0; j < H; j++) assert.ok(Math.abs(a[j]! - e[j]!) <= 2 ** -8 * rows * 0.5 * Math.max(1, Math.abs(e[j]!)), `b1.grad[${j}] ${a[j]} vs ${e[j]}`);
  });

  test('a bf16 tensor read by two linears: its gradient is the float32 sum of the two bf16 gradients, rounded to bf16', () => {
    const h = toLowp(randn([9, 12], 20), 'bfloat16').requiresGrad_();
    const wa = randn([5, 12], 21), wb = randn([7, 12], 22);
    const ga = randn([9, 5], 23), gb = randn([9, 7], 24);
    const gradOf = (useA: boolean, useB: boolean): T.Tensor => {
      h.grad = null;
      const loss = bf16(() => {
        let l: T.Tensor | null = null;
        if (useA) l = T.sum(T.mul(T.linear(h, wa), ga));
        if (useB) { const lb = T.sum(T.mul(T.linear(h, wb), gb)); l = l ? T.add(l, lb) : lb; }
        return l!;
      });
      T.backward(loss);
      return h.grad!;
    };
    const gA = gradOf(true, false), gB = gradOf(false, true), both = gradOf(true, true);
    assert.equal(both.dtype, 'bfloat16');
    const a = gA.data() as Uint16Array, b = gB.data() as Uint16Array;
    const want = Array.from(a, (v, i) => toBfloat16Bits(Math.fround(fromBfloat16Bits(v) + fromBfloat16Bits(b[i]!))));
    assert.deepEqual(bits(both), want);
  });

  test('a GPT block with its bf16 MLP hidden under activation checkpointing: the replayed backward gives the same bits', () => {
    const grads = (ckpt: boolean): number[][] => {
      const blk = new TransformerBlock({ nEmbd: 32, nHead: 4, activation: 'gelu_new', generator: new T.Generator(40) });
      if (ckpt) blk.gradientCheckpointingEnable();
      blk.train();
      const x = randn([2, 8, 32], 41).requiresGrad_();
      const y = bf16(() => blk.forward(x));
      T.backward(T.sum(T.mul(y, randn([2, 8, 32], 42))));
      return [x.grad!, ...blk.parameters().map((p) => p.grad!)].map((t) => bits(t));
    };
    const plain = grads(false), replayed = grads(true);
    plain.forEach((g, i) => assert.deepEqual(replayed[i], g, `gradient ${i}`));
  });

  test('a bf16 input outside bf16 autocast is refused, naming the dtypes', () => {
    const x16 = toLowp(randn([2, 4], 30), 'bfloat16'), w = randn([3, 4], 31);
    assert.throws(() => T.linear(x16, w), /linear: a bfloat16 input needs bfloat16 autocast .*outside bfloat16 autocast/);
    assert.throws(() => autocast({ dtype: 'float16' }, () => T.linear(x16, w)), /outside bfloat16 autocast/);
    assert.throws(() => bf16(() => T.linear(x16, T.zeros([3, 4], 'float64'))), /weight float64/);
  });
});
