import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { parseConfig, setField, greaterIsBetter } from '../../src/train/config.js';
import { applyOverrides, parseOverrides } from '../../src/cli/args.js';

const base = () => ({ task: 'lm', data: { train: 'x.txt' } });

function configError(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return (e as Error).message;
  }
  assert.fail('expected a ConfigError');
}

test('defaults follow Hugging Face TrainingArguments', () => {
  const c = parseConfig(base());
  assert.equal(c.learningRate, 5e-5);
  assert.equal(c.weightDecay, 0);
  assert.equal(c.adamBeta1, 0.9);
  assert.equal(c.adamBeta2, 0.999);
  assert.equal(c.adamEpsilon, 1e-8);
  assert.equal(c.maxGradNorm, 1);
  assert.equal(c.lrSchedulerType, 'linear');
  assert.equal(c.maxSteps, -1);
  assert.equal(c.numTrainEpochs, 3);
  assert.equal(c.gradientAccumulationSteps, 1);
  assert.equal(c.perDeviceTrainBatchSize, 8);
  assert.equal(c.saveTotalLimit, null);
  assert.deepEqual(c.objective, { ce: 1 });
  assert.equal(c.data.valFraction, 0.1);
  assert.equal(c.data.tokenizer.type, 'char');
});

test('an out-of-range value names the field and the value, on one line', () => {
  const msg = configError({ ...base(), learningRate: -1 });
  assert.equal(msg, 'learningRate: must be > 0 (got -1)');
  assert.ok(!msg.includes('\n'));
});

test('nested fields are named with dots', () => {
  assert.match(configError({ ...base(), data: { train: 'x', blockSize: 0 } }), /^data\.blockSize: must be >= 1 \(got 0\)$/);
  assert.match(configError({ ...base(), data: { train: 'x', tokenizer: { type: 'sentencepiece' } } }), /^data\.tokenizer\.type: must be one of char, gpt2, hf, word, bpe \(got "sentencepiece"\)$/);
});

test('wrong types, missing fields, unknown fields and enum values', () => {
  assert.match(configError({ ...base(), maxSteps: 1.5 }), /^maxSteps: must be an integer \(got 1\.5\)$/);
  assert.match(configError({ ...base(), seed: 'abc' }), /^seed: must be a/);
  assert.match(configError({ task: 'lm' }), /^data: is required/);
  assert.match(configError({ ...base(), learningrate: 1 }), /^learningrate: unknown field \(did you mean learningRate\?\)$/);
  assert.match(configError({ ...base(), task: 'ranking' }), /^task: must be one of lm, classification, seq2seq, extractive-qa/);
  assert.match(configError({ ...base(), model: { nEmbd: 30, nHead: 4 } }), /^model\.nHead: must divide model\.nEmbd \(30\)/);
});

test('CLI overrides: typed values, dotted fields, flags, = form', () => {
  const o = parseOverrides(['--maxSteps', '100', '--learningRate', '3e-4', '--data.blockSize=32', '--bf16', '--outputDir', 'runs/x']);
  assert.deepEqual(o, [['maxSteps', 100], ['learningRate', 3e-4], ['data.blockSize', 32], ['bf16', true], ['outputDir', 'runs/x']]);
  const c = parseConfig(applyOverrides(base(), o.filter(([k]) => k !== 'bf16')));
  assert.equal(c.maxSteps, 100);
  assert.equal(c.learningRate, 3e-4);
  assert.equal(c.data.blockSize, 32);
  assert.equal(c.data.train, 'x.txt');
  assert.equal(parseConfig(applyOverrides(base(), [['bf16', true]])).bf16, true);
  assert.throws(() => parseConfig(applyOverrides(base(), [['bf16', true], ['fp16', true]])), /^ConfigError: bf16 and fp16 are both true/);
  // A negative number is a value, not an option.
  assert.deepEqual(parseOverrides(['--learningRate', '-1']), [['learningRate', -1]]);
  assert.throws(() => parseOverrides(['maxSteps']), ConfigError);
  assert.throws(() => setField({ data: 3 }, 'data.train', 'x'), /data: is not an object/);
});

test('greaterIsBetter: accuracy-like metrics up, losses down, explicit setting wins', () => {
  assert.equal(greaterIsBetter({ metricForBestModel: 'accuracy', greaterIsBetter: undefined }), true);
  assert.equal(greaterIsBetter({ metricForBestModel: 'loss', greaterIsBetter: undefined }), false);
  assert.equal(greaterIsBetter({ metricForBestModel: 'loss', greaterIsBetter: true }), true);
});

test('generation.topK 0 is accepted (no top-k filtering, as Hugging Face top_k=0); a negative topK is not', () => {
  assert.equal(parseConfig({ ...base(), generation: { topK: 0 } }).generation.topK, 0);
  assert.equal(configError({ ...base(), generation: { topK: -1 } }), 'generation.topK: must be >= 0 (got -1)');
});

test('type errors take the right article: an array, an object, an integer, a number, a string, a boolean', () => {
  assert.equal(configError({ ...base(), task: 'classification', data: { train: 'x.jsonl', augment: { protectedWords: 'x' } } }), 'data.augment.protectedWords: must be an array (got "x")');
  assert.equal(configError({ ...base(), model: 3 }), 'model: must be an object (got 3)');
  assert.equal(configError({ ...base(), maxSteps: 1.5 }), 'maxSteps: must be an integer (got 1.5)');
  assert.equal(configError({ ...base(), learningRate: 'x' }), 'learningRate: must be a number (got "x")');
  assert.equal(configError({ ...base(), outputDir: 3 }), 'outputDir: must be a string (got 3)');
  assert.equal(configError({ ...base(), bf16: 'yes' }), 'bf16: must be a boolean (got "yes")');
});
