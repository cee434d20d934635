/** Back-translation through two (tiny) seq2seq runs: the cache is written, reused, and refreshed for other models. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backTranslate } from '../../src/cli/back-translate.js';
import { readParaphraseCache } from '../../src/data/paraphrase-cache.js';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-bt-'));

async function train(name: string, fields: Record<string, string>, task = 'seq2seq'): Promise<string> {
  const outputDir = join(dir, name);
  const config = parseConfig({
    task, outputDir, seed: 1, model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }, perDeviceTrainBatchSize: 8, maxSteps: 2,
    loggingSteps: 1, evalStrategy: 'no', saveStrategy: 'no', disableTqdm: true, generation: { maxNewTokens: 6 },
    data: { train: 'examples/data/eng_fra/train.jsonl', validation: 'examples/data/eng_fra/valid.jsonl', tokenizer: { type: 'word' }, limit: 16, maxLength: 12, maxTargetLength: 8, ...fields },
  });
  await new Trainer({ config, task: await createTask(config) }).train();
  return outputDir;
}

test('back-translate: paraphrases through two runs, cached atomically, reused, recomputed for other runs', async () => {
  const fwd = await train('eng-fra', {});
  const bwd = await train('fra-eng', { srcField: 'tgt', tgtField: 'src' });
  const cache = join(dir, 'bt.jsonl');
  const texts = ['I am cold.', 'Let me pay for your coffee.', 'I am cold.', 'He runs.'];
  const a = await backTranslate(texts, { forward: fwd, backward: bwd, cache, chunkSize: 2 });
  assert.equal(a.translated, 3);
  assert.equal(a.reused, 0);
  assert.deepEqual(a.entries.map((e) => e.text), ['I am cold.', 'Let me pay for your coffee.', 'He runs.']);
  const lines = await readParaphraseCache(cache);
  assert.deepEqual(lines, a.entries);
  for (const e of a.entries) assert.equal(typeof e.pivot, 'string');
  // The same runs again: nothing translated, the same paraphrases.
  const b = await backTranslate([...texts, 'New text.'], { forward: fwd, backward: bwd, cache });
  assert.equal(b.reused, 3);
  assert.equal(b.translated, 1);
  assert.deepEqual(b.entries.slice(0, 3), a.entries);
  // Entries made by other models are not trusted: recomputed.
  writeFileSync(cache, readFileSync(cache, 'utf8').replaceAll(a.entries[0].models, 'other-models'));
  const c = await backTranslate(texts, { forward: fwd, backward: bwd, cache });
  assert.equal(c.translated, 3);
  assert.deepEqual(c.entries, a.entries); // deterministic decoding: the same strings
});

test('back-translate: a run that is not seq2seq is one clear error', async () => {
  const cls = join(dir, 'cls.jsonl');
  writeFileSync(cls, Array.from({ length: 16 }, (_, i) => JSON.stringify({ text: `word ${i % 3} thing`, label: i % 2 })).join('\n') + '\n');
  const run = await train('cls', { train: cls, validation: cls }, 'classification');
  await assert.rejects(backTranslate(['x'], { forward: run, backward: run, cache: join(dir, 'c.jsonl') }),
    (e: Error) => e instanceof ConfigError && /--forward: .* is a run of task classification, not seq2seq/.test(e.message));
});
