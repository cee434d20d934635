/**
 * Classification of documents longer than maxLength (data.longDocuments): the label is carried by
 * one word near the end of each document, past the first window. Truncated to maxLength, the model
 * sees only label-independent filler and stays at chance; read in overlapping windows with pooled
 * logits it learns the task (training, evaluation and predict all see every window).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as T from '../../src/tensor/index.js';
import { createTask } from '../../src/tasks/index.js';
import type { ClassificationTask } from '../../src/tasks/classification.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-longdoc-'));
const filler = ['apple', 'river', 'stone', 'cloud', 'green', 'table', 'music', 'light', 'paper', 'glass'];

/** 18 random filler words with "good" (pos) or "bad" (neg) among the last four positions. */
function doc(g: T.Generator): { text: string; label: string } {
  const words = Array.from({ length: 18 }, () => filler[g.randint(0, filler.length)]);
  const pos = g.randint(0, 2) === 1;
  words.splice(14 + g.randint(0, 4), 0, pos ? 'good' : 'bad');
  return { text: words.join(' '), label: pos ? 'pos' : 'neg' };
}
const g = new T.Generator(5);
writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 96 }, () => JSON.stringify(doc(g))).join('\n') + '\n');
writeFileSync(join(dir, 'valid.jsonl'), Array.from({ length: 40 }, () => JSON.stringify(doc(g))).join('\n') + '\n');

function config(name: string, longDocuments?: { stride: number; pool?: 'mean' | 'max' }, epochs = 12) {
  return parseConfig({
    task: 'classification', outputDir: join(dir, name), seed: 3,
    data: { train: join(dir, 'train.jsonl'), validation: join(dir, 'valid.jsonl'), tokenizer: { type: 'word' }, maxLength: 8, longDocuments },
    model: { nLayer: 1, nHead: 2, nEmbd: 32, dropout: 0, pooling: 'cls' },
    learningRate: 1e-2, perDeviceTrainBatchSize: 16, numTrainEpochs: epochs, evalStrategy: 'no', saveStrategy: 'no', disableTqdm: true,
    stability: { spikeGuard: { enabled: false } },
  });
}

async function accuracy(name: string, longDocuments?: { stride: number; pool?: 'mean' | 'max' }, epochs = 12): Promise<{ acc: number; task: ClassificationTask }> {
  const cfg = config(name, longDocuments, epochs);
  const task = (await createTask(cfg)) as ClassificationTask;
  const r = await new Trainer({ config: cfg, task }).train();
  return { acc: r.finalMetrics!.accuracy, task };
}

test('label only in the last window: truncation stays near chance, windows with max or mean pooling learn it', async () => {
  const truncated = await accuracy('truncated');
  const max = await accuracy('max', { stride: 2, pool: 'max' });
  // The mean dilutes the one telling window among four: it takes longer to learn.
  const mean = await accuracy('mean', { stride: 2, pool: 'mean' }, 30);
  assert.ok(truncated.acc <= 0.75, `truncated accuracy ${truncated.acc}`);
  assert.ok(max.acc >= 0.95, `max-pooled accuracy ${max.acc}`);
  assert.ok(mean.acc >= 0.95, `mean-pooled accuracy ${mean.acc}`);
  // predict reads the windows too: the marker at the very end decides.
  const long = (w: string) => `${filler.join(' ')} apple stone ${w} river`;
  const { pred } = T.noGrad(() => max.task.predict(max.task.encodeTexts([long('good'), long('bad')])));
  assert.deepEqual([...pred].map((p) => max.task.labelMap.label(p)), ['pos', 'neg']);
});

test('a stride that leaves a window no new tokens is a ConfigError naming the field', async () => {
  await assert.rejects(createTask(config('bad', { stride: 6 })), (e: Error) => e instanceof ConfigError && /^data\.longDocuments\.stride: 6 must be below data\.maxLength - 2 = 6/.test(e.message));
});
