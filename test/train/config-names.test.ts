/**
 * Other spellings of config fields (Hugging Face snake_case, kebab-case flags), Hugging Face's
 * training_args.json, and the --help field reference, checked against parseConfig's own output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../src/errors.js';
import { parseConfig, TrainConfigSchema } from '../../src/train/config.js';
import { camelCase, canonicalPath, fromHfTrainingArgs, normalizeFieldNames } from '../../src/train/config-names.js';
import { applyOverrides, parseOverrides } from '../../src/cli/args.js';
import { fieldReference, formatFieldReference } from '../../src/cli/config-help.js';
import { ROOT } from '../data/paths.js';

const base = () => ({ task: 'lm', data: { train: 'x.txt' } });
/** camelCase → snake_case, written independently of the code under test. */
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const kebab = (s: string) => snake(s).replace(/_/g, '-');

test('camelCase: snake_case and kebab-case to camelCase', () => {
  assert.equal(camelCase('per_device_train_batch_size'), 'perDeviceTrainBatchSize');
  assert.equal(camelCase('max-steps'), 'maxSteps');
  assert.equal(camelCase('adam_beta1'), 'adamBeta1');
  assert.equal(camelCase('learningRate'), 'learningRate');
  assert.equal(snake('adamBeta2'), 'adam_beta2');
  assert.equal(snake('nEmbd'), 'n_embd');
});

test('every field spelled in snake_case or kebab-case parses to the same config as its camelCase name', () => {
  // A non-default value per field where one is easy to make, so a dropped alias would show.
  const reference = fieldReference(TrainConfigSchema);
  const want = parseConfig({ ...base(), learningRate: 0.125, model: { nEmbd: 64, nHead: 2 }, data: { train: 'x.txt', blockSize: 17 }, maxSteps: 9 });
  for (const spell of [snake, kebab]) {
    const raw = {
      task: 'lm',
      [spell('learningRate')]: 0.125,
      [spell('maxSteps')]: 9,
      model: { [spell('nEmbd')]: 64, [spell('nHead')]: 2 },
      data: { train: 'x.txt', [spell('blockSize')]: 17 },
    };
    assert.deepEqual(parseConfig(raw), want, spell.name);
  }
  // Every leaf field: its snake_case spelling is renamed to the camelCase path.
  for (const { path } of reference) {
    const parts = path.split('.');
    const raw: Record<string, unknown> = {};
    let o = raw;
    for (const p of parts.slice(0, -1)) o = (o[snake(p)] = {}) as Record<string, unknown>;
    o[snake(parts[parts.length - 1]!)] = 'v';
    normalizeFieldNames(raw, TrainConfigSchema);
    let v: unknown = raw;
    for (const p of parts) v = (v as Record<string, unknown>)[p];
    assert.equal(v, 'v', path);
  }
});

test('a field under two spellings is an error naming both; an unknown name is left for the schema to report', () => {
  assert.throws(() => parseConfig({ ...base(), learning_rate: 1e-3, learningRate: 1e-3 }),
    (e: unknown) => e instanceof ConfigError && /learning_rate, learningRate: the same field given twice/.test(e.message));
  assert.throws(() => parseConfig({ ...base(), learning_rat: 1e-3 }), (e: unknown) => e instanceof ConfigError && /learning_rat/.test(e.message));
  const c = parseConfig({ ...base(), lr_scheduler_type: 'cosine_with_min_lr', lr_scheduler_kwargs: { min_lr_rate: 0.1 } });
  assert.deepEqual(c.lrSchedulerKwargs, { minLrRate: 0.1 });
  assert.equal(c.lrSchedulerType, 'cosine_with_min_lr');
  assert.equal(parseConfig({ ...base(), evaluation_strategy: 'no' }).evalStrategy, 'no');
});

test('flags: --per_device_train_batch_size, --max-steps and --data.block-size override the camelCase fields of the file', () => {
  const file = { ...base(), perDeviceTrainBatchSize: 16, maxSteps: 100, data: { train: 'x.txt', blockSize: 64 } };
  const o = parseOverrides(['--per_device_train_batch_size', '4', '--max-steps=7', '--data.block-size', '32', '--lr_scheduler_type', 'cosine', '--lr_scheduler_kwargs.num_cycles', '2']);
  const c = parseConfig(applyOverrides(file, o));
  assert.equal(c.perDeviceTrainBatchSize, 4);
  assert.equal(c.maxSteps, 7);
  assert.equal(c.data.blockSize, 32);
  assert.deepEqual(c.lrSchedulerKwargs, { numCycles: 2 });
  assert.equal(canonicalPath('model.n_inner', TrainConfigSchema), 'model.nInner');
  assert.equal(canonicalPath('model.not_a_field', TrainConfigSchema), 'model.not_a_field');
});

