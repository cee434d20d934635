/**
 * Ctrl-C during the evaluations that still ran in one piece after dd96ca2: extractive QA's, the
 * library Trainer's (datasets given by the user), seq2seq's greedy translations at the end of its
 * evaluation, loadBestModelAtEnd's evaluation of the best checkpoint, and `trainformer eval` (it
 * took SIGINT with the default action: killed, no line). Each now stops at the next batch boundary:
 * the Trainer returns `interrupted` (exit 130 and one line in the CLI), nothing of the abandoned
 * evaluation is logged or written.
 *
 * The abort comes from a wrapper around the task's own evaluateSteps that counts the batches it
 * yields (a Ctrl-C arriving during a batch), so each test also shows that the evaluation yielded
 * between batches instead of running to its end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTask } from '../../src/tasks/index.js';
import type { EvalMetrics, Task } from '../../src/tasks/types.js';
import type { Seq2SeqTask } from '../../src/tasks/seq2seq.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { withoutTiming } from '../../src/train/metrics.js';
import { interruptedLine } from '../../src/cli/interrupt.js';
import { GPT } from '../../src/models/gpt.js';
import { cliPath, trainformer } from '../cli/run-cli.js';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-interrupt-evals-'));
const text = join(dir, 'text.txt');
writeFileSync(text, Array.from({ length: 200 }, (_, i) => `line ${i % 17}: the quick brown fox ${i % 3 ? 'jumps' : 'sleeps'} over the lazy dog.\n`).join(''));
const lines = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => withoutTiming(JSON.parse(l)));

/**
 * Replaces `task.evaluateSteps` by a wrapper that counts each evaluation's batches (evaluation 1,
 * 2, … of the run) and aborts `controller` at batch `atBatch` of evaluation `atEval`; `metrics`
 * may replace an evaluation's result (to choose which checkpoint is the best).
 */
function abortDuringEvaluation(task: Task, controller: AbortController, atEval: number, atBatch: number,
  metrics: (evalNo: number, m: EvalMetrics) => EvalMetrics = (_n, m) => m): { evaluations: number[] } {
  assert.equal(typeof task.evaluateSteps, 'function', `the ${task.name} task evaluates in one piece (no evaluateSteps)`);
  const steps = task.evaluateSteps!.bind(task);
  const seen = { evaluations: [] as number[] };
  task.evaluateSteps = function* (maxBatches?: number) {
    const evalNo = seen.evaluations.push(0);
    const inner = steps(maxBatches);
    for (;;) {
      const r = inner.next();
      if (r.done) return metrics(evalNo, r.value);
      seen.evaluations[evalNo - 1]++;
      if (evalNo === atEval && seen.evaluations[evalNo - 1] === atBatch) controller.abort();
      yield;
    }
  };
  return seen;
}

test('extractive QA: Ctrl-C during the final evaluation stops after the batch under way', async () => {
  const out = join(dir, 'qa');
  const config = parseConfig({
    task: 'extractive-qa', outputDir: out, seed: 5, model: { nLayer: 1, nHead: 2, nEmbd: 16 }, perDeviceTrainBatchSize: 4,
    perDeviceEvalBatchSize: 2, maxSteps: 2, evalSteps: 100, saveSteps: 100, disableTqdm: true,
    data: { train: 'examples/data/squad/train.jsonl', validation: 'examples/data/squad/valid.jsonl', tokenizer: { type: 'word' }, limit: 24, maxLength: 96 },
  });
  const task = await createTask(config);
  const controller = new AbortController();
  const seen = abortDuringEvaluation(task, controller, 1, 1);
  const r = await new Trainer({ config, task, signal: controller.signal }).train();
  assert.equal(r.interrupted, true);
  assert.equal(r.interruptedDuring, 'final evaluation');
  assert.deepEqual(seen.evaluations, [1], 'one batch of the final evaluation, then stopped');
  assert.equal(r.checkpoint, join(out, 'checkpoint-2'));
  assert.equal(existsSync(join(out, 'model.safetensors')), false, 'no final model');
  assert.equal(lines(out).filter((l) => l.split === 'eval').length, 0, 'no eval line');
  assert.deepEqual((task as unknown as { lastSamples: unknown[] }).lastSamples, [], 'no samples of the abandoned evaluation');
});

