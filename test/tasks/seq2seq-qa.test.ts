/** seq2seq and extractive-qa train a few steps on the bundled data (tiny models, few lines). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTask } from '../../src/tasks/index.js';
import type { Seq2SeqTask } from '../../src/tasks/seq2seq.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-s2s-'));
const common = {
  seed: 5, model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }, learningRate: 3e-3, perDeviceTrainBatchSize: 8,
  perDeviceEvalBatchSize: 16, maxSteps: 6, loggingSteps: 3, evalSteps: 100, saveSteps: 100, disableTqdm: true,
};

test('seq2seq: eng→fra pairs, teacher forcing with ignored padding; loss falls; greedy translation runs', async () => {
  const config = parseConfig({
    ...common, task: 'seq2seq', outputDir: join(dir, 's2s'), learningRate: 1e-2, groupByLength: true,
    data: { train: 'examples/data/eng_fra/train.jsonl', validation: 'examples/data/eng_fra/valid.jsonl', tokenizer: { type: 'word' }, limit: 48, maxLength: 12, maxTargetLength: 12 },
  });
  const task = (await createTask(config)) as Seq2SeqTask;
  const before = task.evaluate();
  const r = await new Trainer({ config, task }).train();
  const after = r.finalMetrics!;
  assert.ok(after.loss < before.loss, `loss ${before.loss} → ${after.loss}`);
  assert.ok(Math.abs(after.perplexity - Math.exp(after.loss)) < 1e-9 * after.perplexity);
  assert.ok(after.tokenAccuracy >= 0 && after.tokenAccuracy <= 1);
  // BLEU / chrF of the decoded validation set, on sacreBLEU's 0–100 scale.
  for (const k of ['bleu', 'chrf']) assert.ok(after[k] >= 0 && after[k] <= 100, `${k} = ${after[k]}`);
  assert.equal(task.lastSamples.length, 12);
  assert.equal(typeof task.translate('i am cold .'), 'string');
  assert.equal(typeof task.translate('i am cold .', { numBeams: 3, maxNewTokens: 5 }), 'string');
  // translateBatch decodes sources sorted by length, 16 at a time: each translation must still land
  // at its own source's place. A decoder that copies its source shows where each row went.
  const srcs = task.valPairs.slice(0, 20).map((p) => p.src);
  assert.ok(new Set(srcs.map((s) => s.split(' ').length)).size > 3);
  const model = task.model as unknown as { greedyDecode: (src: unknown) => unknown };
  model.greedyDecode = (src) => src;
  try {
    const tok = task.tokenizer;
    const expected = srcs.map((s) => tok.decode(tok.encode(s).slice(0, 12), { skipSpecialTokens: true }).trim());
    assert.equal(new Set(expected).size, 20);
    assert.deepEqual(task.translateBatch(srcs), expected);
  } finally {
    delete (model as Partial<typeof model>).greedyDecode;
  }
});

test('extractive-qa: SQuAD lines, start/end cross-entropy; exact match and F1 in percent', async () => {
  const config = parseConfig({
    ...common, task: 'extractive-qa', outputDir: join(dir, 'qa'),
    data: { train: 'examples/data/squad/train.jsonl', validation: 'examples/data/squad/valid.jsonl', tokenizer: { type: 'word' }, limit: 24, maxLength: 96 },
  });
  const task = await createTask(config);
  const r = await new Trainer({ config, task }).train();
  const m = r.finalMetrics!;
  assert.ok(Number.isFinite(m.loss));
  for (const k of ['exactMatch', 'f1']) assert.ok(m[k] >= 0 && m[k] <= 100, `${k} = ${m[k]}`);
  assert.ok(m.f1 >= m.exactMatch);
});

test('seq2seq: data.srcField / tgtField read the pairs the other way round (fra→eng from the eng_fra file)', async () => {
  const data = { train: 'examples/data/eng_fra/train.jsonl', validation: 'examples/data/eng_fra/valid.jsonl', tokenizer: { type: 'word' as const }, limit: 4 };
  const fwd = (await createTask(parseConfig({ ...common, task: 'seq2seq', outputDir: join(dir, 'f'), data }))) as Seq2SeqTask;
  const rev = (await createTask(parseConfig({ ...common, task: 'seq2seq', outputDir: join(dir, 'r'), data: { ...data, srcField: 'tgt', tgtField: 'src' } }))) as Seq2SeqTask;
  assert.equal(rev.valPairs.length, 4);
  rev.valPairs.forEach((p, i) => { assert.equal(p.src, fwd.valPairs[i].tgt); assert.equal(p.tgt, fwd.valPairs[i].src); });
  assert.notEqual(rev.valPairs[0].src, rev.valPairs[0].tgt);
});
