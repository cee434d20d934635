import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader, collateSeq2Seq, lengthGroupedPermutation, permutation } from '../../src/data/index.js';
import { ValueError } from '../../src/errors.js';
import { rng } from '../util/rng.js';

/** Padded slots of the batches (Σ batch size × longest) for an epoch order cut into batches. */
function paddedSlots(order: ArrayLike<number>, lengths: readonly number[], bs: number): number {
  let total = 0;
  for (let i = 0; i < order.length; i += bs) {
    let m = 0, n = 0;
    for (let j = i; j < Math.min(i + bs, order.length); j++, n++) m = Math.max(m, lengths[order[j]]);
    total += m * n;
  }
  return total;
}

const rand = rng(11);
const lengths = Array.from({ length: 1003 }, () => 1 + Math.floor(rand() * 40));

test('lengthGroupedPermutation: a permutation, a function of (seed, epoch), batches sorted inside megabatches', () => {
  const bs = 8; // megabatch = min(50, ⌊1003 / 32⌋ = 31) × 8 = 248 examples
  const p = lengthGroupedPermutation(lengths, bs, 5, 0);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1003 }, (_, i) => i));
  assert.deepEqual(lengthGroupedPermutation(lengths, bs, 5, 0), p);
  assert.notDeepEqual(lengthGroupedPermutation(lengths, bs, 5, 1), p);
  assert.notDeepEqual(lengthGroupedPermutation(lengths, bs, 6, 0), p);
  // Each megabatch holds the examples of the same stretch of the plain shuffled order.
  const plain = permutation(1003, 5, 0);
  for (let s = 0; s < 1003; s += 248) {
    const a = [...p.subarray(s, s + 248)].sort((x, y) => x - y), b = [...plain.subarray(s, s + 248)].sort((x, y) => x - y);
    assert.deepEqual(a, b, `megabatch at ${s}`);
  }
  // Inside a megabatch, any two batches do not overlap in length: one's shortest >= the other's longest.
  const batches: number[][] = [];
  for (let i = 0; i + bs <= 992; i += bs) batches.push([...p.subarray(i, i + bs)].map((k) => lengths[k]));
  for (let m = 0; m < 4; m++) {
    const group = batches.slice(m * 31, (m + 1) * 31);
    for (const x of group) for (const y of group) if (x !== y) assert.ok(Math.min(...x) >= Math.max(...y) || Math.min(...y) >= Math.max(...x));
  }
  // The last megabatch (1003 - 992 = 11 examples): one full batch, then the partial batch of 3 last.
  assert.equal(1003 % bs, 3);
  // Far less padding than the plain order.
  const grouped = paddedSlots(p, lengths, bs), random = paddedSlots(plain, lengths, bs);
  const real = lengths.reduce((a, b) => a + b, 0);
  assert.ok(grouped - real < 0.25 * (random - real), `padding ${grouped - real} vs ${random - real}`);
});

test('lengthGroupedPermutation: the batch order inside a megabatch is shuffled, not longest first', () => {
  const p = lengthGroupedPermutation(lengths, 8, 5, 0);
  const firstLongest = Math.max(...[...p.subarray(0, 8)].map((k) => lengths[k]));
  const megaLongest = Math.max(...[...p.subarray(0, 248)].map((k) => lengths[k]));
  // With 31 batches in a random order, the longest batch comes first with probability 1/31; this seed does not.
  assert.ok(firstLongest < megaLongest);
});

test('lengthGroupedPermutation: bad arguments are one ValueError naming them', () => {
  assert.throws(() => lengthGroupedPermutation([1, 2], 0, 1, 0), (e: Error) => e instanceof ValueError && /batchSize/.test(e.message));
  assert.throws(() => lengthGroupedPermutation([1, NaN], 1, 1, 0), (e: Error) => e instanceof ValueError && /lengths\[1\]/.test(e.message));
  assert.throws(() => lengthGroupedPermutation([1, 2], 1, 1, 0, 0), (e: Error) => e instanceof ValueError && /megabatchMult/.test(e.message));
});

test('DataLoader with lengths: every example once per epoch, resumable, shards cover the global batch', () => {
  const items = lengths.map((_, i) => i);
  const ident = (xs: number[]) => xs;
  const dl = new DataLoader(items, ident, { batchSize: 16, seed: 2, lengths });
  const epoch0 = [...dl.epochBatches()];
  assert.deepEqual(epoch0.flat(), [...lengthGroupedPermutation(lengths, 16, 2, 0)]);
  const resumed = new DataLoader(items, ident, { batchSize: 16, seed: 2, lengths });
  resumed.setState({ epoch: 0, index: 10 });
  assert.deepEqual([...resumed.epochBatches()], epoch0.slice(10));
  // Two ranks of 8: together the one-process batches of 16 (the order uses the global batch size).
  const r0 = new DataLoader(items, ident, { batchSize: 8, seed: 2, lengths, numReplicas: 2, rank: 0 });
  const r1 = new DataLoader(items, ident, { batchSize: 8, seed: 2, lengths, numReplicas: 2, rank: 1 });
  for (let i = 0; i < 5; i++) {
    assert.deepEqual([...r0.next().batch, ...r1.next().batch].sort((a, b) => a - b), [...epoch0[i]].sort((a, b) => a - b));
  }
  assert.throws(() => new DataLoader(items, ident, { batchSize: 4, lengths: [1, 2] }), (e: Error) => e instanceof ValueError && /lengths has 2 entries for 1003/.test(e.message));
});

test('collated seq2seq batches of a length-grouped loader carry little padding', () => {
  const pairs = lengths.map((l, i) => ({ srcIds: Array.from({ length: l }, (_, k) => 5 + ((i + k) % 7)), tgtIds: Array.from({ length: 1 + (l % 9) }, () => 5) }));
  const collate = (it: typeof pairs) => collateSeq2Seq(it, { padId: 0, bosId: 1, eosId: 2 });
  const slots = (dl: DataLoader<(typeof pairs)[number], ReturnType<typeof collate>>) => [...dl.epochBatches()].reduce((a, b) => a + b.srcShape[0] * b.srcShape[1], 0);
  const grouped = slots(new DataLoader(pairs, collate, { batchSize: 16, seed: 1, lengths: pairs.map((p) => p.srcIds.length) }));
  const plain = slots(new DataLoader(pairs, collate, { batchSize: 16, seed: 1 }));
  const real = lengths.reduce((a, b) => a + b, 0);
  assert.ok(grouped < real * 1.1 && plain > real * 1.5, `source slots grouped ${grouped}, plain ${plain}, real ${real}`);
});
