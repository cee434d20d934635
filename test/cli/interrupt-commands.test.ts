/**
 * Ctrl-C in the commands that read a checkpoint: `eval` while the checkpoint loads, `generate`,
 * `predict` and `back-translate` (they took SIGINT with its default action: killed, no line), and a
 * training whose report cannot be written either (two lines: a warning, then the interruption).
 *
 * The child sends itself the SIGINT at a fixed point (test/util/sigint-at.ts: when model.safetensors
 * is opened, i.e. during loading; after the first stdout write; after a stderr line), so each case
 * is the same at every run. A command that did not listen is ended by the signal (`signal`
 * 'SIGINT', no line): each case fails that way on main 60cebdc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { backTranslate } from '../../src/cli/back-translate.js';
import { readParaphraseCache } from '../../src/data/paraphrase-cache.js';
import { cliPath } from './run-cli.js';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-interrupt-cmds-'));
const preload = (name: string) => pathToFileURL(resolve(cliPath, `../../../test/util/${name}.js`)).href;

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; errLines: string[] }

/** `trainformer ...args`, sending itself SIGINT at `at` (TF_TEST_SIGINT_AT); `env` adds variables (a full disk). */
function interrupted(args: string[], at: string, env: Record<string, string> = {}): Run {
  const preloads = ['--import', preload('sigint-at'), ...(env.TF_TEST_FULL_DISK ? ['--import', preload('full-disk')] : [])];
  const r = spawnSync(process.execPath, [...preloads, cliPath, ...args], {
    encoding: 'utf8', env: { ...process.env, TRAINFORMER_DEBUG: '', TF_TEST_SIGINT_AT: at, ...env }, timeout: HANG_GUARD_MS,
  });
  const errLines = (r.stderr ?? '').split('\n').filter((l) => l !== '' && !l.startsWith('trainformer: native backend'));
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', errLines };
}

/** Exit 130 (not ended by the signal) and exactly the stderr lines `lines`. */
function assertStopped(r: Run, lines: string[]): void {
  assert.equal(r.signal, null, `ended by ${r.signal} (the command did not catch Ctrl-C); stdout:\n${r.stdout}`);
  assert.equal(r.code, 130, `stdout:\n${r.stdout}\nstderr:\n${r.errLines.join('\n')}`);
  assert.deepEqual(r.errLines, lines);
}

const text = join(dir, 'text.txt');
writeFileSync(text, Array.from({ length: 200 }, (_, i) => `line ${i % 17}: the quick brown fox ${i % 3 ? 'jumps' : 'sleeps'} over the lazy dog.\n`).join(''));

async function trainLm(): Promise<string> {
  const outputDir = join(dir, 'lm');
  const config = parseConfig({
    task: 'lm', outputDir, seed: 3, data: { train: text, blockSize: 8, valFraction: 0.1 }, model: { nLayer: 1, nHead: 2, nEmbd: 16 },
    perDeviceTrainBatchSize: 4, maxSteps: 1, saveStrategy: 'no', disableTqdm: true,
  });
  await new Trainer({ config, task: await createTask(config) }).train();
  return outputDir;
}

async function trainSeq2seq(name: string, fields: Record<string, string>): Promise<string> {
  const outputDir = join(dir, name);
  const config = parseConfig({
    task: 'seq2seq', outputDir, seed: 1, model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }, perDeviceTrainBatchSize: 8, perDeviceEvalBatchSize: 2,
    maxSteps: 1, evalStrategy: 'no', saveStrategy: 'no', disableTqdm: true, generation: { maxNewTokens: 6 },
    data: { train: 'examples/data/eng_fra/train.jsonl', validation: 'examples/data/eng_fra/valid.jsonl', tokenizer: { type: 'word' }, limit: 16, maxLength: 12, maxTargetLength: 8, ...fields },
  });
  await new Trainer({ config, task: await createTask(config) }).train();
  return outputDir;
}

const lm = await trainLm();

