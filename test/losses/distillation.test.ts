// distillationLoss: T² · KL(softmax(t/T) ‖ softmax(s/T)), batchmean over counted rows — against
// hand-computed values (plain Math on numbers), against klDiv with logTarget, and its gradient
// against the closed form T · (q_T − p_T) / N.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { distillationLoss, klDiv } from '../../src/losses/index.js';
import { gradCheck, ints } from './helpers.js';

const f64 = (rows: number[][]) => T.tensor(Float64Array.from(rows.flat()), [rows.length, rows[0].length]);

/** softmax(row / temp) with plain numbers. */
function softmax(row: number[], temp: number): number[] {
  const m = Math.max(...row.map((x) => x / temp));
  const e = row.map((x) => Math.exp(x / temp - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

/** T² · mean over rows of Σ p (log p − log q), by hand. */
function handKd(s: number[][], t: number[][], temp: number): number {
  let sum = 0;
  s.forEach((row, i) => {
    const p = softmax(t[i], temp), q = softmax(row, temp);
    for (let j = 0; j < p.length; j++) sum += p[j] * (Math.log(p[j]) - Math.log(q[j]));
  });
  return (temp * temp * sum) / s.length;
}

const S = [[1, 2, 3], [0, 0, 0], [-1, 0.5, 2]];
const Tt = [[3, 1, 0], [1, 0, -1], [0.2, 0.1, -0.4]];

for (const temp of [1, 2, 4]) {
  test(`kd at T = ${temp}: value = hand-computed T²·KL and = T²·klDiv(logSoftmax(s/T), logSoftmax(t/T), logTarget, batchmean)`, () => {
    const s = f64(S), t = f64(Tt);
    const kd = distillationLoss(s, { logits: t }, { temperature: temp }).item();
    assert.ok(Math.abs(kd - handKd(S, Tt, temp)) < 1e-12, `${kd} vs ${handKd(S, Tt, temp)}`);
    const kl = klDiv(T.logSoftmax(T.mulScalar(s, 1 / temp), -1), T.logSoftmax(T.mulScalar(t, 1 / temp), -1), { reduction: 'batchmean', logTarget: true }).item();
    assert.ok(Math.abs(kd - temp * temp * kl) < 1e-12);
  });

  test(`kd gradient at T = ${temp}: T·(q_T − p_T)/N (the T² keeps it on the scale of the label term), and finite differences`, () => {
    const s = f64(S).requiresGrad_();
    T.backward(distillationLoss(s, { logits: f64(Tt) }, { temperature: temp }));
    const g = s.grad!.data();
    S.forEach((row, i) => {
      const p = softmax(Tt[i], temp), q = softmax(row, temp);
      for (let j = 0; j < 3; j++) assert.ok(Math.abs(g[i * 3 + j] - (temp * (q[j] - p[j])) / S.length) < 1e-12);
    });
    gradCheck(([x]) => distillationLoss(x, { logits: f64(Tt) }, { temperature: temp }), [f64(S)]);
  });
}

test('T² scaling: the same pair of distributions gives kd = T²·KL; kd ≠ KL for T ≠ 1', () => {
  const s = f64(S), t = f64(Tt);
  // KL at T=2 without the factor, by hand:
  const kl2 = handKd(S, Tt, 2) / 4;
  const kd2 = distillationLoss(s, { logits: t }, { temperature: 2 }).item();
  assert.ok(Math.abs(kd2 / kl2 - 4) < 1e-9);
  assert.ok(Math.abs(kd2 - kl2) > 1e-3);
});

test('teacher = student gives kd = 0 and a zero gradient', () => {
  const s = f64(S).requiresGrad_();
  const kd = distillationLoss(s, { logits: f64(S) }, { temperature: 3 });
  assert.ok(Math.abs(kd.item()) < 1e-14);
  T.backward(kd);
  for (const v of s.grad!.data()) assert.ok(Math.abs(v) < 1e-14);
});

test('padding: rows whose target is ignoreIndex are left out of the value, the mean and the gradient', () => {
  const s = f64(S).requiresGrad_();
  const target = ints([0, -100, 2]);
  const kd = distillationLoss(s, { logits: f64(Tt) }, { temperature: 2, target });
  const kept = handKd([S[0], S[2]], [Tt[0], Tt[2]], 2); // mean over the 2 counted rows
  assert.ok(Math.abs(kd.item() - kept) < 1e-12);
  T.backward(kd);
  const g = s.grad!.data();
  for (let j = 0; j < 3; j++) assert.equal(g[3 + j], 0);
  const p = softmax(Tt[0], 2), q = softmax(S[0], 2);
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(g[j] - (2 * (q[j] - p[j])) / 2) < 1e-12);
  // Every row ignored: 0, and a gradient of zeros.
  const none = distillationLoss(f64(S).requiresGrad_(), { logits: f64(Tt) }, { target: ints([-100, -100, -100]) });
  assert.equal(none.item(), 0);
});

test('top-k teacher: the k largest logits, renormalised over the k; k = C gives the full divergence', () => {
  const s = f64(S), t = f64(Tt);
  const all = distillationLoss(s, { logits: t, indices: ints([0, 1, 2, 0, 1, 2, 0, 1, 2], [3, 3]) }, { temperature: 2 }).item();
  assert.ok(Math.abs(all - handKd(S, Tt, 2)) < 1e-12);
  // Top-2 of each teacher row (classes 0, 1 in every row here): p over the 2, student log q over all 3.
  const idx = [[0, 1], [0, 1], [0, 1]];
  const top = distillationLoss(s, { logits: f64(Tt.map((r, i) => idx[i].map((j) => r[j]))), indices: ints(idx.flat(), [3, 2]) }, { temperature: 2 }).item();
  let sum = 0;
  S.forEach((row, i) => {
    const p = softmax(idx[i].map((j) => Tt[i][j]), 2), q = softmax(row, 2);
    idx[i].forEach((c, j) => { sum += p[j] * (Math.log(p[j]) - Math.log(q[c])); });
  });
  assert.ok(Math.abs(top - (4 * sum) / 3) < 1e-12);
});

test('bad input: a temperature ≤ 0 and mismatched shapes are one-line errors', () => {
  assert.throws(() => distillationLoss(f64(S), { logits: f64(Tt) }, { temperature: 0 }), /temperature must be a positive number, got 0/);
  assert.throws(() => distillationLoss(f64(S), { logits: f64([[1, 2], [3, 4], [5, 6]]) }), /different classes/);
  assert.throws(() => distillationLoss(f64(S), { logits: f64([[1, 2, 3]]) }), /teacher logits must be \[3, K\]/);
});
