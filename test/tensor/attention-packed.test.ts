// packedSelfAttention (qkv [B, T, 3C] → heads merged [B, T, C]) against the composed path it
// replaces in MultiHeadAttention: reshape/permute/narrow views of the projection, then
// scaledDotProductAttention, then transpose/reshape — whose kernels are tested against explicit
// attention in attention.test.ts and whose gradients are finite-difference checked in
// gradcheck.test.ts (as is packedSelfAttention itself, in float64). Both paths run the same kernels
// on the same values, so outputs and the projection's gradient must agree exactly: in float32 and
// under bf16 / fp16 autocast, with masks and RoPE, on the current backend (the js one under
// TRAINFORMER_BACKEND=js).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { autocast } from '../../src/amp/autocast.js';
import { getBackend } from '../../src/backend/index.js';
import { fromBfloat16Bits, toBfloat16Bits } from '../../src/amp/cast.js';
import { ShapeError } from '../../src/errors.js';
import * as T from '../../src/tensor/index.js';

type Opts = T.AttentionOptions;

/** The composed path: q, k, v as views of the projection, the kernel, the heads merged by a reshape. */
function composed(qkv: T.Tensor, H: number, opts: Opts): T.Tensor {
  const [B, Tn, C3] = qkv.shape;
  const C = C3 / 3, D = C / H;
  const planes = T.permute(T.reshape(qkv, [B, Tn, 3, H, D]), [2, 0, 3, 1, 4]);
  const pick = (i: number): T.Tensor => T.squeeze(T.narrow(planes, 0, i, 1), 0);
  const y = T.scaledDotProductAttention(pick(0), pick(1), pick(2), opts);
  return T.reshape(T.transpose(y, 1, 2), [B, Tn, C]);
}

function randn(shape: number[], seed: number, scale = 1): T.Tensor {
  return T.mulScalar(T.randn(shape, { generator: new T.Generator(seed) }), scale).detach();
}

/** Output and d(sum(w ⊙ y))/d qkv of one path. */
function run(path: (qkv: T.Tensor) => T.Tensor, qkv0: T.Tensor, w: T.Tensor): { y: Float32Array; g: Float32Array } {
  const qkv = qkv0.detach().requiresGrad_();
  const y = path(qkv);
  T.backward(T.sum(T.mul(y, w)));
  return { y: Float32Array.from(y.contiguous().data()), g: Float32Array.from(qkv.grad!.data()) };
}

/**
 * Equal element by element (===: +0 and -0 count as equal — the composed path sums the three narrow
 * gradients, 0 + -0 = +0 where a kernel wrote -0).
 */
function sameValues(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length);
  const i = got.findIndex((v, j) => v !== want[j]);
  assert.equal(i, -1, `${what} differs at ${i}: ${got[i]} vs ${want[i]}`);
}

function ropeTables(s: number, h: number, seed: number): { cos: T.Tensor; sin: T.Tensor } {
  const a = T.rand([s, h], { generator: new T.Generator(seed), low: 0, high: 3 }).data();
  return { cos: T.tensor(Float32Array.from(a, Math.cos), [s, h]), sin: T.tensor(Float32Array.from(a, Math.sin), [s, h]) };
}

interface Case { name: string; B: number; Tn: number; H: number; D: number; opts: () => Opts }
const CASES: Case[] = [
  { name: 'causal, D = 64, T over a 64-row tile', B: 2, Tn: 70, H: 3, D: 64, opts: () => ({ causal: true }) },
  { name: 'not causal, D = 32', B: 1, Tn: 17, H: 2, D: 32, opts: () => ({}) },
  {
    name: 'causal with key padding, window and RoPE', B: 2, Tn: 33, H: 2, D: 16,
    opts: () => ({ causal: true, window: 9, rope: ropeTables(33, 8, 7),
      keyPaddingMask: T.tensor(Float32Array.from({ length: 66 }, (_, i) => (i === 0 || i === 40 || i === 65 ? 1 : 0)), [2, 33]) }),
  },
  {
    name: 'three batches, 4 heads, odd T = 65, the last batch all padding', B: 3, Tn: 65, H: 4, D: 32,
    opts: () => ({ keyPaddingMask: T.tensor(Float32Array.from({ length: 3 * 65 }, (_, i) => (i >= 130 || i % 7 === 3 ? 1 : 0)), [3, 65]) }),
  },
];