test('eval: Ctrl-C while the checkpoint loads: exit 130, one line, nothing printed, --output not written', () => {
  const target = join(dir, 'eval.json');
  const r = interrupted(['eval', lm, '--output', target], 'open:model.safetensors');
  assertStopped(r, [`evaluation of ${lm} interrupted (Ctrl-C) while loading the checkpoint; nothing printed and ${target} not written`]);
  assert.equal(r.stdout, '');
  assert.equal(existsSync(target), false);
});

test('generate: Ctrl-C while the checkpoint loads prints nothing; during generation it ends the line and stops', () => {
  const loading = interrupted(['generate', lm, '--prompt', 'line', '--maxNewTokens', '5'], 'open:model.safetensors');
  assertStopped(loading, [`generation with ${lm} interrupted (Ctrl-C) while loading the checkpoint; nothing printed`]);
  assert.equal(loading.stdout, '');
  // The Ctrl-C comes with the prompt (the first write): seen at the first check, after 16 pieces.
  const r = interrupted(['generate', lm, '--prompt', 'line', '--maxNewTokens', '400', '--temperature', '1'], 'stdout');
  assertStopped(r, [`generation with ${lm} interrupted (Ctrl-C); the text printed is what it had generated`]);
  assert.ok(r.stdout.startsWith('line') && r.stdout.endsWith('\n'), JSON.stringify(r.stdout));
  // The character tokenizer of this run: one piece per token, the prompt then 16 of them.
  assert.equal(r.stdout.length, 'line'.length + 16 + 1, JSON.stringify(r.stdout));
});

test('predict (lm): Ctrl-C stops after the text under way; the lines printed stay and are counted', () => {
  const loading = interrupted(['predict', lm, '--text', 'a', 'b', 'c', '--maxNewTokens', '3'], 'open:model.safetensors');
  assertStopped(loading, [`prediction with ${lm} interrupted (Ctrl-C) before the first prediction: 0 of 3 lines printed`]);
  assert.equal(loading.stdout, '');
  const r = interrupted(['predict', lm, '--text', 'a', 'b', 'c', '--maxNewTokens', '3'], 'stdout');
  assertStopped(r, [`prediction with ${lm} interrupted (Ctrl-C): 1 of 3 lines printed`]);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { text: string });
  assert.deepEqual(lines.map((l) => l.text), ['a']);
});

