/**
 * A diverged run ends as a failure (issue 19): an update that makes a parameter non-finite stops
 * training at once (the NaN guard only sees the loss and gradients before the update), no checkpoint
 * is ever written with non-finite weights, and a run whose training loss ends far above its start
 * (AdamW at learning rate 10) exits 1 with one line, a `diverged` event in metrics.jsonl and a report.
 * Before: both runs exited 0, the first with an all-NaN checkpoint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig, type TrainConfigInput } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { TrainingDivergedError } from '../../src/train/stability/index.js';
import { trainformer } from '../cli/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-diverge-'));
const text = join(dir, 'text.txt');
writeFileSync(text, Array.from({ length: 200 }, (_, i) => `line ${i % 17}: all the world's a stage, and all the men and women merely players.\n`).join(''));

const base = (name: string, extra: Partial<TrainConfigInput>): TrainConfigInput => ({
  task: 'lm', outputDir: join(dir, name), seed: 3, data: { train: text, blockSize: 16 }, model: { nLayer: 1, nHead: 2, nEmbd: 16 },
  perDeviceTrainBatchSize: 4, loggingSteps: 5, evalSteps: 1000, maxEvalBatches: 1, disableTqdm: true, ...extra,
});

function events(run: string): { event: string; step: number; message: string }[] {
  return readFileSync(join(dir, run, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"event"')).map((l) => JSON.parse(l));
}

test('an update that makes the weights non-finite stops the run; no checkpoint holds them', async () => {
  // SGD at lr 1e39: the loss and gradients of step 1 are finite, the update overflows float32.
  const cfg = parseConfig(base('nan-update', { optim: 'sgd', learningRate: 1e39, maxGradNorm: 0, maxSteps: 3, saveSteps: 1 }));
  const task = await createTask(cfg);
  await assert.rejects(new Trainer({ config: cfg, task }).train(), (e: unknown) => {
    assert.ok(e instanceof TrainingDivergedError, String(e));
    assert.equal(e.step, 1);
    assert.match(e.message, /^training diverged at step 1: the optimizer update made [\w.]+\[\d+\] = (NaN|-?Infinity)/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
  assert.deepEqual(readdirSync(join(dir, 'nan-update')).filter((f) => f.startsWith('checkpoint-')), []);
  const ev = events('nan-update');
  assert.equal(ev.at(-1)?.event, 'diverged');
});

test('the CLI: a run whose loss ends far above its start exits 1 with one line, an event and a report', () => {
  const cfgPath = join(dir, 'lr10.json');
  writeFileSync(cfgPath, JSON.stringify(base('lr10', { learningRate: 10, maxSteps: 40, saveSteps: 15 })));
  const r = trainformer(['train', '--config', cfgPath]);
  assert.equal(r.code, 1, r.stderr);
  const last = r.errLines.at(-1)!;
  assert.match(last, /^error: training diverged: the training loss ended at [\d.e+]+ \(mean of the last 20 steps to step 40\), [\d.e+]+x its first step's [\d.]+ \(stability\.divergence\.lossFactor = 2\)/);
  assert.equal(r.errLines.filter((l) => l.startsWith('error:')).length, 1);
  assert.ok(!/\n\s+at /.test(r.stderr));
  const ev = events('lr10');
  assert.equal(ev.at(-1)?.event, 'diverged');
  assert.equal(ev.at(-1)?.step, 40);
  assert.ok(existsSync(join(dir, 'lr10', 'report.html')), 'report.html written');
  assert.ok(!existsSync(join(dir, 'lr10', 'checkpoint-40')), 'no final checkpoint of the diverged model');
  assert.ok(existsSync(join(dir, 'lr10', 'checkpoint-30')), 'the earlier checkpoint is left');
});

test('stability.divergence.lossFactor null turns the end-of-run check off', async () => {
  const cfg = parseConfig(base('lr10-off', { learningRate: 10, maxSteps: 20, saveSteps: 100, evalStrategy: 'no', stability: { divergence: { lossFactor: null } } }));
  const task = await createTask(cfg);
  const r = await new Trainer({ config: cfg, task }).train();
  assert.equal(r.step, 20);
});