test('seq2seq: Ctrl-C during the greedy translations at the end of the evaluation stops after the batch under way', async () => {
  const out = join(dir, 's2s');
  const config = parseConfig({
    task: 'seq2seq', outputDir: out, seed: 5, model: { nLayer: 1, nHead: 2, nEmbd: 16 }, perDeviceTrainBatchSize: 8,
    perDeviceEvalBatchSize: 4, maxSteps: 2, evalSteps: 100, saveSteps: 100, disableTqdm: true,
    data: { train: 'examples/data/eng_fra/train.jsonl', validation: 'examples/data/eng_fra/valid.jsonl', tokenizer: { type: 'word' }, limit: 24, maxLength: 12, maxTargetLength: 12 },
  });
  const task = (await createTask(config)) as Seq2SeqTask;
  const lossBatches = Math.ceil(task.valSet.length / 4);
  assert.ok(lossBatches >= 2);
  const controller = new AbortController();
  // The first batch after the loss batches is the first batch of translations.
  const seen = abortDuringEvaluation(task, controller, 1, lossBatches + 1);
  const r = await new Trainer({ config, task, signal: controller.signal }).train();
  assert.equal(r.interrupted, true, 'the translations ran to their end');
  assert.equal(r.interruptedDuring, 'final evaluation');
  assert.deepEqual(seen.evaluations, [lossBatches + 1]);
  assert.deepEqual(task.lastSamples, [], 'no samples of the abandoned evaluation');
  assert.equal(existsSync(join(out, 'model.safetensors')), false);
});

test('library Trainer with user datasets: Ctrl-C during the final evaluation stops after the batch under way', async () => {
  const out = join(dir, 'library');
  const model = new GPT({ vocabSize: 16, nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 8, seed: 3 });
  const ex = (n: number) => Array.from({ length: n }, (_, i) => ({ inputIds: Array.from({ length: 8 }, (_, j) => (i + j) % 16) }));
  const trainer = new Trainer({ model, args: { outputDir: out, max_steps: 2, per_device_train_batch_size: 4, per_device_eval_batch_size: 2, seed: 1 }, trainDataset: ex(16), evalDataset: ex(12) });
  const controller = new AbortController();
  const seen = abortDuringEvaluation(trainer.task, controller, 1, 2);
  trainer.stopOn(controller.signal);
  const r = await trainer.train();
  assert.equal(r.interrupted, true);
  assert.equal(r.interruptedDuring, 'final evaluation');
  assert.deepEqual(seen.evaluations, [2], 'two of the six batches, then stopped');
  assert.equal(r.finalMetrics, null);
  assert.equal(existsSync(join(out, 'model.safetensors')), false);
});

