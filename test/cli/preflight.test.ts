/**
 * Problems found before the first step (issue 19), each one line naming the field or file: a
 * validation text shorter than a block, valFraction 0 with evaluation on, an empty corpus, a batch
 * size or width whose step cannot fit in memory, an outputDir that cannot be created (/proc/x used
 * to spin at 100% CPU forever), a damaged trainer_state.json, an empty classification training
 * file (the validation file used to be blamed), an hf tokenizer path to a JSON that is not a
 * tokenizer, a seq2seq char tokenizer without special tokens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { assertErrorLine, assertOneLineError, cliScratch, esc, trainformer } from './run-cli.js';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const { dir, text, config, lm } = cliScratch('tf-preflight-', { maxSteps: 3, evalSteps: 1 });

test('a validation text shorter than blockSize is an error before the first step', async () => {
  const short = join(dir, 'short.txt');
  writeFileSync(short, 'tiny');
  const cfg = parseConfig(lm({ outputDir: join(dir, 'short-run'), data: { train: text, validation: short, blockSize: 8 } }));
  const task = await createTask(cfg);
  assert.throws(() => new Trainer({ config: cfg, task }), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.message, `data.validation: the validation text (${short}) has 4 tokens; data.blockSize 8 needs at least 9`);
    return true;
  });
  assert.ok(!existsSync(join(dir, 'short-run', 'metrics.jsonl')), 'nothing trained');
});

test('valFraction 0 with evaluation on is an error; with evalStrategy "no" it trains without evaluating', async () => {
  const cfg = parseConfig(lm({ data: { train: text, blockSize: 8, valFraction: 0 } }));
  const task = await createTask(cfg);
  assert.throws(() => new Trainer({ config: cfg, task }), /^ConfigError: data\.valFraction: the last 0 of .* holds no validation text, and evalStrategy is "steps"/);
  const off = parseConfig(lm({ outputDir: join(dir, 'no-eval'), data: { train: text, blockSize: 8, valFraction: 0 }, evalStrategy: 'no' }));
  const r = await new Trainer({ config: off, task: await createTask(off) }).train();
  assert.equal(r.step, 3);
  assert.equal(r.finalMetrics, null);
});

test('an empty LM corpus: one line naming data.train', () => {
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '');
  // Found while reading the data, and still named with the config file and line (as schema errors are).
  const p = config(lm({ data: { train: empty, blockSize: 8 } }));
  assertOneLineError(trainformer(['train', '--config', p]), new RegExp(`^config error: ${esc(p)}:1: data\\.train: ${esc(empty)} holds no training text`));
});

test('a batch size or width that cannot fit: one line naming the field, before any allocation', () => {
  const wide = config(lm({ perDeviceTrainBatchSize: 1e9 }));
  assertOneLineError(trainformer(['train', '--config', wide]), new RegExp(`^config error: ${esc(wide)}:1: perDeviceTrainBatchSize: 1000000000 makes the feed-forward activations \\[1000000000, 8, 32\\] 2\\.56e\\+11 floats, more than one array can hold`));
  const big = config(lm({ model: { nLayer: 1, nHead: 2, nEmbd: 1e6 } }));
  assertOneLineError(trainformer(['train', '--config', big]), new RegExp(`^config error: ${esc(big)}:1: model\\.nEmbd: 1000000 makes `));
});

test('outputDir /proc/x: one line, at once', () => {
  const r = trainformer(['train', '--config', config(lm({ outputDir: '/proc/x/run' }))], { timeout: HANG_GUARD_MS });
  assert.notEqual(r.code, null, 'the command hung (killed at the hang guard)');
  assertOneLineError(r, /^error: outputDir: cannot create \/proc\/x\/run \(\/proc does not allow new folders\)$/);
});

test('an outputDir holding an earlier run: one line before any data is read or model built', () => {
  const out = join(dir, 'occupied');
  mkdirSync(join(out, 'checkpoint-3'), { recursive: true });
  const r = trainformer(['train', '--config', config(lm({ outputDir: out }))]);
  // the task line ("task lm: … parameters") and "training N steps" used to come first
  assertOneLineError(r, new RegExp(`^config error: outputDir: ${esc(out)} already holds checkpoint-3 from an earlier run; pass --resume`));
  assert.ok(existsSync(join(out, 'checkpoint-3')), 'the earlier run is left as it was');
});

test('a finished saveStrategy "no" run (final model, no checkpoint) is not trained over or "resumed" from step 0', () => {
  const out = join(dir, 'nosave');
  const cfg = config(lm({ outputDir: out, saveStrategy: 'no' }));
  assert.equal(trainformer(['train', '--config', cfg]).code, 0);
  const before = readFileSync(join(out, 'model.safetensors'));
  assertOneLineError(trainformer(['train', '--config', cfg]), new RegExp(`^config error: outputDir: ${esc(out)} already holds model\\.safetensors from an earlier run; pass --overwriteOutputDir true`));
  assertOneLineError(trainformer(['train', '--config', cfg, '--resume']), new RegExp(`^config error: --resume: ${esc(out)} holds a final model\\.safetensors but no checkpoint`));
  assert.deepEqual(readFileSync(join(out, 'model.safetensors')), before, 'the finished model is left as it was');
  assert.equal(trainformer(['train', '--config', cfg, '--overwriteOutputDir', 'true']).code, 0);
});

test('--resume with --overwriteOutputDir true is refused in one line naming both; the checkpoint is left as it was', () => {
  const out = join(dir, 'resume-overwrite');
  const cfg = config(lm({ outputDir: out, maxSteps: 2, saveSteps: 2 }));
  assert.equal(trainformer(['train', '--config', cfg]).code, 0);
  const names = readdirSync(out).sort();
  assertOneLineError(trainformer(['train', '--config', cfg, '--resume', '--overwriteOutputDir', 'true', '--maxSteps', '4']),
    /^config error: --resume and --overwriteOutputDir true are both given: .*choose one$/);
  assert.deepEqual(readdirSync(out).sort(), names, 'nothing trained, nothing deleted');
});

test('trainer_state.json = {}: resuming names the file and the field', () => {
  const out = join(dir, 'damaged');
  const cfg = config(lm({ outputDir: out, maxSteps: 2, saveSteps: 2 }));
  assert.equal(trainformer(['train', '--config', cfg]).code, 0);
  const ck = join(out, readdirSync(out).find((f) => f.startsWith('checkpoint-'))!);
  writeFileSync(join(ck, 'trainer_state.json'), '{}');
  assertErrorLine(trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '4']), new RegExp(`^error: ${esc(join(ck, 'trainer_state.json'))}: global_step is missing or not an integer$`));
});

test('a checkpoint without optimizer.safetensors: resuming says that file is missing', () => {
  const out = join(dir, 'no-optimizer');
  const cfg = config(lm({ outputDir: out, maxSteps: 2, saveSteps: 2 }));
  assert.equal(trainformer(['train', '--config', cfg]).code, 0);
  const ck = join(out, readdirSync(out).find((f) => f.startsWith('checkpoint-'))!);
  rmSync(join(ck, 'optimizer.safetensors'));
  assertErrorLine(trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '4']), new RegExp(`^error: --resume: ${esc(ck)} is incomplete: its optimizer\\.safetensors is missing; there is no earlier checkpoint in `));
});

test('an empty classification training file is blamed, not the validation file', () => {
  const train = join(dir, 'empty-train.jsonl');
  const val = join(dir, 'val.jsonl');
  writeFileSync(train, '');
  writeFileSync(val, '{"text": "fine", "label": "pos"}\n');
  const cfg = config({ task: 'classification', outputDir: join(dir, 'cls'), data: { train, validation: val }, model: { nLayer: 1, nHead: 2, nEmbd: 8 }, maxSteps: 1 });
  const r = trainformer(['train', '--config', cfg]);
  // The config file's line in front (the message names data.train itself).
  assertOneLineError(r, new RegExp(`^config error: ${esc(cfg)}:1: ${esc(train)}: no examples \\(data\\.train must hold `));
});

test('an hf tokenizer path to a JSON that is not a tokenizer: one line naming the field, its config line and the path', () => {
  const notTok = join(dir, 'not-a-tokenizer.json');
  writeFileSync(notTok, JSON.stringify({ hello: 'world' }));
  const cfg = config(lm({ data: { train: text, blockSize: 8, tokenizer: { type: 'hf', path: notTok } } }));
  const r = trainformer(['train', '--config', cfg]);
  assertOneLineError(r, new RegExp(`^config error: ${esc(cfg)}:\\d+: data\\.tokenizer\\.path: ${esc(notTok)}: field "model" is missing; this is not a Hugging Face tokenizer\\.json$`));
});

test('seq2seq with a char tokenizer without special tokens: one line naming the tokenizer field', () => {
  const pairs = join(dir, 'pairs.jsonl');
  writeFileSync(pairs, Array.from({ length: 8 }, (_, i) => JSON.stringify({ src: `hello ${i}`, tgt: `bonjour ${i}` })).join('\n') + '\n');
  mkdirSync(join(dir, 's2s'), { recursive: true });
  const r = trainformer(['train', '--config', config({ task: 'seq2seq', outputDir: join(dir, 's2s'), data: { train: pairs, validation: pairs, tokenizer: { type: 'char', specialTokens: false } }, model: { nLayer: 1, nHead: 2, nEmbd: 8 }, maxSteps: 1 })]);
  assertOneLineError(r, /^config error: data\.tokenizer: /);
});

test('generation.prompt: one the tokenizer cannot encode fails before training; the default one only skips the sample', () => {
  const flat = join(dir, 'no-newline.txt');
  writeFileSync(flat, 'abc abc abc '.repeat(40));
  const bad = trainformer(['train', '--config', config(lm({ data: { train: flat, blockSize: 8 }, generation: { prompt: 'xyz' } }))]);
  assertErrorLine(bad, /^config error: \S+:1: generation\.prompt: "xyz" cannot be encoded \(char tokenizer: character "x"/);
  assert.ok(!bad.stderr.includes('training 3 steps'), 'it failed before training');
  const ok = trainformer(['train', '--config', config(lm({ data: { train: flat, blockSize: 8 } }))]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /warning: no sample: char tokenizer: character "\\n"/);
  assert.match(ok.stdout, /trained 3 steps/);
});
