// T.cast to and from the 16-bit dtypes converts values, as PyTorch's Tensor.to(dtype) does. Their
// storage holds bit patterns: cast used to copy the patterns as numbers (bf16 2.0, pattern 0x4000,
// came out as 16384). Expected values are IEEE patterns worked out by hand (bf16 = the top half of
// the float32 pattern, rounded to nearest even; float16 from its 5-bit exponent). Current backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';

const f32 = (v: number[]): T.Tensor => T.tensor(v, [v.length]);
const pattern = (t: T.Tensor): number[] => [...(t.contiguous().data() as Uint16Array)];

test('float32 → bfloat16 → float32: patterns rounded to nearest even, values decoded exactly', () => {
  // 1 + 2^-8 is a tie between 0x3f80 and 0x3f81: even 0x3f80; 1 + 3·2^-8 ties to even 0x3f82.
  const x = f32([2, 1, -3.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 0, -0, Infinity]);
  const h = T.cast(x, 'bfloat16');
  assert.equal(h.dtype, 'bfloat16');
  assert.deepEqual(pattern(h), [0x4000, 0x3f80, 0xc060, 0x3f80, 0x3f82, 0x0000, 0x8000, 0x7f80]);
  const back = T.cast(h, 'float32');
  assert.deepEqual([...back.data()], [2, 1, -3.5, 1, 1 + 2 ** -6, 0, -0, Infinity]);
  assert.deepEqual([...T.cast(h, 'float64').data()], [2, 1, -3.5, 1, 1 + 2 ** -6, 0, -0, Infinity]);
  assert.deepEqual([...T.cast(T.cast(f32([2, -3.5, 7.75]), 'bfloat16'), 'int32').data()], [2, -3, 7]);
});

test('float32 → float16: patterns, and the values back', () => {
  const h = T.cast(f32([1, 2, -0.5, 65504, 2 ** -24]), 'float16');
  assert.deepEqual(pattern(h), [0x3c00, 0x4000, 0xb800, 0x7bff, 0x0001]);
  assert.deepEqual([...T.cast(h, 'float32').data()], [1, 2, -0.5, 65504, 2 ** -24]);
});

test('the gradient through a cast from bfloat16 is bfloat16 of the upstream values', () => {
  const h = T.cast(f32([2, -3.5, 0.25]), 'bfloat16').requiresGrad_();
  const y = T.cast(h, 'float32');
  // d/dh sum(y · [3, 0.5, -8]) = [3, 0.5, -8], exact in bf16.
  T.backward(T.sum(T.mul(y, f32([3, 0.5, -8]))));
  assert.equal(h.grad!.dtype, 'bfloat16');
  assert.deepEqual([...T.cast(h.grad!, 'float32').data()], [3, 0.5, -8]);
});
