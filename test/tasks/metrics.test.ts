import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracy, macroF1, argmaxRows } from '../../src/tasks/metrics.js';

test('accuracy: fraction of matches', () => {
  assert.equal(accuracy([0, 1, 2, 2], [0, 1, 1, 2]), 0.75);
  assert.ok(Number.isNaN(accuracy([], [])));
});

test('macro-F1 against a hand computation', () => {
  // labels 0 0 1 1 2, predictions 0 1 1 1 0:
  // class 0: tp 1, fp 1, fn 1 → F1 = 2/(2+1+1) = 0.5
  // class 1: tp 2, fp 1, fn 0 → F1 = 4/(4+1) = 0.8
  // class 2: tp 0, fp 0, fn 1 → F1 = 0
  const f = macroF1([0, 1, 1, 1, 0], [0, 0, 1, 1, 2]);
  assert.ok(Math.abs(f - (0.5 + 0.8 + 0) / 3) < 1e-12);
  assert.equal(macroF1([3, 3], [3, 3]), 1);
});

test('argmaxRows: first maximum of each row', () => {
  assert.deepEqual(Array.from(argmaxRows([1, 3, 3, -1, -2, -0.5], 2, 3)), [1, 2]);
});
