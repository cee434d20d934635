import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LmBlockSampler, blocksAt, lmEvalBatchCount, lmEvalBatches } from '../../src/data/lm.js';
import { loadTextDataset, readTextFile, splitText } from '../../src/data/text.js';
import { CharTokenizer } from '../../src/data/tokenizers/index.js';
import { FileFormatError, ValueError } from '../../src/errors.js';
import { DATA, FIXTURES } from './paths.js';

test('Tiny Shakespeare: last 10% as validation gives the README split (1,003,854 / 111,540 chars)', async () => {
  const ds = await loadTextDataset(`${DATA}tinyshakespeare/input.txt`, (train, val) => CharTokenizer.fromCorpus([train, val]), { valFraction: 0.1 });
  assert.equal(ds.train.length, 1003854);
  assert.equal(ds.val.length, 111540);
  assert.equal(ds.tokenizer.vocabSize, 65);
  assert.equal(ds.tokenizer.decode(ds.val.subarray(0, 50)), ds.valText.slice(0, 50));
});

test('splitText never cuts a surrogate pair; rejects bad fractions', () => {
  const s = 'ab😀cd'; // 6 UTF-16 units; floor(6·0.5)=3 falls inside the pair
  const { train, val } = splitText(s, 0.5);
  assert.equal(train + val, s);
  assert.equal(train, 'ab😀');
  assert.throws(() => splitText(s, 1), ValueError);
  assert.throws(() => splitText(s, -0.1), ValueError);
});

test('readTextFile: missing file and invalid UTF-8 are FileFormatErrors naming the path', async () => {
  await assert.rejects(readTextFile(`${FIXTURES}none.txt`), (e: Error) => e instanceof FileFormatError && /none\.txt: no such file$/.test(e.message));
  await assert.rejects(readTextFile(`${FIXTURES}bad-utf8.bin`), (e: Error) => e instanceof FileFormatError && /bad-utf8\.bin:\d+: not UTF-8 \(looks like /.test(e.message));
});

test('LmBlockSampler: rows are T+1 consecutive tokens, labels are inputs shifted by one', () => {
  const N = 1000;
  const stream = Int32Array.from({ length: N }, (_, i) => i); // token = its position
  const s = new LmBlockSampler(stream, { blockSize: 8, batchSize: 4, seed: 1 });
  for (let k = 0; k < 50; k++) {
    const b = s.next();
    for (let r = 0; r < 4; r++) {
      const start = b.starts[r];
      assert.ok(start >= 0 && start <= N - 9);
      for (let t = 0; t < 9; t++) assert.equal(b.tokens[r * 9 + t], start + t);
      for (let t = 0; t < 8; t++) {
        assert.equal(b.inputIds[r * 8 + t], start + t);
        assert.equal(b.labels[r * 8 + t], start + t + 1);
      }
    }
  }
  assert.throws(() => new LmBlockSampler(stream.subarray(0, 8), { blockSize: 8, batchSize: 1, seed: 0 }), ValueError);
});

test('LmBlockSampler: same seed → same batches; state() after k batches resumes exactly', () => {
  const stream = Int32Array.from({ length: 5000 }, (_, i) => (i * 7919) % 101);
  const a = new LmBlockSampler(stream, { blockSize: 16, batchSize: 3, seed: 9 });
  const b = new LmBlockSampler(stream, { blockSize: 16, batchSize: 3, seed: 9 });
  const straight = Array.from({ length: 10 }, () => a.next().starts);
  for (let k = 0; k < 4; k++) b.next();
  const saved = JSON.parse(JSON.stringify(b.state()));
  const c = new LmBlockSampler(stream, { blockSize: 16, batchSize: 3, seed: 123 });
  c.setState(saved);
  assert.equal(c.batches, 4);
  const resumed = Array.from({ length: 6 }, () => c.next().starts);
  assert.deepEqual(resumed, straight.slice(4));
  const other = new LmBlockSampler(stream, { blockSize: 16, batchSize: 3, seed: 10 });
  assert.notDeepEqual(other.next().starts, straight[0]);
});

test('LmBlockSampler: every start in [0, N−T−1] is reachable and roughly uniform', () => {
  const stream = new Int32Array(20); // T=4 → starts 0..15
  const s = new LmBlockSampler(stream, { blockSize: 4, batchSize: 16, seed: 3 });
  const counts = new Array(16).fill(0);
  for (let k = 0; k < 1000; k++) for (const st of s.next().starts) counts[st]++;
  const e = 16000 / 16;
  const chi2 = counts.reduce((acc, c) => acc + (c - e) ** 2 / e, 0);
  assert.ok(chi2 < 37.7, `chi2 ${chi2} above the 0.1% critical value for 15 dof`);
});

test('lmEvalBatches covers the stream with non-overlapping blocks in order', () => {
  const stream = Int32Array.from({ length: 103 }, (_, i) => i);
  const batches = [...lmEvalBatches(stream, { blockSize: 10, batchSize: 4 })];
  // floor((103 − 1) / 10) = 10 blocks → 3 batches of 4, 4, 2 rows.
  assert.deepEqual(batches.map((b) => b.batchSize), [4, 4, 2]);
  assert.equal(lmEvalBatchCount(103, 10, 4), 3);
  const starts = batches.flatMap((b) => [...b.starts]);
  assert.deepEqual(starts, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
  assert.equal(batches[2].labels[19], 100);
  assert.equal([...lmEvalBatches(stream, { blockSize: 10, batchSize: 4, maxBatches: 1 })].length, 1);
  assert.throws(() => blocksAt(stream, Int32Array.of(93), 10), ValueError);
});
