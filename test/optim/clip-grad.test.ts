// clipGradNorm / clipGradValue: PyTorch semantics checked against norms computed here in float64.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValueError } from '../../src/errors.js';
import { clipGradNorm, clipGradValue } from '../../src/optim/index.js';
import * as T from '../../src/tensor/index.js';

function withGrads(...grads: (number[] | null)[]): T.Tensor[] {
  return grads.map((g) => {
    const p = T.zeros([g ? g.length : 1]);
    p.grad = g ? T.tensor(Float32Array.from(g)) : null;
    return p;
  });
}

const flat = (ps: T.Tensor[]) => ps.flatMap((p) => (p.grad ? p.grad.toArray() : []));

test('2-norm, 1-norm, 3-norm, inf-norm: total over all elements, grads scaled by maxNorm/(total+1e-6)', () => {
  const values = [[3, -4, 1.5], [0.25, 2], [-7]];
  for (const p of [2, 1, 3, Infinity]) {
    const ps = withGrads(...values);
    const all = values.flat().map((v) => Math.fround(v));
    const want = p === Infinity ? Math.max(...all.map(Math.abs)) : Math.pow(all.reduce((s, v) => s + Math.abs(v) ** p, 0), 1 / p);
    const total = clipGradNorm(ps, 2, { normType: p });
    assert.ok(Math.abs(total - want) <= 1e-5 * want, `p=${p}: ${total} vs ${want}`);
    const coef = 2 / (want + 1e-6);
    flat(ps).forEach((g, i) => assert.ok(Math.abs(g - all[i] * coef) <= 1e-6 + 1e-5 * Math.abs(all[i] * coef), `p=${p} [${i}]`));
  }
});

test('below maxNorm the coefficient is clamped to 1 (gradients unchanged); parameters without grad are skipped', () => {
  const ps = withGrads([0.1, -0.2], null, [0.05]);
  const total = clipGradNorm(ps, 1);
  assert.ok(Math.abs(total - Math.hypot(0.1, 0.2, 0.05)) < 1e-7);
  assert.deepEqual(flat(ps), [0.1, -0.2, 0.05].map(Math.fround));
  assert.equal(ps[1].grad, null);
  assert.equal(clipGradNorm([], 1), 0);
  assert.equal(clipGradNorm(withGrads(null), 1), 0);
});

test('non-finite gradients propagate by IEEE rules', () => {
  const nan = withGrads([1, Number.NaN], [2]);
  assert.ok(Number.isNaN(clipGradNorm(nan, 1)));
  assert.ok(flat(nan).every(Number.isNaN), 'NaN total: every gradient NaN');
  const inf = withGrads([1, Number.POSITIVE_INFINITY], [-2]);
  assert.equal(clipGradNorm(inf, 1), Infinity);
  const g = flat(inf);
  assert.ok(g[0] === 0 && Number.isNaN(g[1]) && g[2] === 0, `inf total: finite → 0, inf → NaN; got ${g}`);
  const infMax = withGrads([1, Number.NEGATIVE_INFINITY]);
  assert.equal(clipGradNorm(infMax, 1, { normType: Infinity }), Infinity);
  // A finite sum of squares above the float32 range gives an infinite float32 total, as in PyTorch.
  const big = withGrads([3e38, 3e38]);
  assert.equal(clipGradNorm(big, 1), Infinity);
  assert.throws(() => clipGradNorm(withGrads([Number.NaN]), 1, { errorIfNonfinite: true }), (e: unknown) => e instanceof ValueError && /non-finite/.test(e.message));
  assert.throws(() => clipGradNorm(withGrads([Infinity]), 1, { errorIfNonfinite: true }), ValueError);
});

test('non-contiguous gradients are clipped in place through their strides', () => {
  const p = T.zeros([2, 3]);
  const base = T.tensor(Float32Array.from([3, 0, 0, 0, 4, 0]), [3, 2]).keep();
  p.grad = base.transpose(0, 1); // [2, 3] view, strides [1, 2]
  const total = clipGradNorm([p], 1);
  assert.ok(Math.abs(total - 5) < 1e-6);
  assert.ok(Math.abs(base.toArray()[0] - 0.6) < 1e-6 && Math.abs(base.toArray()[4] - 0.8) < 1e-6);
});

test('clipGradValue clamps every element into [-c, c]; NaN stays NaN; bad values throw', () => {
  const ps = withGrads([-3, 0.5, 2, Number.NaN], [Infinity]);
  clipGradValue(ps, 1);
  const g = flat(ps);
  assert.deepEqual(g.slice(0, 3), [-1, 0.5, 1]);
  assert.ok(Number.isNaN(g[3]));
  assert.equal(g[4], 1);
  assert.throws(() => clipGradValue(ps, -1), (e: unknown) => e instanceof ValueError && /clipValue/.test(e.message));
  assert.throws(() => clipGradNorm(ps, 1, { normType: Number.NaN }), (e: unknown) => e instanceof ValueError && /normType/.test(e.message));
});
