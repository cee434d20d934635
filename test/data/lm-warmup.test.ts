/**
 * data.blockSizeWarmup (sequence-length warmup): the stage schedule by hand, the sampler's batches
 * under it (contiguous rows, constant tokens, exact resume, data-parallel rows), the config checks,
 * and the Trainer feeding the task batches of the scheduled shapes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmBlockSampler, type LmBatch } from '../../src/data/lm.js';
import { warmupShape } from '../../src/data/lm-warmup.js';
import { ConfigError, ValueError } from '../../src/errors.js';
import { createTask } from '../../src/tasks/index.js';
import { taskFromCheckpoint } from '../../src/cli/checkpoint-task.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';

test('warmupShape: log2(blockSize/start) equal stages at start, 2·start, …, then blockSize; tokens per batch constant', () => {
  const w = { start: 16, batches: 6 };
  // blockSize 128, batch 2: stages 16, 32, 64 (two batches each), then 128.
  const got = Array.from({ length: 8 }, (_, k) => warmupShape(k, 128, 2, w));
  assert.deepEqual(got.map((s) => [s.blockSize, s.batchSize]), [[16, 16], [16, 16], [32, 8], [32, 8], [64, 4], [64, 4], [128, 2], [128, 2]]);
  // Stages of unequal rounding: 2 stages over 5 batches → floor(k·2/5) = 0, 0, 0, 1, 1.
  assert.deepEqual(Array.from({ length: 6 }, (_, k) => warmupShape(k, 64, 1, { start: 16, batches: 5 }).blockSize), [16, 16, 16, 32, 32, 64]);
  assert.deepEqual(warmupShape(0, 64, 3), { blockSize: 64, batchSize: 3 });
});

test('LmBlockSampler with warmup: rows are consecutive tokens of the scheduled length; same tokens per batch; resume exact', () => {
  const N = 3000;
  const stream = Int32Array.from({ length: N }, (_, i) => i); // token = its position
  const opts = { blockSize: 32, batchSize: 2, seed: 5, warmup: { start: 8, batches: 4 } };
  const a = new LmBlockSampler(stream, opts);
  const batches: LmBatch[] = Array.from({ length: 7 }, () => a.next());
  assert.deepEqual(batches.map((b) => [b.blockSize, b.batchSize]), [[8, 8], [8, 8], [16, 4], [16, 4], [32, 2], [32, 2], [32, 2]]);
  for (const b of batches) {
    assert.equal(b.inputIds.length, 64);
    for (let r = 0; r < b.batchSize; r++) {
      const s = b.starts[r];
      assert.ok(s >= 0 && s <= N - b.blockSize - 1);
      for (let t = 0; t < b.blockSize; t++) {
        assert.equal(b.inputIds[r * b.blockSize + t], s + t);
        assert.equal(b.labels[r * b.blockSize + t], s + t + 1);
      }
    }
  }
  const b = new LmBlockSampler(stream, opts);
  for (let k = 0; k < 3; k++) b.next();
  const c = new LmBlockSampler(stream, opts);
  c.setState(JSON.parse(JSON.stringify(b.state())));
  const resumed = Array.from({ length: 4 }, () => c.next());
  assert.deepEqual(resumed.map((x) => [x.blockSize, [...x.starts]]), batches.slice(3).map((x) => [x.blockSize, [...x.starts]]));
});

test('LmBlockSampler with warmup, 2 ranks: their rows together are the one-process batch of each stage', () => {
  const stream = Int32Array.from({ length: 2000 }, (_, i) => i);
  const opts = { blockSize: 16, batchSize: 2, seed: 11, warmup: { start: 4, batches: 2 } };
  const whole = new LmBlockSampler(stream, { ...opts, batchSize: 4 });
  const ranks = [0, 1].map((rank) => new LmBlockSampler(stream, { ...opts, numReplicas: 2, rank }));
  for (let k = 0; k < 4; k++) {
    const w = whole.next();
    const [r0, r1] = ranks.map((s) => s.next());
    assert.equal(r0.blockSize, w.blockSize);
    assert.equal(r0.batchSize * 2, w.batchSize);
    const interleaved = Array.from({ length: w.batchSize }, (_, i) => (i % 2 ? r1 : r0).starts[i >> 1]);
    assert.deepEqual(interleaved, [...w.starts]);
  }
});

test('warmup that does not fit: ValueError from the sampler, ConfigError naming data.blockSizeWarmup from the config', async () => {
  const stream = new Int32Array(100);
  assert.throws(() => new LmBlockSampler(stream, { blockSize: 24, batchSize: 1, seed: 0, warmup: { start: 16, batches: 3 } }), ValueError);
  assert.throws(() => new LmBlockSampler(stream, { blockSize: 16, batchSize: 1, seed: 0, warmup: { start: 16, batches: 3 } }), ValueError);
  const base = { task: 'lm', outputDir: join(tmpdir(), 'tf-warmup-unused'), data: { train: 'x.txt', blockSize: 48 } };
  assert.throws(() => parseConfig({ ...base, data: { ...base.data, blockSizeWarmup: { start: 16, batches: 10 } } }),
    (e: Error) => e instanceof ConfigError && e.message.startsWith('data.blockSizeWarmup.start: must be data.blockSize (48) divided by a power of two'));
  assert.throws(() => parseConfig({ ...base, data: { ...base.data, blockSizeWarmup: { start: 12, batches: 0 } } }),
    (e: Error) => e instanceof ConfigError && e.message.includes('blockSizeWarmup'));
  assert.throws(() => parseConfig({ ...base, task: 'classification', data: { ...base.data, blockSizeWarmup: { start: 12, batches: 10 } } }),
    (e: Error) => e instanceof ConfigError && e.message.startsWith('data.blockSizeWarmup: sequence-length warmup applies to task lm'));
  parseConfig({ ...base, data: { ...base.data, blockSizeWarmup: { start: 12, batches: 10 } } }); // 48 / 12 = 4
});

test('Trainer with data.blockSizeWarmup: the task is given batches of the scheduled shapes, then blockSize', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-warmup-'));
  const text = join(dir, 'text.txt');
  writeFileSync(text, Array.from({ length: 100 }, (_, i) => `line ${i % 13}: the quick brown fox jumps over the lazy dog.\n`).join(''));
  const cfg = parseConfig({
    task: 'lm', outputDir: join(dir, 'run'), seed: 3,
    data: { train: text, blockSize: 8, valFraction: 0.1, blockSizeWarmup: { start: 2, batches: 4 } },
    model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, positionEmbedding: 'rope' },
    learningRate: 1e-3, perDeviceTrainBatchSize: 4, perDeviceEvalBatchSize: 8, maxSteps: 6, loggingSteps: 1,
    evalStrategy: 'no', saveSteps: 100, disableTqdm: true,
  });
  const task = await createTask(cfg);
  const shapes: [number, number][] = [];
  const loss = task.loss.bind(task);
  task.loss = ((batch: LmBatch, o) => { shapes.push([batch.blockSize, batch.batchSize]); return loss(batch, o); }) as typeof task.loss;
  const out = await new Trainer({ config: cfg, task }).train();
  assert.equal(out.step, 6);
  assert.deepEqual(shapes, [[2, 16], [2, 16], [4, 8], [4, 8], [8, 4], [8, 4]]);
  assert.ok(Number.isFinite(out.finalMetrics!.loss as number));
  // eval at another block size (trainformer eval <run> --data.blockSize 2): the warmup, a training schedule, is dropped.
  const { task: atTwo, config: evalCfg } = await taskFromCheckpoint(join(dir, 'run'), [['data.blockSize', 2]], {});
  assert.equal(evalCfg.data.blockSizeWarmup, undefined);
  assert.equal(atTwo.evaluate().evalTokens, 2 * Math.floor(((atTwo as unknown as { val: Int32Array }).val.length - 1) / 2));
});
