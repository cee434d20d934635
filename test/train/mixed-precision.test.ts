/**
 * Mixed precision in the Trainer (config bf16 / fp16, Hugging Face names): the configs, float32
 * master weights in checkpoints, fp16's dynamic loss scaling with PyTorch's defaults, and exact
 * resume: a bf16 run stopped and resumed ends with the same parameters, bit for bit, as one that
 * never stopped; a float32 checkpoint resumes in bf16 and a bf16 one in float32.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { setLogger, silentLogger } from '../../src/logger.js';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { withoutTiming } from '../../src/train/metrics.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-amp-'));
const text = join(dir, 'text.txt');
writeFileSync(text, Array.from({ length: 200 }, (_, i) => `line ${i % 17}: the quick brown fox ${i % 3 ? 'jumps' : 'sleeps'} over the lazy dog.\n`).join(''));
setLogger(silentLogger);
const N = 4;

function config(outputDir: string, precision: { bf16?: boolean; fp16?: boolean }, overwriteOutputDir = false) {
  return parseConfig({
    task: 'lm', outputDir, seed: 7, overwriteOutputDir, ...precision,
    data: { train: text, blockSize: 8, valFraction: 0.1 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0.1 },
    learningRate: 3e-3, lrSchedulerType: 'cosine', warmupSteps: 2, weightDecay: 0.1,
    perDeviceTrainBatchSize: 4, perDeviceEvalBatchSize: 8, gradientAccumulationSteps: 2,
    maxSteps: 2 * N, loggingSteps: 1, evalSteps: 3, maxEvalBatches: 2, saveSteps: N, disableTqdm: true,
  });
}

async function run(outputDir: string, precision: { bf16?: boolean; fp16?: boolean }, opts: { stopAfterSteps?: number; resume?: boolean } = {}) {
  const cfg = config(outputDir, precision);
  const task = await createTask(cfg);
  return new Trainer({ config: cfg, task, ...opts }).train();
}

const trainLines = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.split === 'train');
const weights = (out: string, step: number) => readFileSync(join(out, `checkpoint-${step}`, 'model.safetensors'));
/** dtype of every tensor in a safetensors file's header. */
function dtypes(buf: Buffer): string[] {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype?: string }>;
  return Object.entries(header).filter(([k]) => k !== '__metadata__').map(([, v]) => v.dtype!);
}

test('config: bf16 and fp16 are accepted alone, both at once is one clear error', () => {
  assert.equal(config(join(dir, 'c1'), { bf16: true }).bf16, true);
  assert.equal(config(join(dir, 'c2'), { fp16: true }).fp16, true);
  assert.throws(() => config(join(dir, 'c3'), { bf16: true, fp16: true }), (e: unknown) => e instanceof ConfigError
    && /bf16 and fp16 are both true: choose one mixed-precision mode/.test((e as Error).message));
  // Hugging Face's spelling in a TrainingArguments-style object.
  assert.equal(parseConfig({ task: 'lm', output_dir: join(dir, 'c4'), data: { train: text }, fp16: true }).fp16, true);
});

test('bf16 trains with float32 master weights; its losses follow float32 closely but not bit for bit', async () => {
  const f32 = join(dir, 'f32'), bf = join(dir, 'bf16');
  await run(f32, {});
  await run(bf, { bf16: true });
  assert.ok(dtypes(weights(bf, 2 * N)).every((d) => d === 'F32'), 'bf16 checkpoint must keep float32 master weights');
  const a = trainLines(f32).map((r) => r.loss as number), b = trainLines(bf).map((r) => r.loss as number);
  assert.equal(b.length, 2 * N);
  assert.ok(b.every(Number.isFinite));
  assert.notDeepEqual(b, a, 'bf16 changed nothing: autocast is not active');
  b.forEach((x, i) => assert.ok(Math.abs(x - a[i]!) / a[i]! < 0.02, `step ${i + 1}: bf16 loss ${x} vs float32 ${a[i]}`));
  assert.ok(trainLines(bf).every((r) => r.lossScale === 1), 'bf16 uses no loss scaling');
});

test('fp16 scales the loss with PyTorch GradScaler defaults (2^16, x2 per 2000, x0.5), logged and saved', async () => {
  const out = join(dir, 'fp16');
  await run(out, { fp16: true });
  const lines = trainLines(out);
  assert.ok(lines.every((r) => Number.isFinite(r.loss)));
  // A scale of 2^16 on this model's small gradients does not overflow float32: every step is clean.
  assert.deepEqual(lines.map((r) => r.lossScale), new Array(2 * N).fill(65536));
  const st = JSON.parse(readFileSync(join(out, `checkpoint-${2 * N}`, 'trainer_state.json'), 'utf8'));
  assert.deepEqual(st.gradScaler, { scale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000, growthTracker: 2 * N, capScaleGrowthAtFp32Max: false });
});

test('a bf16 run stopped and resumed equals one that never stopped, bit for bit', async () => {
  const straight = join(dir, 'bf-straight'), resumed = join(dir, 'bf-resumed');
  await run(straight, { bf16: true });
  await run(resumed, { bf16: true }, { stopAfterSteps: N });
  await run(resumed, { bf16: true }, { resume: true });
  assert.equal(weights(resumed, 2 * N).toString('base64'), weights(straight, 2 * N).toString('base64'), 'final parameters differ');
  const strip = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => withoutTiming(JSON.parse(l)));
  assert.deepEqual(strip(resumed), strip(straight));
});

test('a float32 checkpoint resumes in bf16, and a bf16 checkpoint in float32', async () => {
  // What must hold: it resumes at step N and runs to 2N with finite losses, its first N steps are
  // the old precision's, the checkpoint keeps float32 weights, and the second half ran in the new one.
  for (const [from, to, name] of [[{}, { bf16: true }, 'f32-to-bf16'], [{ bf16: true }, {}, 'bf16-to-f32']] as const) {
    const out = join(dir, name), ref = join(dir, `${name}-ref`);
    await run(out, from, { stopAfterSteps: N });
    await run(ref, from, { stopAfterSteps: N });
    const r = await run(out, to, { resume: true });
    assert.equal(r.step, 2 * N);
    const lines = trainLines(out);
    assert.equal(lines.length, 2 * N);
    assert.ok(lines.every((l) => Number.isFinite(l.loss)));
    assert.deepEqual(lines.slice(0, N).map((l) => l.loss), trainLines(ref).map((l) => l.loss));
    assert.ok(dtypes(weights(out, 2 * N)).every((d) => d === 'F32'));
    // The resumed half really ran in the new precision: its parameters differ from the old precision's.
    const same = join(dir, `${name}-same`);
    await run(same, from, { stopAfterSteps: N });
    await run(same, from, { resume: true });
    assert.notEqual(weights(out, 2 * N).toString('base64'), weights(same, 2 * N).toString('base64'));
  }
});
