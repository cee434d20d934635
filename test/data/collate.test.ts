import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DataLoader, IGNORE_INDEX, collateClassification, collateSeq2Seq, padSequences, sequentialBatches,
} from '../../src/data/collate.js';
import { ValueError } from '../../src/errors.js';

test('padSequences pads to the longest, masks real tokens, truncates to maxLength', () => {
  const p = padSequences([[5, 6, 7], [8], [9, 10]], { padValue: 0 });
  assert.deepEqual(p.shape, [3, 3]);
  assert.deepEqual([...p.data], [5, 6, 7, 8, 0, 0, 9, 10, 0]);
  assert.deepEqual([...p.attentionMask], [1, 1, 1, 1, 0, 0, 1, 1, 0]);
  assert.deepEqual([...p.lengths], [3, 1, 2]);
  const t = padSequences([[1, 2, 3, 4], [5]], { padValue: -1, maxLength: 2 });
  assert.deepEqual(t.shape, [2, 2]);
  assert.deepEqual([...t.data], [1, 2, 5, -1]);
  const f = padSequences([[1], [2, 3]], { padValue: 0, padding: 'maxLength', maxLength: 4 });
  assert.deepEqual(f.shape, [2, 4]);
  assert.deepEqual([...f.attentionMask], [1, 0, 0, 0, 1, 1, 0, 0]);
  assert.throws(() => padSequences([], { padValue: 0 }), ValueError);
  assert.throws(() => padSequences([[1]], { padValue: 0, padding: 'maxLength' }), ValueError);
  assert.throws(() => padSequences([[1.5]], { padValue: 0 }), ValueError);
});

test('collateClassification: [B, L] ids and mask, [B] labels', () => {
  const b = collateClassification([{ inputIds: [2, 7, 3], label: 1 }, { inputIds: [2, 3], label: 0 }], { padId: 0 });
  assert.deepEqual(b.shape, [2, 3]);
  assert.deepEqual([...b.inputIds], [2, 7, 3, 2, 3, 0]);
  assert.deepEqual([...b.attentionMask], [1, 1, 1, 1, 1, 0]);
  assert.deepEqual([...b.labels], [1, 0]);
});

