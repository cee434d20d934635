/**
 * The `trainformer` command as a user meets it: bad config values, missing files and malformed
 * JSONL lines end the command with ONE line on stderr naming the field or file:line, a non-zero exit
 * code and no stack trace; a tiny run prints its validation loss, a sample and the paths it wrote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, '../../src/cli/main.js'); // dist/test/cli → dist/src/cli/main.js
const dir = mkdtempSync(join(tmpdir(), 'tf-cli-'));

function trainformer(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, TRAINFORMER_DEBUG: '' }, timeout: HANG_GUARD_MS });
  // The backend notice ("native backend not built …") is informational, not part of the error.
  const errLines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('trainformer: native backend'));
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, errLines };
}

function assertOneLineError(r: ReturnType<typeof trainformer>, pattern: RegExp): void {
  assert.notEqual(r.code, 0);
  assert.equal(r.errLines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert.match(r.errLines[0], pattern);
  assert.ok(!/\n\s+at /.test(r.stderr), 'stderr holds a stack trace');
}

const text = join(dir, 'tiny.txt');
writeFileSync(text, 'to be or not to be, that is the question.\n'.repeat(40));

function writeConfig(name: string, cfg: Record<string, unknown>): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(cfg));
  return p;
}

const lmConfig = {
  task: 'lm', outputDir: join(dir, 'run'), seed: 1,
  data: { train: text, blockSize: 8 },
  model: { nLayer: 1, nHead: 2, nEmbd: 16 },
  learningRate: 1e-2, perDeviceTrainBatchSize: 4, maxSteps: 6, loggingSteps: 2, evalSteps: 3, saveSteps: 3,
  generation: { prompt: 'to ', maxNewTokens: 10 },
};

test('a bad config value: one line naming the field', () => {
  const r = trainformer('train', '--config', writeConfig('bad.json', { ...lmConfig, learningRate: -1 }));
  assertOneLineError(r, /^config error: \S+bad\.json:1: learningRate: must be > 0 \(got -1\)$/);
});

test('a bad value given as a CLI flag: one line naming the flag', () => {
  const r = trainformer('train', '--config', writeConfig('ok.json', lmConfig), '--data.blockSize', '0');
  assertOneLineError(r, /^config error: --data\.blockSize: must be >= 1 \(got 0\)$/);
});

test('an unknown field: one line naming it', () => {
  const r = trainformer('train', '--config', writeConfig('ok2.json', lmConfig), '--maxStep', '5');
  assertOneLineError(r, /^config error: --maxStep: unknown field \(did you mean --maxSteps\?\)$/);
});

test('a missing config file: one line naming the path', () => {
  const missing = join(dir, 'nope.json');
  const r = trainformer('train', '--config', missing);
  assertOneLineError(r, new RegExp(`${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file$`));
});

test('a missing data file: one line naming the field and the path', () => {
  const missing = join(dir, 'missing.txt');
  const r = trainformer('train', '--config', writeConfig('m.json', { ...lmConfig, data: { train: missing } }));
  assertOneLineError(r, /^config error: \S+m\.json:1: data\.train: .*missing\.txt: no such file$/);
});

test('a config that is not valid JSON: one line naming file:line:column', () => {
  // A trailing comma on line 3 (the fresh-user trial got "position 825" and no line).
  const p = join(dir, 'trailing.json');
  writeFileSync(p, '{\n  "task": "lm",\n  "seed": 1,\n}\n');
  const r = trainformer('train', '--config', p);
  assertOneLineError(r, /^config error: \S+trailing\.json:4:1: invalid JSON \(/);
});

test('a malformed JSONL line: one line naming file:line', () => {
  const jsonl = join(dir, 'cls.jsonl');
  writeFileSync(jsonl, '{"text": "hello there", "label": "a"}\n{"text": "general kenobi", "label": "b"}\n{"text": "oops"}\n');
  const cfg = { ...lmConfig, task: 'classification', data: { train: jsonl, tokenizer: { type: 'word' } } };
  const r = trainformer('train', '--config', writeConfig('cls.json', cfg));
  assertOneLineError(r, /^config error: \S+cls\.json:\d+: data\.train: .*cls\.jsonl:3: field "label" is missing$/);
  const bad = join(dir, 'cls2.jsonl');
  writeFileSync(bad, '{"text": "hello", "label": "a"}\n{"text": "x", "label": "b"\n');
  const r2 = trainformer('train', '--config', writeConfig('cls2.json', { ...cfg, data: { train: bad, tokenizer: { type: 'word' } } }));
  assertOneLineError(r2, /^config error: \S+cls2\.json:\d+: data\.train: .*cls2\.jsonl:2: invalid JSON/);
});

test('a run folder whose config no longer matches its weights is refused, not evaluated', () => {
  // The fresh-user trial: nLayer edited from 2 to 1 in the run's config, and eval gave a loss that
  // belonged to neither model (the second layer's tensors were silently dropped).
  const run = join(dir, 'run-edited');
  const r = trainformer('train', '--config', writeConfig('edited.json', { ...lmConfig, outputDir: run, model: { ...lmConfig.model, nLayer: 2 }, maxSteps: 2, evalSteps: 2, saveSteps: 2 }));
  assert.equal(r.code, 0, r.stderr);
  const cfgFile = join(run, 'trainformer_config.json');
  const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
  cfg.model.nLayer = 1;
  writeFileSync(cfgFile, JSON.stringify(cfg));
  const e = trainformer('eval', run);
  assertOneLineError(e, /model\.safetensors: holds tensor "\S+" and \d+ more that the model built from the run's config does not have/);
  assert.equal(e.stdout.includes('validation loss'), false);
});

test('a second training into a folder a live training holds is refused with one line, before any work', () => {
  // The fresh-user trial: two runs into one outputDir both exited 0, metrics.jsonl held every line
  // twice and the folder's config and weights came from different runs. A live process's lock file
  // stands in for the first run (src/train/run-lock.ts writes the same fields).
  const run = join(dir, 'run-busy');
  mkdirSync(run, { recursive: true });
  writeFileSync(join(run, 'trainformer.lock'), JSON.stringify({ pid: process.pid, hostname: hostname(), started: 'now' }));
  const r = trainformer('train', '--config', writeConfig('busy.json', { ...lmConfig, outputDir: run }));
  assertOneLineError(r, /^config error: outputDir: \S+run-busy is in use by another training \(process \d+ on \S+, since now\)/);
  assert.equal(r.stdout, '');
  assert.equal(existsSync(join(run, 'metrics.jsonl')), false);
});

test('train end to end: validation loss, sample, checkpoint, metrics and report paths; then eval and generate', () => {
  const cfgPath = writeConfig('run.json', lmConfig);
  const r = trainformer('train', '--config', cfgPath);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /validation loss \d+\.\d+ nats\/char/);
  assert.match(r.stdout, /sample:\nto /);
  assert.match(r.stdout, /checkpoint: .*checkpoint-6/);
  assert.match(r.stdout, /metrics: +.*metrics\.jsonl/);
  assert.match(r.stdout, /report: +.*report\.html/);
  // Not a terminal: progress comes as plain lines at each logging step (no control codes).
  assert.match(r.stderr, /^step 2\/6 \| loss \d+\.\d+ \| lr [\d.e-]+ \| \d+ tok\/s \| \d+s$/m);
  assert.ok(!r.stderr.includes('\x1b['), 'control codes in non-TTY output');
  const run = lmConfig.outputDir;
  for (const f of ['metrics.jsonl', 'report.html', 'loss.svg', 'trainformer_config.json', 'checkpoint-6/model.safetensors', 'checkpoint-6/optimizer.safetensors', 'checkpoint-6/trainer_state.json', 'checkpoint-6/trainformer_config.json', 'checkpoint-6/trainformer_tokenizer.json']) {
    assert.ok(existsSync(join(run, f)), `${f} missing`);
  }
  // trainformer's own files do not take Hugging Face's names (export --format hf writes those).
  for (const f of ['config.json', 'tokenizer.json', 'checkpoint-6/config.json', 'checkpoint-6/tokenizer.json']) assert.ok(!existsSync(join(run, f)), `${f} written`);
  // Scaling is off in the CLI (no fp16 yet): the GradScaler's value, 1, on every train line and in the checkpoint.
  const train = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.split === 'train');
  assert.ok(train.length >= 3 && train.every((l) => l.lossScale === 1), 'lossScale of the train lines');
  const state = JSON.parse(readFileSync(join(run, 'checkpoint-6/trainer_state.json'), 'utf8'));
  assert.equal(state.lossScale, 1);
  assert.equal(state.gradScaler.scale, 65536); // a disabled scaler keeps (and saves) its configured scale
  const e = trainformer('eval', run);
  assert.equal(e.code, 0, e.stderr);
  // The same weights on the same validation text: eval repeats the final evaluation's loss.
  const trained = Number(/validation loss (\d+\.\d+)/.exec(r.stdout)![1]);
  const evaluated = Number(/validation loss (\d+\.\d+)/.exec(e.stdout)![1]);
  assert.equal(evaluated, trained);
  const g = trainformer('generate', run, '--prompt', 'to be', '--maxNewTokens', '12', '--topK', '5', '--seed', '3');
  assert.equal(g.code, 0, g.stderr);
  assert.ok(g.stdout.startsWith('to be'));
  assert.equal(g.stdout.trimEnd().length, 'to be'.length + 12);
  const bad = trainformer('generate', run, '--temperature', 'hot');
  assertOneLineError(bad, /^config error: --temperature: must be a number \(got "hot"\)$/);
  // Out-of-range sampling flags and a prompt outside the vocabulary fail before the prompt is printed.
  // --topK 0 is no top-k filtering (Hugging Face top_k=0): the same draws as no --topK.
  const topK0 = trainformer('generate', run, '--prompt', 'to be', '--maxNewTokens', '12', '--topK', '0', '--seed', '3');
  assert.equal(topK0.code, 0, topK0.stderr);
  assert.equal(topK0.stdout, trainformer('generate', run, '--prompt', 'to be', '--maxNewTokens', '12', '--seed', '3').stdout);
  const topKNeg = trainformer('generate', run, '--prompt', 'to be', '--topK', '-1');
  assertOneLineError(topKNeg, /^config error: --topK: must be an integer >= 0, 0 for no top-k filtering \(got -1\)$/);
  assert.equal(topKNeg.stdout, '');
  const cold = trainformer('generate', run, '--prompt', 'to be', '--temperature', '-1');
  assertOneLineError(cold, /^config error: --temperature: must be a finite number > 0, or 0 for greedy decoding \(got -1\)$/);
  assert.equal(cold.stdout, '');
  const euro = trainformer('generate', run, '--prompt', 'to be €');
  assertOneLineError(euro, /^config error: --prompt: /);
  assert.equal(euro.stdout, '');
  const noFolder = trainformer('eval', run, '--output', join(dir, 'no-such-folder', 'm.json'));
  assertOneLineError(noFolder, /^config error: --output: .*no-such-folder: no such folder$/);
  const nothing = trainformer('eval', join(dir, 'no-run'));
  assertOneLineError(nothing, /no-run: no such run or checkpoint folder$/);
});
