// Every differentiable op in the registry has a float64 finite-difference gradient check here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { f64, gradcheck } from '../util/gradcheck.js';

const ids = (vals: number[], shape: number[]): T.Tensor => T.tensor(Int32Array.from(vals), shape, 'int32');
const pos = (shape: number[], seed: number): T.Tensor => f64(shape, seed, 0.5, 2);

/** RoPE-style cos / sin tables [s, h] (float64) of random angles in [0, 3). */
function ropeTables(s: number, h: number, seed: number): { cos: T.Tensor; sin: T.Tensor } {
  const a = f64([s, h], seed, 0, 3).detach().data();
  return { cos: T.tensor(Float64Array.from(a, Math.cos), [s, h]), sin: T.tensor(Float64Array.from(a, Math.sin), [s, h]) };
}

/** One or more checks per op name: [fn, inputs]. */
const cases: Record<string, Array<[(...x: T.Tensor[]) => T.Tensor, () => T.Tensor[]]>> = {
  add: [[(a, b) => T.add(a, b), () => [f64([2, 3], 1), f64([3], 2)]]],
  sub: [[(a, b) => T.sub(a, b), () => [f64([2, 1, 3], 3), f64([4, 1], 4)]]],
  mul: [[(a, b) => T.mul(a, b), () => [f64([2, 3], 5), f64([2, 3], 6)]]],
  div: [[(a, b) => T.div(a, b), () => [f64([3, 2], 7), pos([2], 8)]]],
  pow: [[(a, b) => T.pow(a, b), () => [pos([2, 3], 9), f64([2, 3], 10)]]],
  maximum: [[(a, b) => T.maximum(a, b), () => [f64([4], 11), f64([4], 12)]]],
  minimum: [[(a, b) => T.minimum(a, b), () => [f64([4], 13), f64([2, 4], 14)]]],
  neg: [[(a) => T.neg(a), () => [f64([5], 15)]]],
  exp: [[(a) => T.exp(a), () => [f64([5], 16)]]],
  log: [[(a) => T.log(a), () => [pos([5], 17)]]],
  log1p: [[(a) => T.log1p(a), () => [pos([5], 18)]]],
  sqrt: [[(a) => T.sqrt(a), () => [pos([5], 19)]]],
  rsqrt: [[(a) => T.rsqrt(a), () => [pos([5], 20)]]],
  abs: [[(a) => T.abs(a), () => [f64([6], 21)]]],
  tanh: [[(a) => T.tanh(a), () => [f64([6], 22, -3, 3)]]],
  sigmoid: [[(a) => T.sigmoid(a), () => [f64([6], 23, -4, 4)]]],
  relu: [[(a) => T.relu(a), () => [f64([6], 24)]]],
  gelu: [[(a) => T.gelu(a), () => [f64([8], 25, -4, 4)]]],
  geluTanh: [[(a) => T.gelu(a, 'tanh'), () => [f64([8], 26, -4, 4)]]],
  silu: [[(a) => T.silu(a), () => [f64([8], 27, -4, 4)]]],
  square: [[(a) => T.square(a), () => [f64([5], 28)]]],
  reciprocal: [[(a) => T.reciprocal(a), () => [pos([5], 29)]]],
  powScalar: [[(a) => T.pow(a, 2.5), () => [pos([5], 30)]]],
  clamp: [[(a) => T.clamp(a, -0.5, 0.5), () => [f64([8], 31)]], [(a) => T.clamp(a, undefined, 0.2), () => [f64([8], 93)]]],
  addScalar: [[(a) => T.addScalar(a, 3), () => [f64([3], 32)]]],
  mulScalar: [[(a) => T.mulScalar(a, -2), () => [f64([3], 33)]]],
  rsubScalar: [[(a) => T.rsubScalar(a, 1.5), () => [f64([3], 92)]]],
  matmul: [
    [(a, b) => T.matmul(a, b), () => [f64([3, 4], 34), f64([4, 2], 35)]],
    [(a, b) => T.matmul(a, b), () => [f64([2, 3, 4], 36), f64([4, 5], 37)]],
    [(a, b) => T.matmul(a, b), () => [f64([2, 1, 3, 4], 38), f64([3, 4, 2], 39)]],
    [(a, b) => T.matmul(T.transpose(a, 0, 1), T.transpose(b, -1, -2)), () => [f64([4, 3], 40), f64([2, 5, 4], 41)]],
    [(a, b) => T.matmul(a, b), () => [f64([4], 42), f64([4, 3], 43)]],
  ],
  sum: [[(a) => T.sum(a, [0, 2], true), () => [f64([2, 3, 4], 44)]], [(a) => T.sum(a), () => [f64([3, 2], 45)]]],
  mean: [[(a) => T.mean(a, 1), () => [f64([2, 3, 4], 46)]]],
  max: [[(a) => T.max(a, 1), () => [f64([3, 4], 47)]], [(a) => T.max(a), () => [f64([5], 48)]]],
  min: [[(a) => T.min(a, 0, true), () => [f64([3, 4], 49)]]],
  var: [[(a) => T.variance(a, 1), () => [f64([3, 5], 50)]], [(a) => T.variance(a, [0, 1], { correction: 0 }), () => [f64([3, 4], 51)]]],
  logsumexp: [[(a) => T.logsumexp(a, 1), () => [f64([3, 4], 52, -3, 3)]], [(a) => T.logsumexp(a, 0, true), () => [f64([3, 4], 53)]]],
  softmax: [[(a) => T.softmax(a, -1), () => [f64([3, 4], 54)]], [(a) => T.softmax(a, 0), () => [f64([3, 4], 55)]]],
  logSoftmax: [[(a) => T.logSoftmax(a, -1), () => [f64([3, 4], 56)]]],
  logSoftmaxNll: [
    [(a) => { const r = T.logSoftmaxNll(a, ids([0, 2, -100, 3], [4])); return T.add(T.sum(r.loss), T.mulScalar(T.sum(T.square(r.lse)), 0.3)); }, () => [f64([4, 5], 94)]],
    [(a) => T.logSoftmaxNll(a, ids([4, 1, 1], [3]), { weight: pos([5], 95), labelSmoothing: 0.2, ignoreIndex: 1 }).loss, () => [f64([3, 5], 96)]],
  ],
  checkpoint: [
    [(a, b) => T.checkpoint((x) => T.mul(T.tanh(x), b), [a], { params: [b] }), () => [f64([2, 3], 97), f64([2, 3], 98)]],
    [(a, m) => T.checkpoint((x, y) => T.matmul(T.gelu(x), y), [a, T.mulScalar(m, 2)]), () => [f64([2, 3], 99), f64([3, 2], 100)]],
  ],
  gather: [[(a) => T.gather(a, 1, ids([0, 2, 2, 1, 0, 0], [3, 2])), () => [f64([3, 4], 57)]]],
  scatterAdd: [[(a, s) => T.scatterAdd(a, 1, ids([0, 2, 2, 1, 3, 3], [3, 2]), s), () => [f64([3, 4], 58), f64([3, 2], 59)]]],
  indexSelect: [[(a) => T.indexSelect(a, ids([2, 0, 2], [3])), () => [f64([3, 2, 2], 60)]]],
  embedding: [[(w) => T.embedding(w, ids([1, 3, 1, 0], [2, 2])), () => [f64([4, 3], 61)]]],
  concat: [[(a, b) => T.concat([a, b], 1), () => [f64([2, 3], 62), f64([2, 1], 63)]]],
  stack: [[(a, b) => T.stack([a, b], 1), () => [f64([2, 3], 64), f64([2, 3], 65)]]],
  split: [[(a) => T.mul(T.split(a, [1, 3], 1)[1], T.split(a, [3, 1], 1)[0]), () => [f64([2, 4], 66)]]],
  maskedFill: [[(a) => T.maskedFill(a, ids([1, 0, 0, 1], [4]), 2), () => [f64([3, 4], 67)]]],
  where: [[(a, b) => T.where(ids([1, 0, 1], [3]), a, b), () => [f64([2, 3], 68), f64([3], 69)]]],
  tril: [[(a) => T.tril(a, -1), () => [f64([2, 3, 3], 70)]]],
  triu: [[(a) => T.triu(a, 1), () => [f64([3, 4], 71)]]],
  dropout: [[(a) => T.dropout(a, 0.4, true, new T.Generator(5)), () => [f64([20], 72)]]],
  linear: [
    [(x, w, b) => T.linear(x, w, b), () => [f64([2, 3, 4], 94), f64([5, 4], 95), f64([5], 96)]],
    [(x, w) => T.linear(x, T.transpose(w, 0, 1)), () => [f64([3, 4], 97), f64([4, 2], 98)]],
  ],
  layerNorm: [[(x, w, b) => T.layerNorm(x, w, b, 1e-5), () => [f64([3, 5], 73), f64([5], 74), f64([5], 75)]]],
  scaledDotProductAttention: [
    [(q, k, v) => T.scaledDotProductAttention(q, k, v, { causal: true }), () => [f64([2, 4, 3], 76), f64([2, 4, 3], 77), f64([2, 4, 3], 78)]],
    [(q, k, v) => T.scaledDotProductAttention(q, k, v, { causal: false }), () => [f64([1, 2, 3, 2], 79), f64([1, 2, 5, 2], 80), f64([1, 2, 5, 2], 81)]],
    // sliding window of 2 (each query sees itself and one key before)
    [(q, k, v) => T.scaledDotProductAttention(q, k, v, { causal: true, window: 2 }), () => [f64([1, 2, 5, 3], 94), f64([1, 2, 5, 3], 95), f64([1, 2, 5, 3], 96)]],
    // key padding [B = 2, S = 4] (batch 1 left-padded: its first causal query sees no key), with a window
    [(q, k, v) => T.scaledDotProductAttention(q, k, v, { causal: true, window: 3, keyPaddingMask: T.tensor(new Float64Array([0, 0, 0, 1, 1, 0, 0, 0]), [2, 4]) }),
      () => [f64([2, 2, 4, 2], 97), f64([2, 2, 4, 2], 98), f64([2, 2, 4, 2], 99)]],
    // RoPE tables in the kernel (S = 5 > T = 3: queries at positions 2..4), non-causal with padding
    [(q, k, v) => T.scaledDotProductAttention(q, k, v, { keyPaddingMask: T.tensor(new Float64Array([0, 1, 0, 0, 0]), [1, 5]),
      rope: ropeTables(5, 2, 100) }),
      () => [f64([1, 2, 3, 4], 101), f64([1, 2, 5, 4], 102), f64([1, 2, 5, 4], 103)]],
  ],
  // qkv [B, T, 3·H·D]: B = 2, T = 4, H = 2, D = 2 causal with padding; B = 1, T = 3, H = 1, D = 4 with RoPE and a window
  packedSelfAttention: [
    [(qkv) => T.packedSelfAttention(qkv, 2, { causal: true, keyPaddingMask: T.tensor(new Float64Array([1, 0, 0, 0, 0, 0, 0, 1]), [2, 4]) }),
      () => [f64([2, 4, 12], 104)]],
    [(qkv) => T.packedSelfAttention(qkv, 1, { causal: true, window: 2, rope: ropeTables(3, 2, 105) }), () => [f64([1, 3, 12], 106)]],
  ],
  reshape: [[(a) => T.mul(T.reshape(a, [3, 2]), T.reshape(a, [3, 2])), () => [f64([2, 3], 82)]]],
  transpose: [[(a) => T.transpose(a, 0, 2), () => [f64([2, 3, 4], 83)]]],
  permute: [[(a) => T.permute(a, [2, 0, 1]), () => [f64([2, 3, 4], 84)]]],
  narrow: [[(a) => T.narrow(a, 1, 1, 2), () => [f64([2, 4], 85)]]],
  expand: [[(a) => T.expand(a, [3, 2, 4]), () => [f64([2, 1], 86)]]],
  sumToShape: [[(a) => T.sumToShape(a, [3, 1]), () => [f64([2, 3, 4], 90)]], [(a) => T.sumToShape(a, [4]), () => [f64([2, 4], 91)]]],
  squeeze: [[(a) => T.squeeze(a, 1), () => [f64([2, 1, 3], 87)]]],
  unsqueeze: [[(a) => T.unsqueeze(a, 0), () => [f64([2, 3], 88)]]],
  contiguous: [[(a) => T.contiguous(T.transpose(a, 0, 1)), () => [f64([2, 3], 89)]]],
};

test('every differentiable op in the registry has a gradient check', () => {
  const missing = [...T.opRegistry.values()].filter((o) => o.differentiable && !(o.name in cases)).map((o) => o.name);
  assert.deepEqual(missing, [], `ops without a finite-difference check: ${missing.join(', ')}`);
});

for (const [name, list] of Object.entries(cases)) {
  test(`gradcheck ${name}`, () => {
    list.forEach(([fn, make], i) => {
      const r = gradcheck(fn, make());
      assert.ok(r.ok, `${name} case ${i}: ${r.detail}`);
    });
  });
}
