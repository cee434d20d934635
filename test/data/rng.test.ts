import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataRng, permutation } from '../../src/data/rng.js';
import { ValueError } from '../../src/errors.js';

test('xoshiro128** matches the C reference (prng.di.unimi.it) from a set state', () => {
  // Values printed by the reference C code compiled with gcc, states {1,2,3,4} and a second one.
  const r = new DataRng(0);
  r.setState([1, 2, 3, 4]);
  assert.deepEqual(Array.from({ length: 6 }, () => r.nextUint32()), [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  r.setState([0x12345678, 0x9abcdef0, 0xdeadbeef, 0x0badf00d]);
  assert.deepEqual(Array.from({ length: 6 }, () => r.nextUint32()), [2576881682, 1162350735, 808537200, 2062165408, 3804998253, 141604735]);
});

test('state()/setState() resume the sequence exactly; seeds and streams differ', () => {
  const a = new DataRng(42, 3);
  for (let i = 0; i < 10; i++) a.nextUint32();
  const saved = JSON.parse(JSON.stringify(a.state()));
  const expected = Array.from({ length: 20 }, () => a.nextUint32());
  const b = new DataRng(7);
  b.setState(saved);
  assert.deepEqual(Array.from({ length: 20 }, () => b.nextUint32()), expected);
  const first = (r: DataRng) => Array.from({ length: 4 }, () => r.nextUint32());
  assert.deepEqual(first(new DataRng(42, 3)), first(new DataRng(42, 3)));
  assert.notDeepEqual(first(new DataRng(42, 3)), first(new DataRng(42, 4)));
  assert.notDeepEqual(first(new DataRng(42)), first(new DataRng(43)));
  assert.notDeepEqual(first(new DataRng(2 ** 40)), first(new DataRng(0))); // high bits count
  assert.throws(() => b.setState([0, 0, 0, 0]), ValueError);
  assert.throws(() => b.setState([1, 2, 3]), ValueError);
  assert.throws(() => new DataRng(1.5), ValueError);
});

test('randint is in range and close to uniform (chi-square, 9 dof)', () => {
  const r = new DataRng(1);
  const k = 10;
  const n = 20000;
  const counts = new Array(k).fill(0);
  for (let i = 0; i < n; i++) {
    const v = r.randint(k);
    assert.ok(v >= 0 && v < k && Number.isInteger(v));
    counts[v]++;
  }
  const e = n / k;
  const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
  assert.ok(chi2 < 27.88, `chi2 = ${chi2} above the 0.1% critical value 27.88`);
  const u = Array.from({ length: 1000 }, () => r.random());
  assert.ok(u.every((x) => x >= 0 && x < 1));
  assert.throws(() => r.randint(0), ValueError);
});

test('permutation(n, seed, epoch) is a permutation, a function of (seed, epoch) only', () => {
  const p = permutation(1000, 5, 2);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(permutation(1000, 5, 2), p);
  assert.notDeepEqual(permutation(1000, 5, 3), p);
  assert.notDeepEqual(permutation(1000, 6, 2), p);
  assert.equal(permutation(0, 1, 0).length, 0);
});
