// Pooling window logits into document logits: values and gradients against hand computation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { poolWindows } from '../../src/tasks/window-pool.js';

const rows = () => T.tensor(new Float32Array([1, 2, 3, 0, 5, 5, 0, -1, 4, 8]), [5, 2]).requiresGrad_();
const counts = Int32Array.from([3, 1, 1]);

test('mean: each document the mean of its rows; gradient 1/count per row', () => {
  const x = rows();
  const y = poolWindows(x, counts, 'mean');
  assert.deepEqual(y.shape, [3, 2]);
  const d = Array.from(y.data());
  [3, 7 / 3, 0, -1, 4, 8].forEach((v, i) => assert.ok(Math.abs(d[i] - v) < 1e-6, `${d}`));
  T.backward(T.sum(y));
  assert.deepEqual(Array.from(x.grad!.data()).map((v) => +v.toFixed(6)), [1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3, 1, 1, 1, 1].map((v) => +v.toFixed(6)));
});

test("max: elementwise max over each document's rows; gradient only to the rows that hold it", () => {
  const x = rows();
  const y = poolWindows(x, counts, 'max');
  assert.deepEqual(Array.from(y.data()), [5, 5, 0, -1, 4, 8]);
  T.backward(T.sum(T.mul(y, T.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]))));
  assert.deepEqual(Array.from(x.grad!.data()), [0, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
});

test('counts that do not add up to the rows are an error', () => {
  assert.throws(() => poolWindows(rows(), Int32Array.from([2, 2]), 'mean'), /do not hold the 4 windows/);
});
