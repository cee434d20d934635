/**
 * The Trainer owns a real GradScaler (issue 11): the scale multiplying the loss before backward is
 * the one logged as `lossScale` and saved in trainer_state.json. Scaling off logs 1. Scaling on with
 * a power-of-two scale and no overflow changes no bit of the training (S·g and g·S⁻¹ are exact in
 * float32), while the logged scale follows the dynamic rule: ×growthFactor after growthInterval clean
 * steps; an overflow skips the update and multiplies the scale by backoffFactor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setLogger, silentLogger } from '../../src/logger.js';
import { GradScaler } from '../../src/optim/grad-scaler.js';
import * as T from '../../src/tensor/index.js';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-scaler-'));
const text = join(dir, 'text.txt');
writeFileSync(text, Array.from({ length: 120 }, (_, i) => `row ${i % 11}: a stitch in time saves ${i % 4} more.\n`).join(''));
setLogger(silentLogger);

async function run(name: string, steps: number, scaler?: GradScaler, fault: { firstLossInfinite?: boolean } = {}) {
  const config = parseConfig({
    task: 'lm', outputDir: join(dir, name), seed: 11, data: { train: text, blockSize: 8 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16 }, learningRate: 1e-2, lrSchedulerType: 'constant', weightDecay: 0.1,
    perDeviceTrainBatchSize: 4, gradientAccumulationSteps: 2, maxSteps: steps, loggingSteps: 1, evalStrategy: 'no', saveSteps: 1000, // one checkpoint: the last step's
    disableTqdm: true,
  });
  const task = await createTask(config);
  if (fault.firstLossInfinite) {
    const loss = task.loss.bind(task);
    let calls = 0;
    task.loss = (b) => {
      const o = loss(b);
      return ++calls === 1 ? { ...o, loss: T.mulScalar(o.loss, Infinity) } : o;
    };
  }
  const r = await new Trainer({ config, task, gradScaler: scaler }).train();
  const lines = readFileSync(r.metricsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const state = JSON.parse(readFileSync(join(r.checkpoint!, 'trainer_state.json'), 'utf8'));
  const weights = readFileSync(join(r.checkpoint!, 'model.safetensors')).toString('base64');
  return { train: lines.filter((l) => l.split === 'train'), events: lines.filter((l) => l.event), state, weights };
}

test('scaling off logs lossScale 1; a dynamic scale is logged and saved as it grows, without changing a bit', async () => {
  const off = await run('off', 6);
  assert.deepEqual(off.train.map((l) => l.lossScale), [1, 1, 1, 1, 1, 1]);
  assert.equal(off.state.lossScale, 1);

  const on = await run('on', 6, new GradScaler({ initScale: 1024, growthInterval: 2 }));
  // The scale each step's gradients were computed with: doubles after every 2 clean steps.
  assert.deepEqual(on.train.map((l) => l.lossScale), [1024, 1024, 2048, 2048, 4096, 4096]);
  assert.equal(on.state.lossScale, 8192);
  assert.deepEqual(on.state.gradScaler, { scale: 8192, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2, growthTracker: 0, capScaleGrowthAtFp32Max: false });
  assert.equal(on.events.length, 0);
  assert.equal(on.weights, off.weights, 'power-of-two loss scaling changed the trained weights');
  assert.deepEqual(on.train.map((l) => l.loss), off.train.map((l) => l.loss));
});

test('an overflow skips the update and halves the scale; the weights are those of an unscaled run that skips the same step', async () => {
  // Fault: the first micro-batch's loss is infinite, so its gradients are (any scale: +inf·g).
  const fault = { firstLossInfinite: true };
  const on = await run('overflow', 6, new GradScaler({ initScale: 2 ** 20, growthInterval: 1000 }), fault);
  assert.deepEqual(on.train.map((l) => l.lossScale), [2 ** 20, 2 ** 19, 2 ** 19, 2 ** 19, 2 ** 19, 2 ** 19]);
  assert.deepEqual(on.train.map((l) => l.skipped === true), [true, false, false, false, false, false]);
  const skips = on.events.filter((e) => e.event === 'skip');
  assert.equal(skips.length, 1);
  assert.match(skips[0].message, /^gradient overflow \(inf\/NaN\) at loss scale 1048576: optimizer step skipped, scale now 524288$/);
  assert.equal(on.state.lossScale, 2 ** 19);
  // Without scaling the NaN guard skips the same step; everything after is bit for bit the same.
  const off = await run('overflow-off', 6, undefined, fault);
  assert.equal(off.events.filter((e) => e.event === 'skip').length, 1);
  assert.equal(on.weights, off.weights);
});