describe('packedSelfAttention equals the composed views + scaledDotProductAttention path', () => {
  for (const dtype of ['float32', 'bfloat16', 'float16'] as const) {
    for (const c of CASES) {
      test(`${dtype}: ${c.name}`, () => {
        const C = c.H * c.D;
        const qkv = randn([c.B, c.Tn, 3 * C], 11, 0.5), w = randn([c.B, c.Tn, C], 12);
        const under = <R>(fn: () => R): R => (dtype === 'float32' ? fn() : autocast({ dtype }, fn));
        const opts = c.opts();
        const got = under(() => run((x) => T.packedSelfAttention(x, c.H, opts), qkv, w));
        const want = under(() => run((x) => composed(x, c.H, opts), qkv, w));
        assert.ok(want.g.some((v) => v !== 0), 'the reference gradient is not all zero');
        sameValues(got.y, want.y, 'output');
        sameValues(got.g, want.g, 'gradient of qkv');
      });
    }
  }
});

test('packedSelfAttention: qkv whose last dim is not 3·H·D is one ShapeError', () => {
  assert.throws(() => T.packedSelfAttention(T.zeros([1, 4, 10]), 2), (e: unknown) => e instanceof ShapeError && /3·C/.test(e.message));
  assert.throws(() => T.packedSelfAttention(T.zeros([4, 12]), 2), ShapeError);
});

describe('packedSelfAttention lowpOutput: y bfloat16 under bf16 autocast', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const { B, Tn, H, D } = c, C = H * D;
      const qkv0 = randn([B, Tn, 3 * C], 21, 0.5), w = randn([B, Tn, C], 22), wp = randn([C, C], 23, 0.2);
      const opts = c.opts();
      const bf = getBackend();
      // y16 = the float32 y rounded.
      const y32 = autocast({ dtype: 'bfloat16' }, () => T.packedSelfAttention(qkv0, H, opts));
      const qkv = qkv0.detach().requiresGrad_();
      const y16 = autocast({ dtype: 'bfloat16' }, () => T.packedSelfAttention(qkv, H, { ...opts, lowpOutput: true }));
      assert.equal(y16.dtype, 'bfloat16');
      assert.deepEqual([...(y16.data() as Uint16Array)], [...Uint16Array.from(y32.data(), (v) => toBfloat16Bits(v))]);
      // Into a linear layer, which reads y16 as it is and hands back a bf16 dy.
      const loss = (y: T.Tensor): T.Tensor => T.sum(T.mul(autocast({ dtype: 'bfloat16' }, () => T.linear(y, wp)), w));
      T.backward(loss(y16));
      const leaf = y16.detach().requiresGrad_();
      T.backward(loss(leaf));
      assert.equal(leaf.grad!.dtype, 'bfloat16');
      // The kernel on the same operands: qkv rounded, y16, lse, dy16 → dqkv16, widened for a float32 qkv.
      const n = B * Tn * C, x = opts;
      const kd = Uint16Array.from(qkv0.data(), (v) => toBfloat16Bits(v));
      const yk = new Uint16Array(n), lse = new Float32Array(B * H * Tn), d16 = new Uint16Array(3 * n);
      const pad = x.keyPaddingMask ? Float32Array.from(x.keyPaddingMask.data()) : null;
      const cos = x.rope ? Float32Array.from(x.rope.cos.data()) : null, sin = x.rope ? Float32Array.from(x.rope.sin.data()) : null;
      const scale = 1 / Math.sqrt(D);
      bf.attentionLowpPacked16('bfloat16', kd, yk, lse, pad, cos, sin, B, Tn, H, D, scale, !!x.causal, x.window ?? 0);
      assert.deepEqual([...yk], [...(y16.data() as Uint16Array)]);
      bf.attentionLowpPacked16Backward('bfloat16', kd, yk, lse, leaf.grad!.data() as Uint16Array, d16, pad, cos, sin, B, Tn, H, D, scale, !!x.causal, x.window ?? 0);
      assert.equal(qkv.grad!.dtype, 'float32');
      sameValues(Float32Array.from(qkv.grad!.data()), Float32Array.from(d16, (v) => fromBfloat16Bits(v)), 'gradient of qkv');
      assert.ok(d16.some((v) => (v & 0x7fff) !== 0));
      // Off autocast the option is ignored: float32 y.
      assert.equal(T.packedSelfAttention(qkv0, H, { ...opts, lowpOutput: true }).dtype, 'float32');
    });
  }
});
