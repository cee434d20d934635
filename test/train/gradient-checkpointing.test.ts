/**
 * `gradientCheckpointing: true` in a training config (Hugging Face's gradient_checkpointing): the
 * Trainer switches the model's blocks to recomputation, the run ends with the same parameters, bit
 * for bit, as without (dropout on), and live buffers stay flat from step to step.
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

const dir = mkdtempSync(join(tmpdir(), 'tf-ckpt-'));
const text = join(dir, 'text.txt');
writeFileSync(text, Array.from({ length: 120 }, (_, i) => `row ${i % 11} says hello to row ${(i * 7) % 13}.\n`).join(''));

async function train(name: string, extra: Record<string, unknown>): Promise<{ params: Float32Array[]; live: number[]; checkpointing: boolean }> {
  const cfg = parseConfig({
    task: 'lm', outputDir: join(dir, name), seed: 3,
    data: { train: text, blockSize: 16 },
    model: { nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0.1 },
    learningRate: 1e-2, perDeviceTrainBatchSize: 4, maxSteps: 6, evalStrategy: 'no', saveStrategy: 'no',
    disableTqdm: true, stability: { spikeGuard: { enabled: false } },
    ...extra,
  });
  const task = await createTask(cfg);
  const live: number[] = [];
  await new Trainer({ config: cfg, task, callbacks: [{ onStepEnd: () => { live.push(T.memoryStats().liveBuffers); } }] }).train();
  const model = task.model as unknown as { isGradientCheckpointing: boolean };
  return { params: [...task.model.namedParameters()].map(([, p]) => Float32Array.from(p.data())), live, checkpointing: model.isGradientCheckpointing };
}

test('gradientCheckpointing: same parameters bit for bit after 6 steps with dropout, flat memory', async () => {
  const plain = await train('plain', {});
  const ck = await train('ck', { gradientCheckpointing: true });
  const snake = await train('snake', { gradient_checkpointing: true });
  assert.equal(plain.checkpointing, false);
  assert.equal(ck.checkpointing, true);
  assert.equal(snake.checkpointing, true);
  for (let i = 0; i < plain.params.length; i++) {
    assert.deepEqual(ck.params[i], plain.params[i], `parameter ${i}`);
    assert.deepEqual(snake.params[i], plain.params[i], `parameter ${i} (snake_case field)`);
  }
  for (let i = 2; i < ck.live.length; i++) assert.equal(ck.live[i], ck.live[1], `live buffers per step: ${ck.live.join(', ')}`);
});
