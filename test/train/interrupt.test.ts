/**
 * Ctrl-C (fresh-user trial: `trainformer train` exited 130 in silence, its lock left behind). The
 * Trainer stops between steps when its signal is aborted, saves the step it reached, and a resume
 * from that checkpoint ends with the parameters and metrics lines of a run never stopped. The CLI
 * turns SIGINT into that: one line naming the step and the checkpoint, exit 130, lock released.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { withoutTiming } from '../../src/train/metrics.js';
import { RUN_LOCK_FILE } from '../../src/train/run-lock.js';
import type { TrainerCallback } from '../../src/train/callbacks.js';
import { cliPath } from '../cli/run-cli.js';
import { interruptedLine } from '../../src/cli/interrupt.js';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-interrupt-'));
const text = join(dir, 'text.txt');
writeFileSync(text, Array.from({ length: 200 }, (_, i) => `line ${i % 17}: the quick brown fox ${i % 3 ? 'jumps' : 'sleeps'} over the lazy dog.\n`).join(''));
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const lm = (outputDir: string, extra: Record<string, unknown> = {}) => ({
  task: 'lm', outputDir, seed: 7, data: { train: text, blockSize: 8, valFraction: 0.1 },
  model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0.1 }, learningRate: 3e-3, lrSchedulerType: 'cosine', warmupSteps: 2,
  perDeviceTrainBatchSize: 4, perDeviceEvalBatchSize: 8, maxSteps: 8, loggingSteps: 2, evalSteps: 4, maxEvalBatches: 2, saveSteps: 100, disableTqdm: true, ...extra,
});

async function run(outputDir: string, opts: { abortAtStep?: number; resume?: boolean } = {}) {
  const config = parseConfig(lm(outputDir));
  const controller = new AbortController();
  // Aborted as the CLI's SIGINT handler does: during a step, seen when the step has ended.
  const at: TrainerCallback = { onStepEnd: (_t, info) => { if (info.step === opts.abortAtStep) controller.abort(); } };
  return new Trainer({ config, task: await createTask(config), resume: opts.resume, callbacks: [at], signal: controller.signal }).train();
}

const trainLines = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => withoutTiming(JSON.parse(l)));

test('an aborted Trainer saves the step it reached; resuming from it equals never stopping, bit for bit', async () => {
  const straight = join(dir, 'straight'), stopped = join(dir, 'stopped');
  await run(straight);
  // Step 3: inside a logging window (loggingSteps 2) and off every save and evaluation step.
  const r = await run(stopped, { abortAtStep: 3 });
  assert.equal(r.interrupted, true);
  assert.equal(r.step, 3);
  assert.equal(r.finalMetrics, null);
  assert.equal(r.checkpoint, join(stopped, 'checkpoint-3'));
  assert.ok(existsSync(join(stopped, 'checkpoint-3', 'trainer_state.json')));
  assert.equal(existsSync(join(stopped, 'model.safetensors')), false, 'no final model for an interrupted run');
  assert.equal(existsSync(join(stopped, RUN_LOCK_FILE)), false, 'the lock is released');
  assert.deepEqual(trainLines(stopped).at(-1), { event: 'interrupted', step: 3, message: 'training interrupted (Ctrl-C)' });
  const b = await run(stopped, { resume: true });
  assert.equal(b.interrupted, false);
  assert.equal(b.step, 8);
  assert.deepEqual(readFileSync(join(stopped, 'model.safetensors')), readFileSync(join(straight, 'model.safetensors')));
  assert.deepEqual(trainLines(stopped), trainLines(straight));
});

test('Ctrl-C during `trainformer train`: one line naming the step and its checkpoint, exit 130, lock released', async () => {
  const out = join(dir, 'cli');
  const cfg = join(dir, 'cli.json');
  writeFileSync(cfg, JSON.stringify(lm(out, { maxSteps: 1_000_000, saveSteps: 1_000_000, evalSteps: 1_000_000 })));
  const child = spawn(process.execPath, [cliPath, 'train', '--config', cfg], { env: { ...process.env, TRAINFORMER_DEBUG: '' } });
  // A hang guard only (the run would train a million steps): no assertion depends on time.
  const guard = setTimeout(() => child.kill('SIGKILL'), HANG_GUARD_MS);
  let err = '', sent = false;
  child.stdout.resume();
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    // Progress lines ("step 2/1000000 | loss …") mean the loop runs: interrupt it then.
    if (!sent && /^step \d+\//m.test(err)) { sent = true; child.kill('SIGINT'); }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('exit', (c, s) => res([c, s])));
  clearTimeout(guard);
  assert.equal(signal, null, `ended by ${signal}; stderr:\n${err}`);
  assert.equal(code, 130, err);
  const last = err.trim().split('\n').at(-1)!;
  const m = new RegExp(`^training interrupted at step (\\d+) of 1000000; step (\\d+) is saved in ${esc(join(out, 'checkpoint-'))}(\\d+) — continue with --resume$`).exec(last);
  assert.ok(m, last);
  assert.ok(m[1] === m[2] && m[2] === m[3], last);
  const state = JSON.parse(readFileSync(join(out, `checkpoint-${m[1]}`, 'trainer_state.json'), 'utf8')) as { global_step: number };
  assert.equal(state.global_step, Number(m[1]));
  assert.equal(existsSync(join(out, RUN_LOCK_FILE)), false, 'the lock is released');
  assert.ok(!/\n\s+at /.test(err), 'no stack trace');
});

/**
 * A run whose signal is aborted after the first batch of the evaluation at step `evalAt` (a
 * Ctrl-C during an evaluation: the trial's final evaluation went on for 36 s and exited 0).
 */
