/**
 * Exact resume: 2N steps straight against N steps, stop, resume from checkpoint-N, N more steps.
 * Parameters must match bit for bit and every metrics line (without its wall-clock fields) must be
 * the same. Dropout and gradient accumulation are on, so the RNG states and the data position in
 * the checkpoint matter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { ConfigError } from '../../src/errors.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { withoutTiming } from '../../src/train/metrics.js';
import { GradScaler } from '../../src/optim/grad-scaler.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-resume-'));
const text = join(dir, 'text.txt');
// A small corpus with some structure (so the loss moves).
writeFileSync(text, Array.from({ length: 200 }, (_, i) => `line ${i % 17}: the quick brown fox ${i % 3 ? 'jumps' : 'sleeps'} over the lazy dog.\n`).join(''));

const N = 4;

function config(outputDir: string, overwriteOutputDir = false) {
  return parseConfig({
    task: 'lm', outputDir, seed: 7, overwriteOutputDir,
    data: { train: text, blockSize: 8, valFraction: 0.1 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0.1 },
    objective: { ce: 1, zLoss: 1e-4 },
    learningRate: 3e-3, lrSchedulerType: 'cosine', warmupSteps: 2, weightDecay: 0.1,
    perDeviceTrainBatchSize: 4, perDeviceEvalBatchSize: 8, gradientAccumulationSteps: 2,
    maxSteps: 2 * N, loggingSteps: 1, evalSteps: 3, maxEvalBatches: 2, saveSteps: N, disableTqdm: true,
  });
}

async function run(outputDir: string, opts: { stopAfterSteps?: number; resume?: boolean; overwrite?: boolean; gradScaler?: GradScaler } = {}) {
  const cfg = config(outputDir, opts.overwrite ?? false);
  const task = await createTask(cfg);
  return new Trainer({ config: cfg, task, ...opts }).train();
}

function metricLines(outputDir: string) {
  return readFileSync(join(outputDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => withoutTiming(JSON.parse(l)));
}

test('N steps + stop + resume + N steps equals 2N steps straight, bit for bit', async () => {
  const straight = join(dir, 'straight');
  const resumed = join(dir, 'resumed');
  const a = await run(straight);
  assert.equal(a.step, 2 * N);

  const first = await run(resumed, { stopAfterSteps: N });
  assert.equal(first.step, N);
  assert.equal(first.finalMetrics, null);
  assert.ok(existsSync(join(resumed, `checkpoint-${N}`)));
  const b = await run(resumed, { resume: true });
  assert.equal(b.step, 2 * N);

  const pa = readFileSync(join(straight, `checkpoint-${2 * N}`, 'model.safetensors'));
  const pb = readFileSync(join(resumed, `checkpoint-${2 * N}`, 'model.safetensors'));
  assert.equal(pa.toString('base64'), pb.toString('base64'), 'final parameters differ');
  const oa = readFileSync(join(straight, `checkpoint-${2 * N}`, 'optimizer.safetensors'));
  const ob = readFileSync(join(resumed, `checkpoint-${2 * N}`, 'optimizer.safetensors'));
  assert.equal(oa.toString('base64'), ob.toString('base64'), 'final optimizer states differ');

  const ma = metricLines(straight), mb = metricLines(resumed);
  assert.deepEqual(mb, ma);
  // The log really holds what the comparison is about: a line per step and the evaluations.
  assert.equal(ma.filter((r) => r.split === 'train').length, 2 * N);
  assert.ok(ma.filter((r) => r.split === 'eval').length >= 2);
  assert.ok(ma.every((r) => r.split !== 'train' || (typeof r.loss === 'number' && 'zLoss' in (r.terms as object))));
  assert.deepEqual(a.finalMetrics, b.finalMetrics);
});

test('with a dynamic GradScaler: the resumed run continues its scale and growth tracker, bit for bit', async () => {
  const scaler = () => new GradScaler({ initScale: 256, growthInterval: 3 });
  const straight = join(dir, 'scaled-straight');
  const resumed = join(dir, 'scaled-resumed');
  await run(straight, { gradScaler: scaler() });
  await run(resumed, { stopAfterSteps: N, gradScaler: scaler() });
  await run(resumed, { resume: true, gradScaler: scaler() });
  const ma = metricLines(straight), mb = metricLines(resumed);
  assert.deepEqual(mb, ma);
  // Growth after 3 clean steps: a resumed run that restarted the scaler (256, tracker 0) would log 256 at step 5.
  assert.deepEqual(ma.filter((r) => r.split === 'train').map((r) => r.lossScale), [256, 256, 256, 512, 512, 512, 1024, 1024]);
  const pa = readFileSync(join(straight, `checkpoint-${2 * N}`, 'model.safetensors'));
  const pb = readFileSync(join(resumed, `checkpoint-${2 * N}`, 'model.safetensors'));
  assert.equal(pa.toString('base64'), pb.toString('base64'), 'final parameters differ');
});

test('a checkpoint with the earlier optimizer layout (buffer name lists) still resumes, to the same result', async () => {
  const now = join(dir, 'layout-now'), earlier = join(dir, 'layout-earlier');
  await run(now, { stopAfterSteps: N });
  await run(earlier, { stopAfterSteps: N });
  const statePath = join(earlier, `checkpoint-${N}`, 'trainer_state.json');
  const st = JSON.parse(readFileSync(statePath, 'utf8'));
  st.optimizer.state = st.optimizer.state.map((e: { buffers: Record<string, string> } | null) => e && { ...e, buffers: Object.keys(e.buffers) });
  writeFileSync(statePath, JSON.stringify(st));
  await run(now, { resume: true });
  await run(earlier, { resume: true });
  const pa = readFileSync(join(now, `checkpoint-${2 * N}`, 'model.safetensors'));
  const pb = readFileSync(join(earlier, `checkpoint-${2 * N}`, 'model.safetensors'));
  assert.equal(pa.toString('base64'), pb.toString('base64'));
});

test('a fresh run in a folder with old checkpoints is refused, and starts over only with overwriteOutputDir', async () => {
  const out = join(dir, 'fresh');
  await run(out, { stopAfterSteps: N });
  const before = readFileSync(join(out, `checkpoint-${N}`, 'model.safetensors'));
  await assert.rejects(run(out), (e: Error) => e instanceof ConfigError && /outputDir/.test(e.message) && /--resume/.test(e.message));
  // nothing was lost by the refused run
  assert.equal(readFileSync(join(out, `checkpoint-${N}`, 'model.safetensors')).toString('base64'), before.toString('base64'));
  // a checkpoint folder without trainer_state.json is not silently replaced by --resume either
  const broken = join(dir, 'broken');
  await run(broken, { stopAfterSteps: N });
  rmSync(join(broken, `checkpoint-${N}`, 'trainer_state.json'));
  await assert.rejects(run(broken, { resume: true }), (e: Error) => e instanceof ConfigError && /trainer_state\.json/.test(e.message));
  assert.ok(existsSync(join(broken, `checkpoint-${N}`, 'model.safetensors')));
  const r = await run(out, { overwrite: true });
  assert.equal(r.step, 2 * N);
  assert.equal(metricLines(out).filter((x) => x.split === 'train')[0].step, 1);
  assert.ok(!readdirSync(out).some((n) => n.startsWith('.tmp')));
});

test('classification resume (shuffled DataLoader position, dropout RNG) is exact too', async () => {
  const words = ['red', 'blue', 'green', 'tall', 'short', 'warm', 'cold'];
  const jsonl = join(dir, 'cls.jsonl');
  writeFileSync(jsonl, Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `${words[i % 7]} ${words[(i * 3) % 7]} ${i % 2 ? 'yes' : 'no'}`, label: i % 2 })).join('\n') + '\n');
  const cfg = (outputDir: string) => parseConfig({
    task: 'classification', outputDir, seed: 9,
    data: { train: jsonl, tokenizer: { type: 'word' }, valFraction: 0.2, maxLength: 8 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0.2 },
    learningRate: 5e-3, perDeviceTrainBatchSize: 6, maxSteps: 2 * N + 2, loggingSteps: 1, evalSteps: 3, saveSteps: N + 1, disableTqdm: true,
    stability: { spikeGuard: { enabled: false } },
  });
  const go = async (out: string, opts: { stopAfterSteps?: number; resume?: boolean } = {}) =>
    new Trainer({ config: cfg(out), task: await createTask(cfg(out)), ...opts }).train();
  const straight = join(dir, 'cls-straight'), resumed = join(dir, 'cls-resumed');
  await go(straight);
  await go(resumed, { stopAfterSteps: N + 1 }); // 32 training examples / 6 = 6 batches per epoch: resume mid-epoch
  await go(resumed, { resume: true });
  const last = `checkpoint-${2 * N + 2}`;
  assert.equal(readFileSync(join(straight, last, 'model.safetensors')).toString('base64'), readFileSync(join(resumed, last, 'model.safetensors')).toString('base64'));
  assert.deepEqual(metricLines(resumed), metricLines(straight));
});