test("Hugging Face's training_args.json: known fields taken, HF's nulls dropped, the rest named", () => {
  const json = JSON.parse(readFileSync(`${ROOT}test/train/fixtures/hf_training_args.json`, 'utf8')) as Record<string, unknown>;
  const { fields, unknown } = fromHfTrainingArgs(json, TrainConfigSchema);
  const c = parseConfig({ ...base(), ...fields });
  assert.equal(c.outputDir, 'runs/hf');
  assert.equal(c.perDeviceTrainBatchSize, 16);
  assert.equal(c.perDeviceEvalBatchSize, 32);
  assert.equal(c.gradientAccumulationSteps, 2);
  assert.equal(c.learningRate, 3e-4);
  assert.equal(c.adamBeta2, 0.98);
  assert.equal(c.maxGradNorm, 0.5);
  assert.equal(c.maxSteps, 120);
  assert.equal(c.lrSchedulerType, 'cosine_with_min_lr');
  assert.deepEqual(c.lrSchedulerKwargs, { minLrRate: 0.1 });
  assert.equal(c.warmupSteps, 10);
  assert.equal(c.loggingSteps, 5);
  assert.equal(c.saveSteps, 60);
  assert.equal(c.saveTotalLimit, 2);
  assert.equal(c.seed, 7);
  assert.equal(c.evalSteps, 30);
  assert.equal(c.disableTqdm, true);
  assert.equal(c.labelSmoothingFactor, 0.1);
  assert.equal(c.optim, 'adamw');
  // Fields trainformer does not have (and HF's nulls, which mean "not set", are not among them).
  const have = new Set(Object.keys(TrainConfigSchema.shape));
  const expected = Object.keys(json).filter((k) => json[k] !== null && !have.has(camelCase(k)) && k !== 'per_gpu_train_batch_size');
  assert.deepEqual(unknown.sort(), expected.sort());
  assert.ok(!unknown.includes('fp16') && !unknown.includes('report_to') && !unknown.includes('gradient_checkpointing') && !unknown.includes('data_seed'));
  assert.equal(c.gradientCheckpointing, true);
  assert.deepEqual(c.reportTo, ['tensorboard']);
  assert.throws(() => fromHfTrainingArgs([1, 2], TrainConfigSchema, 'args.json'), /args\.json: Hugging Face training arguments must be a JSON object/);
});

test('--help reference: every field of a parsed config, with its default as parseConfig fills it in', () => {
  const ref = fieldReference(TrainConfigSchema);
  const parsed = parseConfig(base()) as unknown as Record<string, unknown>;
  const leaves: [string, unknown][] = [];
  const walk = (o: Record<string, unknown>, prefix: string, schemaPaths: Set<string>) => {
    for (const [k, v] of Object.entries(o)) {
      const p = prefix + k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && !schemaPaths.has(p)) walk(v as Record<string, unknown>, `${p}.`, schemaPaths);
      else leaves.push([p, v]);
    }
  };
  walk(parsed, '', new Set(ref.map((r) => r.path)));
  const byPath = new Map(ref.map((r) => [r.path, r]));
  for (const [p, v] of leaves) {
    const r = byPath.get(p);
    assert.ok(r, `${p} is listed`);
    if (p === 'data.train' || p === 'task') continue; // given in base(): required fields
    assert.equal(r.default, JSON.stringify(v), `default of ${p}`);
  }
  assert.equal(byPath.get('task')!.default, 'required');
  assert.equal(byPath.get('learningRate')!.type, 'number > 0');
  assert.equal(byPath.get('model.nLayer')!.type, 'integer >= 1');
  assert.equal(byPath.get('saveTotalLimit')!.type, 'integer >= 1 | null');
  assert.match(byPath.get('data.tokenizer.type')!.type, /^"char" \| "gpt2"/);
  const text = formatFieldReference(TrainConfigSchema);
  for (const r of ref) assert.match(text, new RegExp(`^  ${r.path.replace(/\./g, '\\.')} `, 'm'));
});
test('--help reference: every field has a one-line description', () => {
  const missing = fieldReference(TrainConfigSchema).filter((r) => r.description === '' || r.description.includes('\n')).map((r) => r.path);
  assert.deepEqual(missing, []);
});