test('collateSeq2Seq: decoder input is BOS + target, labels are target + EOS, padded labels = -100', () => {
  const BOS = 2, EOS = 3, PAD = 0;
  const b = collateSeq2Seq([{ srcIds: [10, 11], tgtIds: [20, 21, 22] }, { srcIds: [12, 13, 14], tgtIds: [23] }], { padId: PAD, bosId: BOS, eosId: EOS });
  assert.equal(IGNORE_INDEX, -100);
  assert.deepEqual(b.srcShape, [2, 3]);
  assert.deepEqual([...b.inputIds], [10, 11, PAD, 12, 13, 14]);
  assert.deepEqual([...b.attentionMask], [1, 1, 0, 1, 1, 1]);
  assert.deepEqual(b.tgtShape, [2, 4]);
  assert.deepEqual([...b.decoderInputIds], [BOS, 20, 21, 22, BOS, 23, PAD, PAD]);
  assert.deepEqual([...b.decoderAttentionMask], [1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual([...b.labels], [20, 21, 22, EOS, 23, EOS, -100, -100]);
  const cut = collateSeq2Seq([{ srcIds: [1], tgtIds: [20, 21, 22, 23] }], { padId: PAD, bosId: BOS, eosId: EOS, maxTgtLength: 3 });
  assert.deepEqual([...cut.decoderInputIds], [BOS, 20, 21]);
  assert.deepEqual([...cut.labels], [20, 21, EOS]);
});

const items = Array.from({ length: 23 }, (_, i) => i);
const ident = (xs: number[]) => xs;

test('DataLoader: each epoch visits every example once; the order depends on (seed, epoch) only', () => {
  const dl = new DataLoader(items, ident, { batchSize: 5, seed: 7 });
  assert.equal(dl.batchesPerEpoch, 5);
  const epoch0 = [...dl.epochBatches()];
  assert.deepEqual(epoch0.map((b) => b.length), [5, 5, 5, 5, 3]);
  assert.deepEqual(epoch0.flat().sort((a, b) => a - b), items);
  assert.notDeepEqual(epoch0.flat(), items); // shuffled
  const epoch1 = [...dl.epochBatches()];
  assert.deepEqual(epoch1.flat().sort((a, b) => a - b), items);
  assert.notDeepEqual(epoch1.flat(), epoch0.flat());
  assert.deepEqual(dl.state(), { epoch: 2, index: 0 });
  const again = new DataLoader(items, ident, { batchSize: 5, seed: 7 });
  assert.deepEqual([...again.epochBatches()], epoch0);
  const noShuffle = new DataLoader(items, ident, { batchSize: 10, shuffle: false, dropLast: true });
  assert.deepEqual([...noShuffle.epochBatches()], [items.slice(0, 10), items.slice(10, 20)]);
});

test('DataLoader: stopping at (epoch, index) and resuming in a new loader gives the same batches', () => {
  const straight = new DataLoader(items, ident, { batchSize: 4, seed: 3 });
  const all = Array.from({ length: 20 }, () => straight.next());
  const first = new DataLoader(items, ident, { batchSize: 4, seed: 3 });
  for (let k = 0; k < 9; k++) first.next();
  const saved = JSON.parse(JSON.stringify(first.state()));
  assert.deepEqual(saved, { epoch: 1, index: 3 }); // 6 batches per epoch
  const resumed = new DataLoader(items, ident, { batchSize: 4, seed: 3 });
  resumed.setState(saved);
  assert.deepEqual(Array.from({ length: 11 }, () => resumed.next()), all.slice(9));
  assert.throws(() => resumed.setState({ epoch: 0, index: 6 }), ValueError);
  assert.throws(() => new DataLoader([], ident, { batchSize: 1 }), ValueError);
  assert.throws(() => new DataLoader([1, 2], ident, { batchSize: 3, dropLast: true }), ValueError);
});

test('sequentialBatches keeps file order', () => {
  assert.deepEqual([...sequentialBatches(items.slice(0, 7), 3, ident)], [[0, 1, 2], [3, 4, 5], [6]]);
});

test('DataLoader shards (numReplicas 3): the ranks\' batches interleave into one process\'s batch of 3 × b; positions mean the same', () => {
  const b = 2, N = 3;
  const one = new DataLoader(items, ident, { batchSize: N * b, seed: 5 });
  const ranks = Array.from({ length: N }, (_, r) => new DataLoader(items, ident, { batchSize: b, seed: 5, numReplicas: N, rank: r }));
  assert.equal(ranks[0].batchesPerEpoch, one.batchesPerEpoch);
  for (let k = 0; k < 2 * one.batchesPerEpoch + 1; k++) {
    const whole = one.next().batch;
    const parts = ranks.map((l) => l.next().batch);
    // position j of the global batch belongs to rank j mod N, in order
    assert.deepEqual(whole, whole.map((_, j) => parts[j % N][Math.floor(j / N)]));
    assert.equal(parts.reduce((n, p) => n + p.length, 0), whole.length);
    for (const l of ranks) assert.deepEqual(l.state(), one.state());
  }
  assert.throws(() => new DataLoader(items, ident, { batchSize: 2, numReplicas: 2, rank: 2 }), /rank must be an integer in \[0, numReplicas\)/);
  // 23 = 2 × 11 + 1: the last global batch of 2 ranks × 11 has one example, rank 1 none.
  assert.throws(() => new DataLoader(items, ident, { batchSize: 11, numReplicas: 2, rank: 0 }), /23 examples leave 1 for the last global batch of 2 ranks × 11, so rank 1 would get none/);
});
