/**
 * Long loops yield to the event loop (DESIGN.md "Memory"; issue 19): timers, signals and the
 * FinalizationRegistry's cleanup run during training, not only after it. Before, `Trainer.train()`
 * ran every step synchronously, so a setImmediate queued before training ran only once it ended.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as T from '../../src/tensor/index.js';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-event-loop-'));
const text = join(dir, 'text.txt');
writeFileSync(text, 'the quick brown fox jumps over the lazy dog. '.repeat(40));

test('Trainer.train() lets the event loop turn between steps', async () => {
  const cfg = parseConfig({
    task: 'lm', outputDir: join(dir, 'run'), data: { train: text, blockSize: 8 }, model: { nLayer: 1, nHead: 2, nEmbd: 8 },
    perDeviceTrainBatchSize: 2, maxSteps: 6, evalStrategy: 'no', saveStrategy: 'no', disableTqdm: true,
  });
  const task = await createTask(cfg);
  let turns = 0;
  const seen: number[] = [];
  const tick = (): void => { turns++; if (turns < 1000) setImmediate(tick); };
  setImmediate(tick);
  const registered: number[] = [];
  await new Trainer({ config: cfg, task, callbacks: [{ onStepEnd: () => { seen.push(turns); registered.push((T.memoryStats() as { registered?: number }).registered ?? NaN); } }] }).train();
  assert.equal(seen.length, 6);
  // Each step after the first saw at least one more turn of the loop than the one before.
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `turns seen at each step end: ${seen.join(', ')}`);
  // What the GC registry tracks does not grow with the steps once the optimizer state exists.
  assert.ok(registered[5] <= registered[1], `registered storages per step: ${registered.join(', ')}`);
});
