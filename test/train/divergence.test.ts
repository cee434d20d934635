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

// The end-of-run verdict on hand-made step sequences (trial s9 F11: an fp16 run whose last 14 steps had
// a NaN loss was reported as "ended at 2100 (mean of the last 4 steps to step 20)").
import { DivergenceCallback } from '../../src/train/stability/divergence.js';

function feed(cb: DivergenceCallback, losses: (number | 'skip')[]): void {
  losses.forEach((l, i) => cb.onStepEnd(undefined as never, {
    step: i + 1, loss: l === 'skip' ? 1 : l, terms: {}, gradNorm: 1, lr: 1e-3, skipped: l === 'skip',
  }));
}

test('a run ending in NaN losses is named as such, with the last finite mean and its step', () => {
  const cb = new DivergenceCallback(3, 4);
  // Steps 1-6 finite (first 4; the last four 10, 20, 30, 40: mean 25, 6.25x), steps 7-20 NaN.
  feed(cb, [4, 5, 10, 20, 30, 40, ...Array<number>(14).fill(NaN)]);
  const v = cb.verdict(20);
  assert.equal(v, 'training diverged: the last 14 steps (to step 20) had a NaN or infinite loss; the last 4 finite losses, ' +
    "to step 6, average 25, 6.25x its first step's 4; lower learningRate or raise warmupSteps");
});

test('NaN losses at the end are divergence even when the last finite losses were fine', () => {
  const cb = new DivergenceCallback(3, 4);
  feed(cb, [4, 3.9, 3.8, 3.7, 3.6, NaN, 'skip', NaN, NaN, NaN]);
  // 5 steps without a usable loss, 4 of them NaN (>= window 4); finite mean (3.9+3.8+3.7+3.6)/4 = 3.75.
  assert.equal(cb.verdict(10), 'training diverged: the last 5 steps (to step 10) had no usable loss (4 NaN or infinite, the rest skipped); ' +
    "the last 4 finite losses, to step 5, average 3.75, 0.9375x its first step's 4; lower learningRate or raise warmupSteps");
  // Fewer NaN steps than the window at the end (fp16's GradScaler backing off): not divergence.
  const ok = new DivergenceCallback(3, 4);
  feed(ok, [4, 3.9, 3.8, NaN, 'skip', NaN]);
  assert.equal(ok.verdict(6), null);
  // Every step NaN: no first loss, still divergence.
  const all = new DivergenceCallback(3, 4);
  feed(all, [NaN, NaN, NaN, NaN, NaN]);
  assert.equal(all.verdict(5), 'training diverged: the training loss was NaN or infinite at every step (5 steps to step 5); lower learningRate or raise warmupSteps');
});

test('the trailing counts survive a checkpoint (state / loadState), and old states load with none', () => {
  const a = new DivergenceCallback(3, 4);
  feed(a, [4, 5, 10, 20, 30, 40, NaN, NaN]);
  const b = new DivergenceCallback(3, 4);
  b.loadState(JSON.parse(JSON.stringify(a.state())));
  for (const cb of [a, b]) feed(cb, []);
  [a, b].forEach((cb) => [9, 10].forEach((step) => cb.onStepEnd(undefined as never, { step, loss: NaN, terms: {}, gradNorm: 1, lr: 1e-3, skipped: true })));
  assert.equal(b.verdict(10), a.verdict(10));
  assert.match(a.verdict(10) ?? '', /the last 4 steps \(to step 10\) had a NaN or infinite loss; the last 4 finite losses, to step 6, average 25/);
  const old = new DivergenceCallback(3, 4);
  old.loadState({ firstLoss: 4, recent: [10, 20, 30, 40] });
  assert.match(old.verdict(6) ?? '', /^training diverged: the training loss ended at 25 \(mean of the last 4 steps to step 6\), 6.25x/);
});
