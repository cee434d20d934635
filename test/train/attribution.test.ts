// Objective attribution: each term's gradient norm and cosine with the total gradient, on cases
// with known answers; the parameters' gradients are left as they were.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { AttributionAccumulator } from '../../src/train/attribution.js';

const vec = (v: number[]) => T.tensor(Float32Array.from(v), [v.length]);

test('orthogonal term gradients: norms |u|, |v|; cosines |u|/|u+v| and |v|/|u+v|', () => {
  const x = vec([0.5, -1, 2, 3]).requiresGrad_();
  const u = vec([3, 0, 0, 0]), v = vec([0, 4, 0, 0]); // ⟂, |u| = 3, |v| = 4, |u + v| = 5
  const acc = new AttributionAccumulator([x]);
  acc.add({ a: T.sum(T.mul(x, u)), b: T.sum(T.mul(x, v)) }, (t) => t);
  const r = acc.result();
  assert.ok(Math.abs(r.a.gradNorm - 3) < 1e-6 && Math.abs(r.b.gradNorm - 4) < 1e-6);
  assert.ok(Math.abs(r.a.cosine - 3 / 5) < 1e-6 && Math.abs(r.b.cosine - 4 / 5) < 1e-6);
  assert.equal(x.grad, null); // no gradient before: none after
});

test('identical and opposite directions: cosine 1 for both; a term pulling against a larger one has cosine −1', () => {
  const x = vec([1, 2, 3]).requiresGrad_();
  const u = vec([1, -2, 2]); // |u| = 3
  const same = new AttributionAccumulator([x]);
  same.add({ a: T.sum(T.mul(x, u)), b: T.mulScalar(T.sum(T.mul(x, u)), 2) }, (t) => t);
  let r = same.result();
  assert.ok(Math.abs(r.a.cosine - 1) < 1e-6 && Math.abs(r.b.cosine - 1) < 1e-6);
  assert.ok(Math.abs(r.a.gradNorm - 3) < 1e-6 && Math.abs(r.b.gradNorm - 6) < 1e-6);
  const opp = new AttributionAccumulator([x]);
  opp.add({ a: T.mulScalar(T.sum(T.mul(x, u)), 3), b: T.mulScalar(T.sum(T.mul(x, u)), -1) }, (t) => t);
  r = opp.result();
  assert.ok(Math.abs(r.a.cosine - 1) < 1e-6 && Math.abs(r.b.cosine + 1) < 1e-6);
});

test('the existing gradient is restored; the scale (loss scale, micro-batch weight) is divided out of the norms; micro-batches add up', () => {
  const x = vec([1, 1]).requiresGrad_();
  T.backward(T.sum(T.mul(x, vec([7, 8])))); // an earlier micro-batch's gradient: [7, 8]
  const acc = new AttributionAccumulator([x]);
  const scale = (t: T.Tensor) => T.mulScalar(t, 1024); // as GradScaler.scale
  acc.add({ a: T.sum(T.mul(x, vec([1, 0]))), b: T.sum(T.mul(x, vec([0, 2]))) }, scale);
  assert.deepEqual(Array.from(x.grad!.data()), [7, 8]);
  acc.add({ a: T.sum(T.mul(x, vec([2, 0]))) }, scale); // a second micro-batch: a's gradient now [3, 0]
  const r = acc.result(1024);
  assert.ok(Math.abs(r.a.gradNorm - 3) < 1e-6 && Math.abs(r.b.gradNorm - 2) < 1e-6);
  assert.ok(Math.abs(r.a.cosine - 3 / Math.sqrt(13)) < 1e-6);
});
