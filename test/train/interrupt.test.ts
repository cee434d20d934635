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
