// The distributed sampler against the one-process DataLoader (existing code) and the LM block
// sampler against itself with one rank: N ranks' shards are disjoint and together are exactly the
// batch one process with batch N·b reads, epoch after epoch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataLoader, DistributedSampler, LmBlockSampler } from '../../src/data/index.js';
import { detectLaunch } from '../../src/distributed/index.js';
import { DistributedError, ValueError } from '../../src/errors.js';

const sorted = (a: Iterable<number>): number[] => [...a].sort((x, y) => x - y);

test('shards are disjoint and make up the one-process batch of N·b, every batch of two epochs', () => {
  for (const [n, N, b] of [[23, 2, 4], [23, 3, 2], [12, 1, 5], [40, 4, 3]]) {
    const one = new DataLoader(Array.from({ length: n }, (_, i) => i), (x) => x, { batchSize: N * b, seed: 9 });
    const ranks = Array.from({ length: N }, (_, r) => new DistributedSampler(n, { numReplicas: N, rank: r, batchSize: b, seed: 9 }));
    assert.equal(ranks[0].batchesPerEpoch, one.batchesPerEpoch);
    for (let e = 0; e < 2; e++) {
      for (let i = 0; i < one.batchesPerEpoch; i++) {
        const shards = ranks.map((s) => Array.from(s.indicesAt(e, i)));
        const all = shards.flat();
        assert.equal(new Set(all).size, all.length, 'disjoint');
        assert.deepEqual(sorted(all), sorted(one.indicesAt(e, i)), `N=${N} b=${b} epoch ${e} batch ${i}`);
        for (const s of shards) assert.ok(s.length <= b);
      }
    }
  }
});

test('reshuffled per epoch from the seed; the last short batch is split without repeats', () => {
  const s = new DistributedSampler(10, { numReplicas: 3, rank: 0, batchSize: 2, seed: 1 });
  assert.notDeepEqual(Array.from(s.globalIndicesAt(0, 0)), Array.from(s.globalIndicesAt(1, 0)));
  assert.deepEqual(Array.from(s.globalIndicesAt(1, 1)), Array.from(new DistributedSampler(10, { numReplicas: 3, rank: 2, batchSize: 2, seed: 1 }).globalIndicesAt(1, 1)));
  // 10 examples, global batch 6: the second has 4 → ranks get 2, 1, 1.
  const sizes = [0, 1, 2].map((r) => new DistributedSampler(10, { numReplicas: 3, rank: r, batchSize: 2, seed: 1 }).indicesAt(0, 1).length);
  assert.deepEqual(sizes, [2, 1, 1]);
  // 7 examples: the second global batch has 1 → rank 0 only.
  assert.deepEqual([0, 1, 2].map((r) => new DistributedSampler(7, { numReplicas: 3, rank: r, batchSize: 2 }).indicesAt(0, 1).length), [1, 0, 0]);
  assert.equal(new DistributedSampler(7, { numReplicas: 3, batchSize: 2, dropLast: true }).batchesPerEpoch, 1);
});

test('a position converts between global batch sizes when the examples read divide evenly', () => {
  const s = new DistributedSampler(100, { numReplicas: 2, batchSize: 2 }); // global 4
  assert.equal(s.positionFor(3, 8), 6);
  assert.equal(s.positionFor(5, 4), 5);
  assert.throws(() => s.positionFor(3, 6), /18 examples into the epoch.*global batch 6.*global batches of 4/);
  assert.throws(() => new DistributedSampler(10, { numReplicas: 2, rank: 2, batchSize: 1 }), ValueError);
});

test('LmBlockSampler: N ranks take rows r, r+N, … of the one-process batch; the state does not depend on N', () => {
  const tokens = Int32Array.from({ length: 500 }, (_, i) => i);
  const one = new LmBlockSampler(tokens, { blockSize: 8, batchSize: 6, seed: 4 });
  const ranks = [0, 1, 2].map((r) => new LmBlockSampler(tokens, { blockSize: 8, batchSize: 2, seed: 4, numReplicas: 3, rank: r }));
  for (let k = 0; k < 5; k++) {
    const full = Array.from(one.next().starts);
    const parts = ranks.map((s) => Array.from(s.next().starts));
    parts.forEach((p, r) => assert.deepEqual(p, full.filter((_, i) => i % 3 === r)));
  }
  assert.deepEqual(ranks[1].state(), one.state());
});

test('detectLaunch reads mpirun\'s environment and names a bad variable', () => {
  assert.equal(detectLaunch({}), null);
  assert.deepEqual(detectLaunch({ OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_RANK: '1', OMPI_COMM_WORLD_LOCAL_SIZE: '2' }),
    { rank: 1, size: 4, localRank: 1, localSize: 2 });
  assert.throws(() => detectLaunch({ OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: 'x', OMPI_COMM_WORLD_LOCAL_RANK: '0' }),
    (e: Error) => e instanceof DistributedError && /OMPI_COMM_WORLD_RANK must be a non-negative integer, got 'x'/.test(e.message));
  assert.throws(() => detectLaunch({ OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '2', OMPI_COMM_WORLD_LOCAL_RANK: '0' }), /not below OMPI_COMM_WORLD_SIZE 2/);
});