test('predict (seq2seq) and back-translate: Ctrl-C while the runs load, and back-translate between its chunks', async () => {
  const fwd = await trainSeq2seq('eng-fra', {});
  const bwd = await trainSeq2seq('fra-eng', { srcField: 'tgt', tgtField: 'src' });
  const p = interrupted(['predict', fwd, '--text', 'I am cold.', 'He runs.'], 'open:model.safetensors');
  assertStopped(p, [`prediction with ${fwd} interrupted (Ctrl-C) before the first prediction: 0 of 2 lines printed`]);

  const data = join(dir, 'texts.jsonl');
  const texts = ['I am cold.', 'Let me pay for your coffee.', 'He runs.', 'I like tea.', 'We are late.'];
  writeFileSync(data, texts.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
  const cache = join(dir, 'bt.jsonl');
  const b = interrupted(['back-translate', '--forward', fwd, '--backward', bwd, '--data', data, '--output', cache], 'open:model.safetensors');
  assertStopped(b, [`back-translate interrupted (Ctrl-C) after 0 of 5 texts to translate; ${cache} not changed`]);
  assert.equal(existsSync(cache), false);

  // Stopped after the first chunk of 2 (the abort comes with its progress line): the cache keeps it, and
  // the same call again translates the 3 others only.
  const controller = new AbortController();
  const log: string[] = [];
  const a = await backTranslate(texts, { forward: fwd, backward: bwd, cache, chunkSize: 2, signal: controller.signal, log: (l) => { log.push(l); controller.abort(); } });
  assert.equal(log.length, 1);
  assert.deepEqual({ interrupted: a.interrupted, translated: a.translated, toTranslate: a.toTranslate }, { interrupted: true, translated: 2, toTranslate: 5 });
  assert.deepEqual((await readParaphraseCache(cache)).map((e) => e.text), texts.slice(0, 2));
  const rest = await backTranslate(texts, { forward: fwd, backward: bwd, cache });
  assert.deepEqual({ interrupted: rest.interrupted, reused: rest.reused, translated: rest.translated }, { interrupted: false, reused: 2, translated: 3 });
  assert.deepEqual(rest.entries.map((e) => e.text), texts);
  // The chunk kept is what an uninterrupted run gives (greedy decoding is deterministic).
  const whole = await backTranslate(texts, { forward: fwd, backward: bwd, cache: join(dir, 'bt-whole.jsonl') });
  assert.deepEqual(rest.entries, whole.entries);
});

test('train: Ctrl-C in a run whose report cannot be written ends in one line (was a warning line, then the interruption)', () => {
  const out = join(dir, 'report-full');
  const cfg = join(dir, 'report-full.json');
  writeFileSync(cfg, JSON.stringify({
    task: 'lm', outputDir: out, data: { train: text, blockSize: 8, valFraction: 0.1 }, model: { nLayer: 1, nHead: 2, nEmbd: 16 },
    perDeviceTrainBatchSize: 4, maxSteps: 50, loggingSteps: 1, disableTqdm: true,
  }));
  const r = interrupted(['train', '--config', cfg], 'stderr:step 1/50', { TF_TEST_FULL_DISK: 'report\\.html' });
  assert.equal(r.signal, null);
  assert.equal(r.code, 130, r.errLines.join('\n'));
  const report = join(out, 'report.html');
  assert.deepEqual(r.errLines.filter((l) => !/^(task lm:|training 50 steps|step \d+\/50)/.test(l)), [
    `training interrupted at step 1 of 50; step 1 is saved in ${join(out, 'checkpoint-1')} — continue with --resume; `
    + `report not written: cannot write ${report}: no space left on device (ENOSPC); the file is left as it was`,
  ]);
  assert.ok(existsSync(join(out, 'checkpoint-1', 'model.safetensors')));
  assert.equal(existsSync(report), false);
  assert.match(readFileSync(join(out, 'metrics.jsonl'), 'utf8'), /"event":"interrupted"/);
});

test('train: SIGTERM (docker stop, Slurm preemption) is taken as Ctrl-C: step saved, one line naming SIGTERM, exit 143, --resume continues', () => {
  const out = join(dir, 'sigterm');
  const cfg = join(dir, 'sigterm.json');
  writeFileSync(cfg, JSON.stringify({
    task: 'lm', outputDir: out, data: { train: text, blockSize: 8, valFraction: 0.1 }, model: { nLayer: 1, nHead: 2, nEmbd: 16 },
    perDeviceTrainBatchSize: 4, maxSteps: 6, loggingSteps: 1, saveSteps: 100, disableTqdm: true,
  }));
  // Before: ended by the signal (r.signal 'SIGTERM', no line, no checkpoint — saveSteps 100 never came).
  const r = interrupted(['train', '--config', cfg], 'stderr:step 2/6', { TF_TEST_SIGNAL: 'SIGTERM' });
  assert.equal(r.signal, null, 'ended by SIGTERM itself');
  assert.equal(r.code, 143, r.errLines.join('\n'));
  assert.deepEqual(r.errLines.filter((l) => !/^(task lm:|training 6 steps|step \d+\/6)/.test(l)), [
    `training stopped by SIGTERM at step 2 of 6; step 2 is saved in ${join(out, 'checkpoint-2')} — continue with --resume`,
  ]);
  assert.ok(existsSync(join(out, 'checkpoint-2', 'model.safetensors')));
  assert.equal(existsSync(join(out, 'model.safetensors')), false, 'no final model');
  assert.match(readFileSync(join(out, 'metrics.jsonl'), 'utf8'), /"event":"interrupted","step":2,"message":"training interrupted \(SIGTERM\)"/);
  const resumed = spawnSync(process.execPath, [cliPath, 'train', '--config', cfg, '--resume'], { encoding: 'utf8', timeout: HANG_GUARD_MS });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.ok(existsSync(join(out, 'checkpoint-6', 'model.safetensors')));
  assert.ok(existsSync(join(out, 'model.safetensors')));
});
