/**
 * Trainer loop properties: memory stays flat across steps (every step runs in a scope), gradient
 * accumulation feeds the optimizer the mean gradient of its micro-batches, early stopping stops,
 * saveTotalLimit prunes, and the metrics lines have the fields the report reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as T from '../../src/tensor/index.js';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig, type TrainConfigInput } from '../../src/train/config.js';
import { EarlyStopping, type TrainerControl } from '../../src/train/callbacks.js';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import { Trainer } from '../../src/train/trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-trainer-'));
const text = join(dir, 'text.txt');
writeFileSync(text, Array.from({ length: 120 }, (_, i) => `row ${i % 11} says hello to row ${(i * 7) % 13}.\n`).join(''));

function config(name: string, extra: Partial<TrainConfigInput> = {}) {
  return parseConfig({
    task: 'lm', outputDir: join(dir, name), seed: 11,
    data: { train: text, blockSize: 8 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16 },
    learningRate: 1e-2, perDeviceTrainBatchSize: 4, maxSteps: 12, loggingSteps: 3, evalSteps: 6, maxEvalBatches: 1,
    saveSteps: 100, disableTqdm: true, stability: { spikeGuard: { enabled: false } },
    ...extra,
  });
}

test('live buffers and bytes stay flat across training steps', async () => {
  const cfg = config('memory');
  const task = await createTask(cfg);
  const stats: { liveBuffers: number; liveBytes: number }[] = [];
  const trainer = new Trainer({ config: cfg, task, callbacks: [{ onStepEnd: () => { stats.push(T.memoryStats()); } }] });
  await trainer.train();
  assert.equal(stats.length, 12);
  // After the optimizer state exists (step 1), nothing accumulates from step to step.
  for (let i = 2; i < stats.length; i++) {
    assert.equal(stats[i].liveBuffers, stats[1].liveBuffers, `step ${i + 1}: ${stats[i].liveBuffers} live buffers, step 2 had ${stats[1].liveBuffers}`);
    assert.equal(stats[i].liveBytes, stats[1].liveBytes);
  }
});

test('gradient accumulation: the optimizer sees the mean of the micro-batch gradients', async () => {
  // One step with 2 micro-batches of 4 against the gradients of the same two batches computed by hand.
  const cfg = config('accum', { gradientAccumulationSteps: 2, maxSteps: 1, optim: 'sgd', learningRate: 1, maxGradNorm: 0, lrSchedulerType: 'constant' });
  const task = await createTask(cfg);
  const ref = await createTask(cfg);
  const params = [...ref.model.namedParameters()];
  const grads = params.map(([, p]) => new Float64Array(p.numel()));
  for (let k = 0; k < 2; k++) {
    T.scope(() => {
      T.backward(ref.loss(ref.nextBatch()).loss);
      params.forEach(([, p], i) => { const g = p.grad!.data(); for (let j = 0; j < g.length; j++) grads[i][j] += g[j] / 2; p.clearGrad(); });
    });
  }
  const before = params.map(([, p]) => Float64Array.from(p.data()));
  await new Trainer({ config: cfg, task }).train();
  // SGD with lr 1: p_new = p_old - mean gradient.
  const after = [...task.model.namedParameters()];
  after.forEach(([n, p], i) => {
    const d = p.data();
    for (let j = 0; j < d.length; j++) {
      const want = before[i][j] - grads[i][j];
      assert.ok(Math.abs(d[j] - want) <= 1e-6 * (1 + Math.abs(want)), `${n}[${j}]: ${d[j]} vs ${want}`);
    }
  });
});

test('early stopping: stops after `patience` evaluations without improvement', () => {
  const events: string[] = [];
  let stop: string | null = null;
  const ctl = { logEvent: (k: string) => events.push(k), requestStop: (r: string) => { stop = r; } } as unknown as TrainerControl;
  const es = new EarlyStopping('accuracy', 2, true, 0);
  for (const a of [0.5, 0.7, 0.7, 0.69]) es.onEvaluate(ctl, { loss: 0, accuracy: a });
  assert.ok(stop !== null && /accuracy has not improved on 0.7 for 2 evaluations/.test(stop));
  assert.deepEqual(events, ['early_stop']);
  const lower = new EarlyStopping('loss', 1, false, 0.1);
  stop = null;
  lower.onEvaluate(ctl, { loss: 1 });
  lower.onEvaluate(ctl, { loss: 0.95 }); // improvement smaller than the threshold counts as none
  assert.notEqual(stop, null);
});

test('a run with early stopping in the config ends early and says why; saveTotalLimit keeps two checkpoints', async () => {
  // learningRate ~0 → the validation loss never improves by more than the threshold (it moves by ~1e-12:
  // zero biases take 1e-12 steps, which a float64 loss path can see) → stop after 2 evaluations past the first.
  const cfg = config('early', { learningRate: 1e-12, maxSteps: 60, evalSteps: 3, earlyStoppingPatience: 2, earlyStoppingThreshold: 1e-6, saveSteps: 3, saveTotalLimit: 2 });
  const task = await createTask(cfg);
  const r = await new Trainer({ config: cfg, task }).train();
  assert.ok(r.stoppedEarly !== null);
  assert.equal(r.step, 9);
  assert.deepEqual(listCheckpoints(cfg.outputDir).map((c) => c.step), [6, 9]);
  const lines = readFileSync(join(cfg.outputDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.event === 'early_stop'));
  const train = lines.filter((l) => l.split === 'train');
  for (const f of ['step', 'epoch', 'loss', 'terms', 'lr', 'gradNorm', 'tokensPerSecond', 'lossScale', 'time', 'elapsed']) {
    assert.ok(f in train[0], `train line lacks ${f}`);
  }
  const evals = lines.filter((l) => l.split === 'eval');
  assert.ok(evals.every((l) => typeof l.loss === 'number' && typeof l.perplexity === 'number'));
  assert.equal(evals[evals.length - 1].final, true);
});
