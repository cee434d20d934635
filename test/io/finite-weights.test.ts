/**
 * The non-finite check of loaded weights reads each tensor in its own dtype: an F64 value above
 * float32's largest (3.4028235e38) is finite and loads; rounding it to float32 first gave Infinity
 * and refused a good file. The narrower float dtypes still report their NaN / ±Inf bit patterns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFiniteOptimizerState, assertFiniteWeights, firstNonFiniteTensor } from '../../src/io/finite-weights.js';
import { FileFormatError } from '../../src/errors.js';

test('F64 values beyond float32 range are finite; an F64 NaN / Inf is found at its index', () => {
  // 1e300 and -3.5e38 are finite doubles; Math.fround gives ±Infinity for both.
  assert.equal(Math.fround(1e300), Infinity);
  const big = { dtype: 'F64' as const, shape: [3], data: Float64Array.from([1, 1e300, -3.5e38]) };
  assert.equal(firstNonFiniteTensor({ big }), null);
  assert.doesNotThrow(() => assertFiniteWeights({ big }, 'w.safetensors'));
  const bad = { dtype: 'F64' as const, shape: [2, 2], data: Float64Array.from([1e300, 0, -Infinity, NaN]) };
  assert.deepEqual(firstNonFiniteTensor({ big, bad }), { name: 'bad', index: 2, value: -Infinity });
});

test('F16 / BF16 bit patterns of Inf and NaN are still found (decoded exactly); integer tensors skipped', () => {
  // F16 0x7c00 = +Inf; BF16 0x7fc0 = NaN; I32 tensors are not weights to check.
  const f16 = { dtype: 'F16' as const, shape: [2], data: Uint16Array.from([0x3c00, 0x7c00]) };
  const bf16 = { dtype: 'BF16' as const, shape: [1], data: Uint16Array.from([0x7fc0]) };
  const ids = { dtype: 'I32' as const, shape: [1], data: Int32Array.from([-1]) };
  assert.deepEqual(firstNonFiniteTensor({ ids, f16 }), { name: 'f16', index: 1, value: Infinity });
  assert.ok(Number.isNaN(firstNonFiniteTensor({ bf16 })!.value));
});

test('optimizer state: the message names the file and the state entry', () => {
  const s = { 'state.3.expAvgSq': { dtype: 'F32' as const, shape: [2], data: Float32Array.from([0, Infinity]) } };
  assert.throws(() => assertFiniteOptimizerState(s, 'run/checkpoint-2/optimizer.safetensors'), (e: Error) => e instanceof FileFormatError
    && e.message === 'run/checkpoint-2/optimizer.safetensors: optimizer state "state.3.expAvgSq" holds a non-finite value (Infinity) at flat index 1; optimizer state with NaN or Inf is not loaded (the run that wrote it diverged, or the file is damaged)');
});
