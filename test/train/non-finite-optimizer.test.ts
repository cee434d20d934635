/**
 * A checkpoint is never written with a non-finite optimizer state, as it is never written with
 * non-finite weights: an Adam second moment of +Inf (finite parameters, the update itself 0) would
 * be saved, and the resumed run's first update would be NaN. The save stops with one line naming
 * the step and the parameter whose state it is, and nothing of that step is on disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { TrainingDivergedError } from '../../src/train/stability/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-optstate-'));
const text = join(dir, 'text.txt');
writeFileSync(text, Array.from({ length: 100 }, (_, i) => `line ${i % 13}: the quick brown fox jumps over the lazy dog.\n`).join(''));

test('a step whose optimizer state holds +Inf is not saved: TrainingDivergedError naming the parameter (was the state entry, state.7.expAvgSq)', async () => {
  const out = join(dir, 'run');
  const config = parseConfig({
    task: 'lm', outputDir: out, seed: 3, data: { train: text, blockSize: 8, valFraction: 0.1 },
    model: { nLayer: 1, nHead: 2, nEmbd: 8 }, perDeviceTrainBatchSize: 2, maxSteps: 3, saveSteps: 2, evalSteps: 100, disableTqdm: true,
  });
  let trainer: Trainer | null = null;
  const poison = {
    onStepEnd: (_t: unknown, info: { step: number }) => {
      if (info.step !== 2) return;
      // After step 2's update, before its save: the state as an overflowing gradient would leave it.
      // State 7: Hugging Face's grouping puts the 6 matrices (wte, wpe, c_attn, attn.c_proj, c_fc,
      // mlp.c_proj weights) in the decay group first, then the no-decay group in the model's order:
      // h.0.ln_1.weight (6), h.0.ln_1.bias (7).
      const sd = trainer!.optimizer.stateDict();
      sd.state[7]!.buffers.expAvgSq![4] = Infinity;
      trainer!.optimizer.loadStateDict(sd);
    },
  };
  trainer = new Trainer({ config, task: await createTask(config), callbacks: [poison] });
  await assert.rejects(trainer.train(), (e: Error) => e instanceof TrainingDivergedError
    && e.message === 'checkpoint-2 not written: optimizer state expAvgSq[4] of h.0.ln_1.bias is Infinity');
  assert.equal(existsSync(join(out, 'checkpoint-2')), false, 'no checkpoint of the step');
  // Every parameter was finite: only the optimizer state was refused.
  for (const [name, p] of trainer.task.model.namedParameters()) assert.ok((p.data() as Float32Array).every(Number.isFinite), name);
});
