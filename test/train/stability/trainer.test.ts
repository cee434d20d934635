/**
 * The stability guard inside the real Trainer (issue 8 wired into issue 7's loop): a character LM
 * on the first 200 kB of Tiny Shakespeare, 200 steps. Faults are injected from outside the trainer:
 * an infinite loss from the task at one step, and a learning rate ×100 for 3 optimizer updates.
 * Checked: skip / rollback events and per-layer lines in metrics.jsonl, the step counter after a
 * rollback, finite parameters, final validation loss close to a clean run's, and the report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as T from '../../../src/tensor/index.js';
import { parseConfig } from '../../../src/train/config.js';
import { createTask } from '../../../src/tasks/index.js';
import { Trainer } from '../../../src/train/trainer.js';
import { setLogger, silentLogger } from '../../../src/logger.js';
import { writeReport } from '../../../src/report/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-stability-'));
const text = join(dir, 'input.txt');
writeFileSync(text, readFileSync(new URL('../../../../examples/data/tinyshakespeare/input.txt', import.meta.url), 'utf8').slice(0, 200_000));

async function run(name: string, fault: 'none' | 'inf' | 'boost', extra: Record<string, unknown> = {}) {
  const config = parseConfig({
    task: 'lm', outputDir: join(dir, name), seed: 1,
    data: { train: text, blockSize: 32, tokenizer: { type: 'char' } },
    model: { nLayer: 2, nHead: 4, nEmbd: 32 }, learningRate: 3e-3, warmupSteps: 20, lrSchedulerType: 'cosine',
    perDeviceTrainBatchSize: 8, perDeviceEvalBatchSize: 32, maxSteps: 200, loggingSteps: 10, evalSteps: 1000, saveSteps: 100,
    disableTqdm: true, generation: { maxNewTokens: 5 }, ...extra,
  });
  const task = await createTask(config);
  if (fault === 'inf') {
    const loss = task.loss.bind(task);
    let calls = 0;
    task.loss = (b) => {
      const o = loss(b);
      return ++calls === 101 ? { ...o, loss: T.mulScalar(o.loss, Infinity) } : o;
    };
  }
  const trainer = new Trainer({ config, task });
  if (fault === 'boost') {
    // The trainer sets each group's lr from the schedule before every update: scale it for 3 updates.
    const step = trainer.optimizer.step.bind(trainer.optimizer);
    let calls = 0;
    let left = 0;
    trainer.optimizer.step = () => {
      if (++calls === 121) left = 3;
      if (left > 0) {
        left--;
        for (const g of trainer.optimizer.paramGroups) g.lr *= 100;
      }
      return step();
    };
  }
  const prev = setLogger(silentLogger);
  let r;
  try {
    r = await trainer.train();
  } finally {
    setLogger(prev);
  }
  const lines = readFileSync(r.metricsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const finite = trainer.params.every(([, p]) => (p.data() as Float32Array).every(Number.isFinite));
  return { r, lines, finite, loss: r.finalMetrics!.loss };
}

test('Trainer + stability: skip on an infinite loss, rollback on an lr x100 fault, per-layer lines, report', async () => {
  const clean = await run('clean', 'none');
  assert.equal(clean.lines.filter((l) => l.event === 'skip' || l.event === 'rollback').length, 0);
  const layers = clean.lines.filter((l) => l.type === 'layers');
  assert.equal(layers.length, 20);
  const names = (layers[0].layers as { name: string }[]).map((l) => l.name);
  assert.deepEqual(names, ['wte', 'wpe', 'h.0', 'h.1', 'ln_f', 'total']);

  const inf = await run('inf', 'inf');
  const skips = inf.lines.filter((l) => l.event === 'skip');
  assert.equal(skips.length, 1);
  assert.equal(skips[0].step, 101);
  assert.ok(inf.finite);
  assert.equal(inf.r.step, 200);
  assert.ok(Math.abs(inf.loss - clean.loss) / clean.loss < 0.02, `inf ${inf.loss} vs clean ${clean.loss}`);

  const boost = await run('boost', 'boost');
  const rollbacks = boost.lines.filter((l) => l.event === 'rollback');
  assert.ok(rollbacks.length >= 1);
  assert.ok(rollbacks.every((e) => e.toStep === 99));
  // Train lines after the rollback start again from step 100 (logged at 110, …): steps 110 and 120
  // appear twice, the second time after the rollback event.
  const trainSteps = boost.lines.filter((l) => l.split === 'train').map((l) => l.step);
  assert.equal(trainSteps.filter((s) => s === 110).length, 2);
  assert.equal(boost.r.step, 200);
  assert.ok(boost.finite);
  assert.ok(Math.abs(boost.loss - clean.loss) / clean.loss < 0.05, `boost ${boost.loss} vs clean ${clean.loss}`);
  const html = readFileSync((await writeReport(join(dir, 'boost'))).html, 'utf8');
  assert.match(html, /rollback/);

  // The guard can be switched off: the same fault then runs through unguarded.
  const off = await run('off', 'boost', { stability: { spikeGuard: { enabled: false } } });
  assert.equal(off.lines.filter((l) => l.event === 'rollback').length, 0);
  assert.ok(off.loss > boost.loss, `unguarded ${off.loss} vs guarded ${boost.loss}`);
});

test('Trainer + stability: M consecutive non-finite steps end train() with TrainingDivergedError, last checkpoint intact', async () => {
  const config = parseConfig({
    task: 'lm', outputDir: join(dir, 'diverge'), seed: 1,
    data: { train: text, blockSize: 16, tokenizer: { type: 'char' } },
    model: { nLayer: 1, nHead: 2, nEmbd: 16 }, learningRate: 1e-3, perDeviceTrainBatchSize: 4, maxSteps: 60,
    saveSteps: 20, evalStrategy: 'no', disableTqdm: true, stability: { nanGuard: { maxConsecutiveSkips: 4 } },
  });
  const task = await createTask(config);
  const loss = task.loss.bind(task);
  let calls = 0;
  task.loss = (b) => {
    const o = loss(b);
    return ++calls > 30 ? { ...o, loss: T.mulScalar(o.loss, NaN) } : o;
  };
  const trainer = new Trainer({ config, task });
  const prev = setLogger(silentLogger);
  try {
    await assert.rejects(trainer.train(), (e: Error) => {
      assert.equal(e.name, 'TrainingDivergedError');
      assert.match(e.message, /^training diverged at step 34: 4 consecutive steps had a non-finite loss .*checkpoint-20, is intact/);
      return true;
    });
  } finally {
    setLogger(prev);
  }
  const { loadCheckpoint } = await import('../../../src/train/checkpoint.js');
  const ck = loadCheckpoint(join(dir, 'diverge', 'checkpoint-20'));
  for (const t of Object.values(ck.model)) assert.ok(Array.from(t.data as Float32Array).every(Number.isFinite));
});
