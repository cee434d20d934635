import { test } from 'node:test';
import assert from 'node:assert/strict';
import { augmentEnabled, augmentExamples, augmentRng, augmentTokens } from '../../src/data/augment.js';
import { DataRng } from '../../src/data/rng.js';
import { ValueError } from '../../src/errors.js';

const CLS = 2, SEP = 3, MASK = 4;
const ids = [CLS, ...Array.from({ length: 40 }, (_, i) => 10 + i), SEP];

test('off by default: a copy, and no random numbers drawn', () => {
  const rng = new DataRng(1);
  const before = rng.state();
  const out = augmentTokens(ids, rng);
  assert.deepEqual(out, ids);
  assert.notEqual(out, ids);
  assert.deepEqual(rng.state(), before);
  assert.equal(augmentEnabled({}), false);
  assert.equal(augmentEnabled({ maskProb: 0.1, maskId: MASK }), true);
});

test('deletion keeps order, never removes protected ids, removes about p of the rest', () => {
  const rng = new DataRng(2);
  let removed = 0;
  const trials = 200;
  for (let k = 0; k < trials; k++) {
    const out = augmentTokens(ids, rng, { deleteProb: 0.25, protectedIds: [CLS, SEP] });
    assert.equal(out[0], CLS);
    assert.equal(out[out.length - 1], SEP);
    for (let i = 1; i < out.length; i++) assert.ok(out[i] > out[i - 1] || out[i] === SEP); // a subsequence
    removed += ids.length - out.length;
  }
  const rate = removed / (trials * 40);
  // Binomial(8000, 0.25): sd of the rate ≈ 0.0048; 5 sd band.
  assert.ok(Math.abs(rate - 0.25) < 0.025, `deletion rate ${rate}`);
  const all = augmentTokens([CLS, 7, SEP], new DataRng(3), { deleteProb: 1, protectedIds: [CLS, SEP] });
  assert.deepEqual(all, [CLS, 7, SEP]); // at least one word stays
});

test('swaps permute the unprotected tokens only; masking replaces about p of them', () => {
  const rng = new DataRng(4);
  const sw = augmentTokens(ids, rng, { swapProb: 0.2, protectedIds: [CLS, SEP] });
  assert.deepEqual([...sw].sort((a, b) => a - b), [...ids].sort((a, b) => a - b));
  assert.equal(sw[0], CLS);
  assert.equal(sw[sw.length - 1], SEP);
  assert.notDeepEqual(sw, ids);
  let masked = 0;
  for (let k = 0; k < 200; k++) {
    const m = augmentTokens(ids, rng, { maskProb: 0.15, maskId: MASK, protectedIds: [CLS, SEP] });
    assert.equal(m.length, ids.length);
    m.forEach((t, i) => { if (t === MASK) masked++; else assert.equal(t, ids[i]); });
    assert.equal(m[0], CLS);
  }
  assert.ok(Math.abs(masked / 8000 - 0.15) < 0.02, `mask rate ${masked / 8000}`);
});

test('same rng state → same augmentation; bad options are ValueErrors', () => {
  const o = { deleteProb: 0.1, swapProb: 0.1, maskProb: 0.1, maskId: MASK, protectedIds: [CLS, SEP] };
  assert.deepEqual(augmentTokens(ids, new DataRng(5, 1), o), augmentTokens(ids, new DataRng(5, 1), o));
  assert.throws(() => augmentTokens(ids, new DataRng(1), { maskProb: 0.1 }), ValueError);
  assert.throws(() => augmentTokens(ids, new DataRng(1), { deleteProb: 1.5 }), ValueError);
});

test('augmentRng(seed, epoch, index) and augmentExamples: reproducible per batch, labels untouched', () => {
  const ex = [{ inputIds: ids, label: 1 }, { inputIds: ids.slice(0, 10), label: 0 }];
  const o = { deleteProb: 0.2, protectedIds: [CLS, SEP] };
  const a = augmentExamples(ex, augmentRng(1, 2, 3), o);
  assert.deepEqual(augmentExamples(ex, augmentRng(1, 2, 3), o), a);
  assert.notDeepEqual(augmentExamples(ex, augmentRng(1, 2, 4), o), a);
  assert.deepEqual(a.map((e) => e.label), [1, 0]);
  assert.deepEqual(augmentExamples(ex, augmentRng(1, 2, 3), {}), ex);
});
