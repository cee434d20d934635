// Objective: the total is the weighted sum (value and gradient), each term's value is reported.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { crossEntropy, l2Penalty, Objective, zLoss } from '../../src/losses/index.js';
import { ints, randn64 } from './helpers.js';

test('total = Σ weight·term, gradients flow through every weighted term, values are the unweighted terms', () => {
  const gen = new T.Generator(11);
  const logits = randn64([4, 6], gen).requiresGrad_();
  const w = randn64([3, 2], gen).requiresGrad_();
  const y = ints([0, 5, 2, -100]);
  const obj = new Objective({ ce: 1, zLoss: 0.5, l2: 0.01 });
  const ce = crossEntropy(logits, y), z = zLoss(logits, { coef: 1 }), l2 = l2Penalty([w]);
  const r = obj.compute({ ce, zLoss: z, l2: () => l2 });
  const expect = ce.item() + 0.5 * z.item() + 0.01 * l2.item();
  assert.ok(Math.abs(r.totalValue - expect) < 1e-12);
  assert.deepEqual(Object.keys(r.values), ['ce', 'zLoss', 'l2']);
  assert.equal(r.values.zLoss, z.item());
  assert.ok(Math.abs(r.contributions.l2 - 0.01 * l2.item()) < 1e-15);
  T.backward(r.total);
  // d total / d w = 0.01 · w (l2 = ½Σw²)
  const wd = w.data(), gd = w.grad!.data();
  for (let i = 0; i < wd.length; i++) assert.ok(Math.abs(gd[i] - 0.01 * wd[i]) < 1e-15);
  assert.ok(logits.grad !== null);
});

test('a zero-weight term is reported but kept out of the total (a NaN there cannot reach the gradient)', () => {
  const x = T.tensor(Float64Array.from([1, 2]), [2]).requiresGrad_();
  const obj = new Objective({ main: 2, probe: 0, lazy: 0 });
  let called = false;
  const r = obj.compute({ main: T.sum(x), probe: T.mul(T.sum(x), NaN), lazy: () => { called = true; return T.scalar(1); } });
  assert.equal(called, false);
  assert.ok(Number.isNaN(r.values.probe));
  assert.equal(r.contributions.lazy, 0);
  assert.equal(r.totalValue, 6);
  T.backward(r.total);
  assert.deepEqual(Array.from(x.grad!.data()), [2, 2]);
});