async function runAbortedInEvaluation(outputDir: string, evalAt: number) {
  const config = parseConfig(lm(outputDir, { perDeviceEvalBatchSize: 1, maxEvalBatches: 50 }));
  const controller = new AbortController();
  const task = await createTask(config);
  const steps = task.evaluateSteps!.bind(task);
  let step = 0, batches = 0;
  task.evaluateSteps = function* (maxBatches?: number) {
    const inner = steps(maxBatches);
    for (;;) {
      const r = inner.next();
      if (r.done) return r.value;
      batches++;
      if (step === evalAt) controller.abort();
      yield;
    }
  };
  const at: TrainerCallback = { onStepEnd: (_t, info) => { step = info.step; } };
  const r = await new Trainer({ config, task, callbacks: [at], signal: controller.signal }).train();
  return { r, batches };
}

test('Ctrl-C during the final evaluation stops it after the batch under way: step saved, no final model, no eval line', async () => {
  const out = join(dir, 'final-eval');
  const { r, batches } = await runAbortedInEvaluation(out, 8);
  assert.equal(r.interrupted, true);
  assert.equal(r.interruptedDuring, 'final evaluation');
  assert.equal(r.step, 8);
  assert.equal(r.finalMetrics, null);
  assert.equal(r.checkpoint, join(out, 'checkpoint-8'));
  assert.ok(existsSync(join(out, 'checkpoint-8', 'trainer_state.json')));
  assert.equal(existsSync(join(out, 'model.safetensors')), false);
  // Batches seen: the whole evaluation at step 4 (maxEvalBatches 50 of batch 1), then the first final one.
  const lines = trainLines(out);
  assert.deepEqual(lines.at(-1), { event: 'interrupted', step: 8, message: 'training interrupted (Ctrl-C) during the final evaluation' });
  assert.equal(lines.filter((l) => l.split === 'eval' && l.step === 8).length, 0, 'no eval line for the abandoned evaluation');
  assert.equal(lines.filter((l) => l.split === 'eval' && l.step === 4).length, 1);
  const evalAt4 = lines.find((l) => l.split === 'eval' && l.step === 4)!;
  assert.ok(batches === Number(evalAt4.evalTokens) / 8 + 1, `batches ${batches}`);
});

test('Ctrl-C during an evaluation inside training saves that step and says to continue with --resume', async () => {
  const out = join(dir, 'mid-eval');
  const { r } = await runAbortedInEvaluation(out, 4);
  assert.equal(r.interrupted, true);
  assert.equal(r.interruptedDuring, 'evaluation');
  assert.equal(r.step, 4);
  assert.equal(r.checkpoint, join(out, 'checkpoint-4'));
  assert.equal(trainLines(out).filter((l) => l.split === 'eval').length, 0);
  assert.match(interruptedLine(r, 'steps'), new RegExp(`^training interrupted at step 4 of 8 during the evaluation; step 4 is saved in ${esc(join(out, 'checkpoint-4'))} — continue with --resume$`));
});

test('Ctrl-C during the final evaluation of `trainformer train`: one line pointing at `trainformer eval`, exit 130', async () => {
  const out = join(dir, 'cli-final');
  const cfg = join(dir, 'cli-final.json');
  // A long final evaluation (batch 1 over half the text), the trial's command.
  const big = join(dir, 'big.txt');
  writeFileSync(big, readFileSync(text, 'utf8').repeat(60));
  writeFileSync(cfg, JSON.stringify(lm(out, { data: { train: big, blockSize: 8, valFraction: 0.5 }, maxSteps: 5, evalSteps: 5, loggingSteps: 5, perDeviceEvalBatchSize: 1 })));
  const child = spawn(process.execPath, [cliPath, 'train', '--config', cfg], { env: { ...process.env, TRAINFORMER_DEBUG: '' } });
  const guard = setTimeout(() => child.kill('SIGKILL'), HANG_GUARD_MS);
  let err = '', outText = '', sent = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => { outText += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    // The step-5 line is the last step's log: the final evaluation starts after it.
    if (!sent && /^step 5\/5 /m.test(err)) { sent = true; child.kill('SIGINT'); }
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('exit', (c, s) => res([c, s])));
  clearTimeout(guard);
  assert.equal(signal, null, `ended by ${signal}; stderr:\n${err}`);
  assert.equal(code, 130, `stdout:\n${outText}\nstderr:\n${err}`);
  const ck = join(out, 'checkpoint-5');
  assert.equal(err.trim().split('\n').at(-1), `training interrupted at step 5 of 5 during the final evaluation; step 5 is saved in ${ck} — evaluate it with \`trainformer eval ${ck}\``);
  assert.equal(outText.includes('validation'), false, 'no results printed');
  assert.equal(existsSync(join(out, RUN_LOCK_FILE)), false, 'the lock is released');
});
