/** A tiny classifier learns a separable problem from scratch; labels and tokenizer round-trip. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTask } from '../../src/tasks/index.js';
import type { ClassificationTask } from '../../src/tasks/classification.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { FileFormatError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-cls-'));
const words = ['apple', 'river', 'stone', 'cloud', 'green', 'table', 'music', 'light'];
function line(i: number): string {
  // Label "pos" iff the text contains "good"; filler words vary.
  const pos = i % 2 === 0;
  const filler = [words[i % 8], words[(i * 3) % 8], words[(i * 5 + 1) % 8]];
  filler.splice(i % 3, 0, pos ? 'good' : 'bad');
  return JSON.stringify({ text: filler.join(' '), label: pos ? 'pos' : 'neg' });
}
writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 96 }, (_, i) => line(i)).join('\n') + '\n');
writeFileSync(join(dir, 'valid.jsonl'), Array.from({ length: 32 }, (_, i) => line(i + 1000)).join('\n') + '\n');

test('classification: a small Encoder learns "good" vs "bad" to 100% validation accuracy', async () => {
  const config = parseConfig({
    task: 'classification', outputDir: join(dir, 'run'), seed: 3,
    data: { train: join(dir, 'train.jsonl'), validation: join(dir, 'valid.jsonl'), tokenizer: { type: 'word' }, maxLength: 8 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, pooling: 'mean' },
    learningRate: 1e-2, perDeviceTrainBatchSize: 16, numTrainEpochs: 6, loggingSteps: 6, evalSteps: 100, saveSteps: 100, disableTqdm: true,
    stability: { spikeGuard: { enabled: false } },
  });
  const task = (await createTask(config)) as ClassificationTask;
  assert.deepEqual(task.labelMap.labels, ['neg', 'pos']);
  assert.equal(task.batchesPerEpoch, 6);
  const before = task.evaluate();
  const r = await new Trainer({ config, task }).train();
  assert.equal(r.step, 36); // 6 epochs × 6 batches
  assert.equal(r.finalMetrics!.accuracy, 1);
  assert.equal(r.finalMetrics!.macroF1, 1);
  assert.ok(r.finalMetrics!.loss < before.loss / 4, `loss ${before.loss} → ${r.finalMetrics!.loss}`);
});

test('classification: a number label among string labels is an error naming file:line, not a new class', async () => {
  const lines = Array.from({ length: 10 }, (_, i) => line(i));
  lines[6] = JSON.stringify({ text: 'good apple', label: 5 });
  const path = join(dir, 'mixed.jsonl');
  writeFileSync(path, lines.join('\n') + '\n');
  const config = parseConfig({
    task: 'classification', outputDir: join(dir, 'mixed-run'),
    data: { train: path, validation: join(dir, 'valid.jsonl'), tokenizer: { type: 'word' }, maxLength: 8 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16 },
  });
  await assert.rejects(createTask(config), (e: Error) => e instanceof FileFormatError && e.message.includes(`${path}:7:`) && /label 5/.test(e.message));
});
