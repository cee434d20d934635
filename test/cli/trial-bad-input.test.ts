/**
 * Bad input found by the fresh-user trial of the README, each now one line naming the argument or
 * field (and the file:line where a file set it), before any work: a transferBatchSize larger than
 * the transfer set (went to the OOM killer), --training-args errors blamed on --config, transferData
 * read against the working directory, missing data / --file / --resume paths, eval --data too short,
 * eval --output a folder, eval --data.blockSize past the model's positions, maxSteps 0, a field given
 * twice as flags, 1e400, objective {}; and the blockSizeWarmup-longer-than-the-run warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertErrorLine, assertOneLineError, trainformer } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-trial-'));
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const text = join(dir, 'text.txt');
writeFileSync(text, 'some training text that is long enough for a few blocks.\n'.repeat(20));
let n = 0;
function config(cfg: Record<string, unknown>, at = dir): string {
  const p = join(at, `c${n++}.json`);
  writeFileSync(p, JSON.stringify(cfg, null, 2));
  return p;
}
const lm = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  task: 'lm', outputDir: join(dir, `run${n}`), data: { train: text, blockSize: 8 }, model: { nLayer: 1, nHead: 2, nEmbd: 8 },
  perDeviceTrainBatchSize: 2, maxSteps: 2, evalSteps: 1, disableTqdm: true, ...extra,
});

// A classification config in its own folder, with a transfer set beside it (paths relative to that folder).
const sub = join(dir, 'cfgdir');
mkdirSync(sub);
const lines = (k: number, label = true) => Array.from({ length: k }, (_, i) => JSON.stringify(label ? { text: `text number ${i % 7} here`, label: i % 2 ? 'a' : 'b' } : { text: `unlabelled ${i}` })).join('\n') + '\n';
writeFileSync(join(sub, 'train.jsonl'), lines(20));
writeFileSync(join(sub, 'transfer.jsonl'), lines(5, false));
const cls = (distillation: Record<string, unknown>): Record<string, unknown> => ({
  task: 'classification', outputDir: join(dir, `cls${n}`), data: { train: 'train.jsonl', validation: 'train.jsonl', tokenizer: { type: 'word' }, maxLength: 8 },
  model: { nLayer: 1, nHead: 2, nEmbd: 8 }, perDeviceTrainBatchSize: 4, maxSteps: 1, disableTqdm: true,
  distillation: { teacher: join(dir, 'no-teacher-needed-before-this'), ...distillation },
});

test('transferBatchSize above the number of transfer texts: one line naming the field, the config file and its line', () => {
  // transferData is read against the config's folder (as data.train), not the working directory (dir).
  const p = config(cls({ transferData: 'transfer.jsonl', transferBatchSize: 100000 }), sub);
  const r = trainformer(['train', '--config', p], { cwd: dir });
  assertErrorLine(r, new RegExp(`^config error: ${esc(p)}:\\d+: distillation\\.transferBatchSize: 100000 is more than the 5 transfer texts of ${esc(join(sub, 'transfer.jsonl'))}; give at most 5`));
});

test('a missing transferData or data.train file names the field, the resolved path and the config line', () => {
  const p = config(cls({ transferData: 'nowhere.jsonl' }), sub);
  assertOneLineError(trainformer(['train', '--config', p], { cwd: dir }),
    new RegExp(`^config error: ${esc(p)}:\\d+: distillation\\.transferData: ${esc(join(sub, 'nowhere.jsonl'))}: no such file$`));
  const q = config(lm({ data: { train: 'missing.txt', blockSize: 8 } }), sub);
  assertOneLineError(trainformer(['train', '--config', q], { cwd: dir }), new RegExp(`^config error: ${esc(q)}:5: data\\.train: ${esc(join(sub, 'missing.txt'))}: no such file$`));
});

test('--training-args: its errors name training_args.json and its line, not the --config file', () => {
  const ta = join(dir, 'ta.json');
  writeFileSync(ta, '{\n  "output_dir": "x",\n  "learning_rate": "abc"\n}\n');
  assertOneLineError(trainformer(['train', '--config', config(lm()), '--training-args', ta]), new RegExp(`^config error: ${esc(ta)}:3: learningRate: must be a number \\(got "abc"\\)$`));
});

test('maxSteps 0, a field given twice as flags, and 1e400: one line each', () => {
  const p = config(lm());
  assertOneLineError(trainformer(['train', '--config', p, '--maxSteps', '0']), /^config error: --maxSteps: must be > 0, or -1 \(the default\) to train numTrainEpochs epochs \(got 0/);
  assertOneLineError(trainformer(['train', '--config', p, '--learning_rate', '0.1', '--learningRate', '0.2']), /^config error: --learningRate: given twice \(--learning_rate and --learningRate\); give it once$/);
  assertOneLineError(trainformer(['train', '--config', p, '--learningRate', '1e400']), /^config error: --learningRate: 1e400 is not a finite number \(it overflows to Infinity\)$/);
  const inf = join(dir, 'inf.json');
  writeFileSync(inf, JSON.stringify(lm(), null, 2).replace('"maxSteps": 2', '"maxSteps": 2,\n  "learningRate": 1e400'));
  assertOneLineError(trainformer(['train', '--config', inf]), new RegExp(`^config error: ${esc(inf)}:\\d+: learningRate: must be a finite number \\(got Infinity\\)$`));
});

test('objective {} names the config line; a non-object objective says "object"', () => {
  const p = config(lm({ objective: {} }));
  assertOneLineError(trainformer(['train', '--config', p]), new RegExp(`^config error: ${esc(p)}:\\d+: objective: needs at least one term with a weight > 0, e\\.g\\. \\{ "ce": 1 \\} \\(got \\{\\}\\)$`));
  assertOneLineError(trainformer(['train', '--config', config(lm({ objective: [] }))]), /^config error: \S+:\d+: objective: must be an object \(got \[\]\)$/);
});

test('data.blockSizeWarmup.batches beyond the run: one warning naming the field', () => {
  const r = trainformer(['train', '--config', config(lm({ data: { train: text, blockSize: 8, blockSizeWarmup: { start: 4, batches: 100 } } }))]);
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.errLines.filter((l) => l.startsWith('warning: data.blockSizeWarmup'));
  assert.deepEqual(warnings, ['warning: data.blockSizeWarmup.batches: 100 is more than the 2 training batches of this run (2 steps × gradientAccumulationSteps 1); its blocks never reach data.blockSize 8']);
});

test('--resume, predict --file, eval --data / --output / --data.blockSize: one line naming the flag, before any work', () => {
  const run = join(dir, 'lm-run');
  assert.equal(trainformer(['train', '--config', config(lm({ outputDir: run }))]).code, 0);
  const r = trainformer(['train', '--config', config(lm()), '--resume', join(dir, 'nope')]);
  // the task and "training N steps" lines used to come first
  assertOneLineError(r, new RegExp(`^config error: --resume: ${esc(join(dir, 'nope'))}: no such checkpoint folder$`));
  assertOneLineError(trainformer(['predict', run, '--file', join(dir, 'nope.jsonl')]), new RegExp(`^config error: --file: ${esc(join(dir, 'nope.jsonl'))}: no such file$`));
  const short = join(dir, 'short.txt');
  writeFileSync(short, 'some');
  assertOneLineError(trainformer(['eval', run, '--data', short]), new RegExp(`^config error: --data: the validation text \\(${esc(short)}\\) has 4 tokens; data\\.blockSize 8 needs at least 9$`));
  const out = trainformer(['eval', run, '--output', dir]);
  assertOneLineError(out, new RegExp(`^config error: --output: ${esc(dir)} is a folder; give a file to write`));
  assert.equal(out.stdout, '', 'nothing evaluated');
  assertOneLineError(trainformer(['eval', run, '--data.blockSize', '100000']), /^config error: --data\.blockSize: 100000 is more than the 8 positions of the model in \S+ \(trained with data\.blockSize 8\)$/);
  // A shorter block than the model's still evaluates (the position table keeps its trained size).
  const ok = trainformer(['eval', run, '--data.blockSize', '4']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /validation loss \d/);
});

test('data.blockSizeWarmup: an unknown key with nothing close names the block\'s fields; a block made by flags alone gets no file line', () => {
  const p = config(lm());
  assertOneLineError(trainformer(['train', '--config', p, '--data.blockSizeWarmup.steps', '10']),
    /^config error: --data\.blockSizeWarmup\.steps: unknown field \(data\.blockSizeWarmup has start, batches\)$/);
  // start is missing from a block only the flag wrote: the file's "data" line used to be blamed.
  assertOneLineError(trainformer(['train', '--config', p, '--data.blockSizeWarmup.batches', '10']), /^config error: data\.blockSizeWarmup\.start: is required \(number\)$/);
  const q = config(lm({ data: { train: text, blockSize: 8, blockSizeWarmup: { batches: 10 } } }));
  assertOneLineError(trainformer(['train', '--config', q]), new RegExp(`^config error: ${esc(q)}:\\d+: data\\.blockSizeWarmup\\.start: is required \\(number\\)$`));
});

test('eval --output where it cannot be written (trial s9 F10): one line naming --output and why, before evaluating', () => {
  const run = join(dir, 'lm-run-out');
  assert.equal(trainformer(['train', '--config', config(lm({ outputDir: run }))]).code, 0);
  // Missing parent folder and a parent that is a regular file: said before evaluating.
  const missing = join(dir, 'no-such-folder', 'm.json');
  const a = trainformer(['eval', run, '--output', missing]);
  assertOneLineError(a, new RegExp(`^config error: --output: ${esc(join(dir, 'no-such-folder'))}: no such folder$`));
  assert.equal(a.stdout, '', 'nothing evaluated');
  const b = trainformer(['eval', run, '--output', join(text, 'm.json')]);
  assertOneLineError(b, new RegExp(`^config error: --output: ${esc(join(text, 'm.json'))}: ${esc(text)} is a file, not a folder$`));
  assert.equal(b.stdout, '', 'nothing evaluated');
  // A folder that refuses writing even to root (access(W_OK) on /proc/self is EPERM): before evaluating,
  // in words, no temporary file named.
  const c = trainformer(['eval', run, '--output', '/proc/self/m.json']);
  assertOneLineError(c, /^config error: --output: \/proc\/self\/m\.json: cannot write in \/proc\/self: operation not permitted \(EPERM\)$/);
  assert.equal(c.stdout, '', 'nothing evaluated');
  // /proc passes access(W_OK) for root but refuses new files: the late failure names --output, not the
  // atomic writer's temporary file, and says the metrics were printed.
  const d = trainformer(['eval', run, '--output', '/proc/m.json']);
  assertOneLineError(d, /^error: --output: \/proc\/m\.json: cannot write: .+ \([A-Z]+\); the metrics are printed above$/);
  assert.doesNotMatch(d.stderr, /\.tmp/);
  assert.match(d.stdout, /validation loss \d/);
});

test('a flag misspelt or given no value (trial s9 F14): named as the flag, with --, and "needs a value"', () => {
  const p = config(lm());
  // Was `learningRat: unknown field (did you mean learningRate?)`: no -- on either.
  assertOneLineError(trainformer(['train', '--config', p, '--learningRat', '0.1']), /^config error: --learningRat: unknown field \(did you mean --learningRate\?\)$/);
  assertOneLineError(trainformer(['train', '--config', p, '--learning_rat', '0.1']), /^config error: --learning_rat: unknown field \(did you mean --learningRate\?\)$/);
  assertOneLineError(trainformer(['train', '--config', p, '--data.blockSiz', '4']), /^config error: --data\.blockSiz: unknown field \(did you mean --data\.blockSize\?\)$/);
  // Was `--learningRate: must be a number (got true)`: the true was not typed.
  assertOneLineError(trainformer(['train', '--config', p, '--learningRate']), /^config error: --learningRate: needs a value \(a number\)$/);
  assertOneLineError(trainformer(['train', '--config', p, '--learningRate', '--maxSteps', '1']), /^config error: --learningRate: needs a value \(a number\)$/);
  // A typed true is a value: the message says what it got.
  assertOneLineError(trainformer(['train', '--config', p, '--learningRate', 'true']), /^config error: --learningRate: must be a number \(got true\)$/);
  // A field in the config file keeps its file:line and no --.
  const q = config({ ...lm(), learningRat: 0.1 });
  assertOneLineError(trainformer(['train', '--config', q]), new RegExp(`^config error: ${esc(q)}:\\d+: learningRat: unknown field \\(did you mean learningRate\\?\\)$`));
});
