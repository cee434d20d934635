/**
 * evalStrategy / saveStrategy (steps, epoch, no), loadBestModelAtEnd with metricForBestModel and
 * greaterIsBetter (Hugging Face semantics), and trainer_state.json's Hugging Face keys. Expected
 * values are recomputed here from what the run logged: which checkpoint is best given the eval lines
 * of metrics.jsonl, at which steps an epoch ends given batchesPerEpoch and the accumulation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { taskFromCheckpoint } from '../../src/cli/checkpoint-task.js';
import { ConfigError } from '../../src/errors.js';
import { readSafetensorsFile } from '../../src/io/safetensors.js';
import { createTask } from '../../src/tasks/index.js';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { noGrad } from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-best-'));
const text = join(dir, 'text.txt');
writeFileSync(text, Array.from({ length: 60 }, (_, i) => `line ${i % 13}: a cat ${i % 3 ? 'sat' : 'ran'} on the mat.\n`).join(''));

function config(outputDir: string, extra: Record<string, unknown>, train = text) {
  return parseConfig({
    task: 'lm', outputDir, seed: 3,
    data: { train, blockSize: 8, valFraction: 0.1 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16 },
    learningRate: 3e-3, perDeviceTrainBatchSize: 4, perDeviceEvalBatchSize: 8, loggingSteps: 1, disableTqdm: true,
    ...extra,
  });
}

type Line = Record<string, unknown> & { step: number };
const lines = (out: string): Line[] => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const state = (ck: string) => JSON.parse(readFileSync(join(ck, 'trainer_state.json'), 'utf8'));
const weights = (file: string) => Object.fromEntries(Object.entries(readSafetensorsFile(file).tensors).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));

test('loadBestModelAtEnd, greaterIsBetter: the checkpoint with the highest logged eval_loss is the best, its weights are the final model', async () => {
  const out = join(dir, 'greater');
  const cfg = config(out, {
    maxSteps: 8, evalSteps: 2, saveSteps: 2, saveTotalLimit: 1,
    loadBestModelAtEnd: true, metric_for_best_model: 'eval_loss', greaterIsBetter: true,
  });
  const trainer = new Trainer({ config: cfg, task: await createTask(cfg) });
  const r = await trainer.train();
  // Candidates: the evaluations at saved steps (2, 4, 6 and the final one at 8), as logged.
  const evals = lines(out).filter((l) => l.split === 'eval' && !l.bestModel);
  assert.deepEqual(evals.map((l) => l.step), [2, 4, 6, 8]);
  let best = evals[0];
  for (const e of evals) if ((e.loss as number) > (best.loss as number)) best = e;
  assert.notEqual(best.step, 8, 'the loss fell, so the highest one is not the last: the test needs that');
  const st = state(join(out, 'checkpoint-8'));
  assert.equal(st.best_model_checkpoint, join(out, `checkpoint-${best.step}`));
  assert.equal(st.best_metric, best.loss);
  assert.equal(st.global_step, 8);
  assert.equal(st.max_steps, 8);
  // saveTotalLimit 1 keeps the newest and the best.
  assert.deepEqual(listCheckpoints(out).map((c) => c.step), [best.step, 8]);
  // The final model holds the best checkpoint's weights, in memory and in <outputDir>/model.safetensors.
  const bestW = weights(join(out, `checkpoint-${best.step}`, 'model.safetensors'));
  assert.deepEqual(weights(join(out, 'model.safetensors')), bestW);
  assert.notDeepEqual(weights(join(out, 'checkpoint-8', 'model.safetensors')), bestW);
  for (const [n, p] of trainer.params) assert.deepEqual(Array.from(p.data() as Float32Array), bestW[n], n);
  // Its evaluation repeats the best evaluation's loss (the same weights on the same data).
  assert.equal(r.finalMetrics!.loss, best.loss);
  assert.ok(lines(out).some((l) => l.event === 'best_model'));
});

test('evalStrategy / saveStrategy epoch: evaluations and checkpoints where an epoch ends; the lowest eval loss is the best', async () => {
  const out = join(dir, 'epoch');
  const accum = 2;
  // A short text whose epoch is an odd number of batches (ends inside a step of 2 micro-batches).
  let cfg, task, bpe = 0;
  for (let n = 12; bpe % accum !== 1; n++) {
    const small = join(dir, `small-${n}.txt`);
    writeFileSync(small, readFileSync(text, 'utf8').split('\n').slice(0, n).join('\n'));
    cfg = config(out, { numTrainEpochs: 3, gradientAccumulationSteps: accum, eval_strategy: 'epoch', save_strategy: 'epoch', loadBestModelAtEnd: true }, small);
    task = await createTask(cfg);
    bpe = task.batchesPerEpoch;
  }
  assert.ok(bpe >= 3);
  const r = await new Trainer({ config: cfg!, task: task! }).train();
  // Epoch k ends within the step that reads micro-batch k·bpe: step ceil(k·bpe / accum).
  const ends = [1, 2, 3].map((k) => Math.ceil((k * bpe) / accum));
  assert.equal(r.step, ends[2]);
  const evals = lines(out).filter((l) => l.split === 'eval' && !l.bestModel);
  assert.deepEqual(evals.map((l) => l.step), ends);
  assert.deepEqual(listCheckpoints(out).map((c) => c.step), ends);
  let best = evals[0];
  for (const e of evals) if ((e.loss as number) < (best.loss as number)) best = e;
  const st = state(join(out, `checkpoint-${ends[2]}`));
  assert.equal(st.best_model_checkpoint, join(out, `checkpoint-${best.step}`));
  assert.equal(st.best_metric, best.loss);
  // Hugging Face's log_history: the same evaluations, eval_-prefixed, and a train entry per step.
  const hfEvals = st.log_history.filter((e: Record<string, unknown>) => 'eval_loss' in e);
  assert.deepEqual(hfEvals.map((e: Record<string, number>) => [e.step, e.eval_loss]), evals.map((e) => [e.step, e.loss]));
  const hfTrain = st.log_history.filter((e: Record<string, unknown>) => 'learning_rate' in e);
  const train = lines(out).filter((l) => l.split === 'train');
  assert.deepEqual(hfTrain.map((e: Record<string, number>) => [e.step, e.loss, e.learning_rate, e.grad_norm]), train.map((l) => [l.step, l.loss, l.lr, l.gradNorm]));
});

test('a checkpoint written before the Hugging Face keys (step, totalSteps) still resumes, to the same weights', async () => {
  const now = join(dir, 'keys-now'), earlier = join(dir, 'keys-earlier');
  const cfg = (out: string) => config(out, { maxSteps: 6, saveSteps: 3, evalSteps: 3, gradientAccumulationSteps: 2 });
  for (const out of [now, earlier]) await new Trainer({ config: cfg(out), task: await createTask(cfg(out)), stopAfterSteps: 3 }).train();
  const p = join(earlier, 'checkpoint-3', 'trainer_state.json');
  const st = JSON.parse(readFileSync(p, 'utf8'));
  const old: Record<string, unknown> = { step: st.global_step, totalSteps: st.max_steps };
  const hf = ['global_step', 'max_steps', 'log_history', 'best_metric', 'best_model_checkpoint', 'logging_steps', 'eval_steps', 'save_steps', 'train_batch_size', 'num_train_epochs', 'is_world_process_zero'];
  for (const [k, v] of Object.entries(st)) if (!hf.includes(k)) old[k] = v;
  writeFileSync(p, JSON.stringify(old));
  for (const out of [now, earlier]) await new Trainer({ config: cfg(out), task: await createTask(cfg(out)), resume: true }).train();
  assert.deepEqual(weights(join(earlier, 'checkpoint-6', 'model.safetensors')), weights(join(now, 'checkpoint-6', 'model.safetensors')));
  assert.deepEqual(lines(earlier).map(({ time: _t, elapsed: _e, tokensPerSecond: _s, ...l }) => l), lines(now).map(({ time: _t, elapsed: _e, tokensPerSecond: _s, ...l }) => l));
  assert.ok(existsSync(join(earlier, 'model.safetensors')));
});

test('loadBestModelAtEnd needs checkpoints at evaluations: one line naming the fields', () => {
  const bad = (extra: Record<string, unknown>, re: RegExp) => assert.throws(() => config(join(dir, 'x'), { loadBestModelAtEnd: true, ...extra }), (e: unknown) => e instanceof ConfigError && re.test(e.message));
  bad({ evalStrategy: 'epoch', saveStrategy: 'steps' }, /^loadBestModelAtEnd: needs saveStrategy to equal evalStrategy \(got saveStrategy "steps", evalStrategy "epoch"\)$/);
  bad({ evalSteps: 4, saveSteps: 6 }, /^loadBestModelAtEnd: saveSteps must be a multiple of evalSteps \(got saveSteps 6, evalSteps 4\)$/);
  bad({ evalStrategy: 'no', saveStrategy: 'no' }, /^loadBestModelAtEnd: needs evaluations/);
  assert.throws(() => config(join(dir, 'x'), { evalStrategy: 'often' }), /evalStrategy: must be one of steps, epoch, no/);
});

test('saveStrategy "no" writes no checkpoint-<step> folder (Hugging Face save_strategy="no"), only the final model, which eval and predict load', async () => {
  const out = join(dir, 'no-save');
  const cfg = config(out, { maxSteps: 4, evalSteps: 2, saveStrategy: 'no' });
  const trainer = new Trainer({ config: cfg, task: await createTask(cfg) });
  const r = await trainer.train();
  assert.equal(r.step, 4);
  assert.equal(r.checkpoint, null);
  assert.deepEqual(listCheckpoints(out), []);
  // The final model is the trained weights, beside the run's config and tokenizer.
  const final = weights(join(out, 'model.safetensors'));
  for (const [n, p] of trainer.params) assert.deepEqual(Array.from(p.data() as Float32Array), final[n], n);
  for (const f of ['trainformer_config.json', 'trainformer_tokenizer.json']) assert.ok(existsSync(join(out, f)), f);
  // The task rebuilt from the run folder (as `trainformer eval <run>` does) gives the final evaluation's loss.
  const { task } = await taskFromCheckpoint(out, [], { noTrainData: true });
  assert.equal(noGrad(() => task.evaluate()).loss, r.finalMetrics!.loss);
});
