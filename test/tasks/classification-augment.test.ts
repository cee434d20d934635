/**
 * data.augment in the classification task: reproducible from the seed, resumable mid-epoch,
 * protected words and special tokens untouched, validation untouched, back-translation cache used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTask } from '../../src/tasks/index.js';
import type { ClassificationTask } from '../../src/tasks/classification.js';
import { parseConfig } from '../../src/train/config.js';
import { exampleRng, TextAugmenter } from '../../src/data/text-augment.js';
import { AugmentSchema } from '../../src/data/config.js';
import { writeParaphraseCache } from '../../src/data/paraphrase-cache.js';
import type { ClassificationBatch } from '../../src/data/collate.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-aug-'));
const words = ['apple', 'river', 'stone', 'cloud', 'green', 'table', 'music', 'light', 'house', 'paper'];
function text(i: number): string {
  const pos = i % 2 === 0;
  const w = [words[i % 10], words[(i * 3) % 10], words[(i * 7 + 1) % 10], words[(i * 9 + 4) % 10], `${i}!`];
  w.splice(i % 4, 0, pos ? 'good' : 'bad');
  return w.join(' ');
}
const line = (i: number) => JSON.stringify({ text: text(i), label: i % 2 === 0 ? 'pos' : 'neg' });
writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 40 }, (_, i) => line(i)).join('\n') + '\n');
writeFileSync(join(dir, 'valid.jsonl'), Array.from({ length: 12 }, (_, i) => line(i + 100)).join('\n') + '\n');

const AUG = { synonymReplacement: 0.3, randomInsertion: 0.3, randomSwap: 0.3, randomDeletion: 0.3, numAug: 8, maskProb: 0.3, protectedWords: ['good', 'bad'] };

async function task(augment?: Record<string, unknown>, seed = 5): Promise<ClassificationTask> {
  const config = parseConfig({
    task: 'classification', outputDir: join(dir, 'run'), seed,
    data: { train: join(dir, 'train.jsonl'), validation: join(dir, 'valid.jsonl'), tokenizer: { type: 'word' }, maxLength: 16, ...(augment ? { augment } : {}) },
    model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 },
    perDeviceTrainBatchSize: 8,
  });
  return (await createTask(config)) as ClassificationTask;
}

const rows = (b: ClassificationBatch): number[][] => Array.from({ length: b.shape[0] }, (_, r) => {
  const L = b.shape[1];
  return Array.from(b.inputIds.subarray(r * L, (r + 1) * L)).filter((_, j) => b.attentionMask[r * L + j] === 1);
});
const batches = (t: ClassificationTask, n: number) => Array.from({ length: n }, () => rows(t.nextBatch()));

test('augmented batches are a function of the seed; a different seed draws others', async () => {
  const a = batches(await task(AUG), 10);
  assert.deepEqual(batches(await task(AUG), 10), a);
  const plain = batches(await task(), 10);
  assert.notDeepEqual(a, plain);
  // The same example (dataset index 3) in epoch 0 under two seeds: augmentText differs for some example.
  const aug = await TextAugmenter.create(AugmentSchema.parse(AUG), Array.from({ length: 40 }, (_, i) => text(i)));
  const draws = (seed: number) => Array.from({ length: 40 }, (_, i) => aug.augmentText(text(i), exampleRng(seed, 0, i)).text);
  assert.deepEqual(draws(1), draws(1));
  assert.notDeepEqual(draws(1), draws(2));
});

test('resume mid-epoch: a new task set to the saved data state reads the same augmented batches', async () => {
  const t = await task(AUG);
  batches(t, 3); // 5 batches per epoch: stop inside epoch 0
  const state = JSON.parse(JSON.stringify(t.dataState()));
  const rest = batches(t, 6); // the rest of epoch 0 and into epoch 1
  const u = await task(AUG);
  u.setDataState(state);
  assert.deepEqual(batches(u, 6), rest);
});

test('protected words and special tokens are never changed, moved relative to each other, or masked', async () => {
  const aug = await task(AUG);
  const plain = await task();
  const tok = aug.tokenizer;
  const prot = new Set([tok.tokenToId('good'), tok.tokenToId('bad'), tok.clsId, tok.sepId]);
  let changed = 0;
  for (let k = 0; k < 20; k++) { // 4 epochs: the plain task reads the same examples in the same order
    const a = rows(aug.nextBatch()), p = rows(plain.nextBatch());
    for (let r = 0; r < a.length; r++) {
      assert.deepEqual(a[r].filter((id) => prot.has(id)), p[r].filter((id) => prot.has(id)));
      assert.equal(a[r][0], tok.clsId);
      assert.equal(a[r][a[r].length - 1], tok.sepId);
      if (a[r].join() !== p[r].join()) changed++;
    }
  }
  assert.ok(changed > 100, `only ${changed} of 160 rows augmented`); // P(kept) = 1/9, masking on every draw
});

test('validation data is never augmented: same examples, same metrics as without data.augment', async () => {
  const a = await task(AUG), p = await task();
  assert.deepEqual(a.valSet, p.valSet);
  batches(a, 7);
  batches(p, 7);
  assert.deepEqual(a.evaluate(), p.evaluate()); // same seed → same initial weights; eval reads valSet only
  assert.deepEqual(a.valSet, p.valSet);
});

test('numAug: an example is kept with probability 1/(1+numAug); back-translation used only where the cache has a paraphrase', async () => {
  const cache = join(dir, 'bt.jsonl');
  const texts = Array.from({ length: 40 }, (_, i) => text(i));
  writeParaphraseCache(cache, texts.slice(0, 20).map((t) => ({ text: t, paraphrase: `${t} paraphrased`, pivot: 'x', models: 'm' })));
  const aug = await TextAugmenter.create(AugmentSchema.parse({ backTranslation: cache, numAug: 3 }), texts);
  assert.equal(aug.paraphraseCoverage(texts), 20);
  let bt = 0;
  const draws = 4000;
  for (let k = 0; k < draws; k++) {
    const i = k % 40;
    const r = aug.augmentText(texts[i], exampleRng(9, Math.floor(k / 40), i));
    if (i >= 20) assert.deepEqual(r, { text: texts[i], op: null });
    else if (r.op === 'backTranslation') { bt++; assert.equal(r.text, `${texts[i]} paraphrased`); } else assert.equal(r.text, texts[i]);
  }
  // Covered texts: P(paraphrase) = 3/4; Binomial(2000, 0.75) sd ≈ 0.0097 of the rate; 5 sd band.
  assert.ok(Math.abs(bt / 2000 - 0.75) < 0.05, `rate ${bt / 2000}`);
  await assert.rejects(TextAugmenter.create(AugmentSchema.parse({ protectedPattern: '(' }), texts), ConfigError);
});

test('a missing or paraphrase-less backTranslation cache is a ConfigError naming it, not a silent run without it (fresh-user trial)', async () => {
  const texts = Array.from({ length: 4 }, (_, i) => text(i));
  const missing = join(dir, 'no-such-bt.jsonl');
  await assert.rejects(TextAugmenter.create(AugmentSchema.parse({ backTranslation: missing }), texts),
    (e: Error) => e instanceof ConfigError && e.message.includes('data.augment.backTranslation') && e.message.includes('no such file'));
  const empty = join(dir, 'empty-bt.jsonl');
  writeFileSync(empty, '');
  await assert.rejects(TextAugmenter.create(AugmentSchema.parse({ backTranslation: empty }), texts),
    (e: Error) => e instanceof ConfigError && e.message.includes('holds no paraphrase'));
});

test('examples/sms-spam-augment.json and examples/fra-eng.json are valid configs; a backTranslation path is relative to the config', async () => {
  const { loadRawConfig } = await import('../../src/cli/config-file.js');
  const { ROOT } = await import('../data/paths.js');
  const aug = parseConfig(loadRawConfig(join(ROOT, 'examples/sms-spam-augment.json'), []).raw);
  assert.equal(aug.data.augment?.numAug, 16);
  assert.equal(aug.data.augment?.protectedPattern, '\\d');
  const fra = parseConfig(loadRawConfig(join(ROOT, 'examples/fra-eng.json'), []).raw);
  assert.deepEqual([fra.data.srcField, fra.data.tgtField], ['tgt', 'src']);
  const cfg = join(dir, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({ task: 'classification', data: { train: 'train.jsonl', augment: { backTranslation: 'bt.jsonl' } } }));
  assert.equal(parseConfig(loadRawConfig(cfg, []).raw).data.augment?.backTranslation, join(dir, 'bt.jsonl'));
});
