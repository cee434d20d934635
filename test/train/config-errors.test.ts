/**
 * Configuration that used to be ignored in silence (issue 19) is an error naming the field, file and
 * line: misspelled model fields (with the nearest name), a metricForBestModel no evaluation gives,
 * a classification label outside model.numLabels; a one-class training set is a warning. Hugging
 * Face spellings (n_embd) are aliases, applied before the unknown-field check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { setLogger } from '../../src/logger.js';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig, readConfigFile, type TrainConfigInput } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { assertOneLineError, trainformer } from '../cli/run-cli.js';
import { configError } from '../util/config-error.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-config-errors-'));
const text = join(dir, 'text.txt');
writeFileSync(text, 'a quiet line of text, repeated for training. '.repeat(60));
const lm = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  task: 'lm', outputDir: join(dir, 'run'), data: { train: text, blockSize: 8 }, model: { nLayer: 1, nHead: 2, nEmbd: 8 }, maxSteps: 2, disableTqdm: true, ...extra,
});


test('misspelled model fields are errors that name the nearest field', () => {
  assert.equal(configError(lm({ model: { nLayers: 2 } })), 'model.nLayers: unknown field (did you mean model.nLayer?)');
  assert.equal(configError(lm({ model: { nHeads: 2 } })), 'model.nHeads: unknown field (did you mean model.nHead?)');
  assert.equal(configError(lm({ model: { numLayers: 2 } })), 'model.numLayers: unknown field (did you mean model.nLayer?)');
  assert.equal(configError(lm({ model: { num_attention_heads: 2 } })), 'model.num_attention_heads: unknown field (did you mean model.nHead?)');
  assert.equal(configError(lm({ model: { wibble: 2 } })), 'model.wibble: unknown field');
  assert.equal(configError(lm({ learningrate: 1 })), 'learningrate: unknown field (did you mean learningRate?)');
});

test('a Hugging Face alias (n_embd) sets the field it spells', () => {
  const c = parseConfig(lm({ model: { n_layer: 3, n_head: 4, n_embd: 32 } }));
  assert.equal(c.model.nEmbd, 32);
  assert.equal(c.model.nLayer, 3);
  assert.equal(c.model.nHead, 4);
});

test('the CLI names the config file and the line of a misspelled field', () => {
  const p = join(dir, 'typo.json');
  writeFileSync(p, JSON.stringify(lm({ model: { nLayer: 1, nHeads: 2, nEmbd: 8 } }), null, 2));
  const line = 1 + JSON.stringify(lm({ model: { nLayer: 1, nHeads: 2, nEmbd: 8 } }), null, 2).split('\n').findIndex((l) => l.includes('"nHeads"'));
  const r = trainformer(['train', '--config', p]);
  assertOneLineError(r, new RegExp(`^config error: ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}: model\\.nHeads: unknown field \\(did you mean model\\.nHead\\?\\)$`));
});

test('a metricForBestModel that no evaluation gives is an error before the first step', async () => {
  const cfg = parseConfig(lm({ outputDir: join(dir, 'metric'), metricForBestModel: 'accuracy', earlyStoppingPatience: 2, evalSteps: 1 }));
  const task = await createTask(cfg);
  assert.throws(() => new Trainer({ config: cfg, task }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /^metricForBestModel: the lm task's evaluation gives no "accuracy" \(it gives loss, perplexity, lossPerChar, evalTokens\)/);
    return true;
  });
  const cfg2 = parseConfig(lm({ outputDir: join(dir, 'metric2'), metricForBestModel: 'perplexty', earlyStoppingPatience: 2 }));
  assert.throws(() => new Trainer({ config: cfg2, task }), /did you mean perplexity\?/);
});

const jsonl = (name: string, rows: [string, unknown][]): string => {
  const p = join(dir, name);
  writeFileSync(p, rows.map(([t, l]) => JSON.stringify({ text: t, label: l })).join('\n') + '\n');
  return p;
};
const cls = (train: string, validation: string, extra: Partial<TrainConfigInput> = {}): TrainConfigInput => ({
  task: 'classification', outputDir: join(dir, 'cls'), data: { train, validation, maxLength: 16 }, model: { nLayer: 1, nHead: 2, nEmbd: 8 },
  maxSteps: 2, disableTqdm: true, ...extra,
});

test('a classification label outside model.numLabels is an error naming file and line', async () => {
  const train = jsonl('num-labels.jsonl', [['good', 0], ['bad', 1], ['odd', 2], ['fine', 0]]);
  const val = jsonl('num-labels-val.jsonl', [['good', 0], ['bad', 1]]);
  await assert.rejects(createTask(parseConfig(cls(train, val, { model: { nLayer: 1, nHead: 2, nEmbd: 8, numLabels: 2 } }))), (e: unknown) => {
    assert.ok(e instanceof FileFormatError, String(e));
    assert.equal(e.message, `${train}:3: label 2 is outside model.numLabels = 2 (labels 0..1)`);
    return true;
  });
  const strTrain = jsonl('num-labels-str.jsonl', [['good', 'pos'], ['bad', 'neg'], ['meh', 'mixed']]);
  await assert.rejects(createTask(parseConfig(cls(strTrain, val, { model: { nLayer: 1, nHead: 2, nEmbd: 8, numLabels: 2 } }))), new RegExp(`^FileFormatError: ${strTrain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: label "mixed" would be class 3; model.numLabels is 2`));
  // Declared and met: classes 0..numLabels-1 even when one is not seen.
  const ok = await createTask(parseConfig(cls(jsonl('num-labels-ok.jsonl', [['a', 0], ['b', 0], ['c', 1]]), val, { model: { nLayer: 1, nHead: 2, nEmbd: 8, numLabels: 3 } })));
  assert.deepEqual((ok as unknown as { labelMap: { labels: number[] } }).labelMap.labels, [0, 1, 2]);
});

test('a one-class training set is a warning naming the file', async () => {
  const train = jsonl('one-class.jsonl', [['good', 'pos'], ['great', 'pos'], ['fine', 'pos']]);
  const val = jsonl('one-class-val.jsonl', [['nice', 'pos']]);
  const warnings: string[] = [];
  const prev = setLogger({ info: () => {}, warn: (m: string) => { warnings.push(m); } } as never);
  try {
    await createTask(parseConfig(cls(train, val)));
  } finally {
    setLogger(prev);
  }
  assert.ok(warnings.some((w) => w.includes(train) && /every training example has label "pos" \(one class\)/.test(w)), warnings.join('\n'));
});

test('a config file with a UTF-8 byte-order mark is read', () => {
  const p = join(dir, 'bom.json');
  writeFileSync(p, '\ufeff' + JSON.stringify(lm()));
  assert.equal(readConfigFile(p).task, 'lm');
  assert.ok(readdirSync(dir).includes('bom.json'));
});

test('GPT-only model fields and data.augment outside classification are errors, not silently ignored (fresh-user trial)', async () => {
  const train = jsonl('gpt-only.jsonl', [['good', 0], ['bad', 1], ['fine', 0], ['awful', 1]]);
  const val = jsonl('gpt-only-val.jsonl', [['good', 0], ['bad', 1]]);
  const model = { nLayer: 1, nHead: 2, nEmbd: 8 };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ attentionWindow: 8 }, /^model\.attentionWindow: the encoder \(classification, extractive-qa\) has no such option/],
    [{ positionEmbedding: 'rope' }, /^model\.positionEmbedding: the encoder .* has learned positions only, got "rope"$/],
    [{ positionEmbedding: 'rope', ropeTheta: 50000 }, /^model\.ropeTheta: the encoder/],
  ];
  for (const [extra, re] of cases) {
    await assert.rejects(createTask(parseConfig(cls(train, val, { model: { ...model, ...extra } }))), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, re);
      assert.deepEqual(e.field, ['model', Object.keys(extra).at(-1)]);
      return true;
    });
  }
  // The plain classifier still builds (the check refuses only the GPT-only fields).
  await createTask(parseConfig(cls(train, val, { model })));
  assert.equal(configError(lm({ data: { train: text, blockSize: 8, augment: { randomSwap: 0.1 } } })),
    'data.augment: text augmentation applies to task classification (got task lm)');
});

test('RoPE / attentionWindow / head-size / mixed-precision / best-model errors found after the schema name the config file and line (as schema errors do)', () => {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['rope-theta', lm({ model: { nLayer: 1, nHead: 2, nEmbd: 8, ropeTheta: 500000 } }), '"ropeTheta"', "model\\.ropeTheta needs positionEmbedding 'rope', got 'learned'"],
    ['rope-scaling', lm({ model: { nLayer: 1, nHead: 2, nEmbd: 8, ropeScaling: { type: 'linear', factor: 2 } } }), '"ropeScaling"', "model\\.ropeScaling needs positionEmbedding 'rope', got 'learned'"],
    ['rope-odd-head', lm({ model: { nLayer: 1, nHead: 8, nEmbd: 8, positionEmbedding: 'rope' } }), '"positionEmbedding"', "model\\.positionEmbedding 'rope' needs an even head size \\(nEmbd / nHead\\), got 1"],
    ['head-divides', lm({ model: { nLayer: 1, nHead: 3, nEmbd: 8 } }), '"nHead"', 'model\\.nHead: must divide model\\.nEmbd \\(8\\) \\(got 3\\)'],
    ['bf16-fp16', lm({ bf16: true, fp16: true }), '"fp16"', 'bf16 and fp16 are both true'],
    ['best-no-eval', lm({ loadBestModelAtEnd: true, evalStrategy: 'no' }), '"loadBestModelAtEnd"', 'loadBestModelAtEnd: needs evaluations'],
    ['cls-window', cls(jsonl('window.jsonl', [['good', 0], ['bad', 1]]), jsonl('window-val.jsonl', [['good', 0]]), { model: { nLayer: 1, nHead: 2, nEmbd: 8, attentionWindow: 4 } }), '"attentionWindow"', 'model\\.attentionWindow: the encoder \\(classification, extractive-qa\\) has no such option'],
  ];
  for (const [name, cfg, key, message] of cases) {
    const text = JSON.stringify({ ...cfg, outputDir: join(dir, `run-${name}`) }, null, 2);
    const p = join(dir, `${name}.json`);
    writeFileSync(p, text);
    const line = 1 + text.split('\n').findIndex((l) => l.includes(key));
    assertOneLineError(trainformer(['train', '--config', p]), new RegExp(`^config error: ${esc(p)}:${line}: ${message}`));
  }
});

test('unknown keys get a did-you-mean in every config block: data.augment (EDA paper names too), objective terms, lrSchedulerKwargs options, and before a required field they hide', () => {
  const clsAug = (augment: Record<string, unknown>) => ({ task: 'classification', data: { train: 'x.jsonl', augment } });
  assert.equal(configError(clsAug({ numAugs: 2 })), 'data.augment.numAugs: unknown field (did you mean data.augment.numAug?)');
  assert.equal(configError(clsAug({ p_rd: 0.1 })), 'data.augment.p_rd: unknown field (did you mean data.augment.randomDeletion?)');
  assert.equal(configError(clsAug({ alphaSr: 0.1 })), 'data.augment.alphaSr: unknown field (did you mean data.augment.synonymReplacement?)');
  assert.equal(configError(clsAug({ n_aug: 2 })), 'data.augment.n_aug: unknown field (did you mean data.augment.numAug?)');
  assert.equal(configError(lm({ objective: { cee: 1 } })), 'objective.cee: unknown term (did you mean objective.ce?)');
  assert.equal(configError(lm({ objective: { zloss: 1e-4, ce: 1 } })), 'objective.zloss: unknown term (did you mean objective.zLoss?)');
  assert.equal(configError(lm({ objective: { foo: 1 } })), 'objective.foo: unknown term (known: ce, zLoss, l2, l1, kd)');
  assert.equal(configError(lm({ lrSchedulerType: 'cosine_with_min_lr', lrSchedulerKwargs: { minLrRatio: 0.1 } })),
    'lrSchedulerKwargs.minLrRatio: unknown option of the cosine_with_min_lr schedule (did you mean lrSchedulerKwargs.minLrRate?)');
  // A misspelled required field was reported as missing ("distillation.teacher: is required").
  assert.equal(configError(lm({ distillation: { teachr: 'x' } })), 'distillation.teachr: unknown field (did you mean distillation.teacher?)');
  assert.equal(configError(lm({ model: { nLayer: 1, nHead: 2, nEmbd: 8, positionEmbedding: 'rope', ropeScaling: { type: 'linear', factr: 2 } } })),
    'model.ropeScaling.factr: unknown field (did you mean model.ropeScaling.factor?)');
});

test('an unknown objective term or schedule option in the config file names its line', () => {
  const cfg = lm({ objective: { cee: 1 } });
  const text = JSON.stringify(cfg, null, 2);
  const p = join(dir, 'objective-typo.json');
  writeFileSync(p, text);
  const line = 1 + text.split('\n').findIndex((l) => l.includes('"cee"'));
  assertOneLineError(trainformer(['train', '--config', p]), new RegExp(`^config error: ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}: objective\\.cee: unknown term \\(did you mean objective\\.ce\\?\\)$`));
});