test('loadBestModelAtEnd: Ctrl-C while the best checkpoint is evaluated; the last checkpoint keeps its own weights', async () => {
  const out = join(dir, 'best');
  const config = parseConfig({
    task: 'lm', outputDir: out, seed: 7, data: { train: text, blockSize: 8, valFraction: 0.1 }, model: { nLayer: 1, nHead: 2, nEmbd: 16 },
    learningRate: 3e-3, perDeviceTrainBatchSize: 4, perDeviceEvalBatchSize: 2, maxSteps: 8, evalSteps: 4, saveSteps: 4, loggingSteps: 4,
    loadBestModelAtEnd: true, disableTqdm: true,
  });
  const task = await createTask(config);
  const controller = new AbortController();
  // The evaluation at step 4 is made the best (loss 0), the final one at step 8 worse: the third
  // evaluation is the best checkpoint's, after its weights are loaded.
  const seen = abortDuringEvaluation(task, controller, 3, 1, (n, m) => (n === 1 ? { ...m, loss: 0 } : n === 2 ? { ...m, loss: 5 } : m));
  const r = await new Trainer({ config, task, signal: controller.signal }).train();
  assert.equal(seen.evaluations.length, 3);
  assert.equal(seen.evaluations[2], 1, 'one batch of the best model\'s evaluation');
  assert.equal(r.interrupted, true, 'the best model\'s evaluation ran to its end');
  assert.equal(r.interruptedDuring, 'evaluation of the best model');
  assert.equal(r.checkpoint, join(out, 'checkpoint-8'));
  assert.equal(r.bestCheckpoint, join(out, 'checkpoint-4'));
  assert.equal(existsSync(join(out, 'model.safetensors')), false, 'no final model');
  // checkpoint-8 was saved before the best weights were loaded, and not again after.
  assert.notDeepEqual(readFileSync(join(out, 'checkpoint-8', 'model.safetensors')), readFileSync(join(out, 'checkpoint-4', 'model.safetensors')));
  assert.deepEqual(lines(out).at(-1), { event: 'interrupted', step: 8, message: 'training interrupted (Ctrl-C) during the evaluation of the best model' });
  assert.equal(lines(out).filter((l) => l.bestModel === true).length, 0, 'no eval line of the abandoned evaluation');
  assert.equal(interruptedLine(r, 'steps'), `training interrupted at step 8 of 8 during the evaluation of the best model; step 8 is saved in ${join(out, 'checkpoint-8')} — evaluate the best model with \`trainformer eval ${join(out, 'checkpoint-4')}\``);
});

test('Ctrl-C during `trainformer eval`: exit 130, one line, nothing printed, --output not written', async () => {
  const out = join(dir, 'eval-run');
  const cfg = join(dir, 'eval-run.json');
  writeFileSync(cfg, JSON.stringify({
    task: 'lm', outputDir: out, data: { train: text, blockSize: 8, valFraction: 0.1 }, model: { nLayer: 1, nHead: 2, nEmbd: 16 },
    perDeviceTrainBatchSize: 4, maxSteps: 1, disableTqdm: true,
  }));
  assert.equal(trainformer(['train', '--config', cfg]).code, 0);
  // A long evaluation: batch 1 over a big text.
  const big = join(dir, 'big.txt');
  writeFileSync(big, readFileSync(text, 'utf8').repeat(40));
  const target = join(dir, 'eval.json');
  // The Ctrl-C comes 10 turns of the event loop after the weights are opened: past the check after
  // loading (eval listens from its start since the loading case, test/cli/interrupt-commands.test.ts),
  // within the evaluation's batches (each a turn). Sent from outside once the listener was added, it
  // now arrives while the checkpoint loads.
  const preload = pathToFileURL(resolve(cliPath, '../../../test/util/sigint-at.js')).href;
  const child = spawn(process.execPath, ['--import', preload, cliPath, 'eval', out, '--data', big, '--perDeviceEvalBatchSize', '1', '--output', target],
    { env: { ...process.env, TRAINFORMER_DEBUG: '', TF_TEST_SIGINT_AT: 'open:model.safetensors+10' } });
  const guard = setTimeout(() => child.kill('SIGKILL'), HANG_GUARD_MS);
  let err = '', stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('exit', (c, s) => res([c, s])));
  clearTimeout(guard);
  assert.equal(signal, null, `ended by ${signal}; stderr:\n${err}`);
  assert.equal(code, 130, `stdout:\n${stdout}\nstderr:\n${err}`);
  const errLines = err.split('\n').filter((l) => l !== '' && !l.startsWith('trainformer: native backend'));
  assert.deepEqual(errLines, [`evaluation of ${out} interrupted (Ctrl-C); nothing printed and ${target} not written`]);
  assert.equal(stdout, '');
  assert.equal(existsSync(target), false);
});
