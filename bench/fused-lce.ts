/**
 * Benchmark (not a test): the LM head + cross-entropy, unfused (logits = hidden·Wᵀ materialised,
 * then crossEntropy) against fusedLinearCrossEntropy (chunks of tokens). Prints, for each, the wall
 * time of forward + backward and the peak bytes held by tensors (T.memoryStats().liveBytes
 * high-water mark, sampled by the loss ops and after backward): the inputs (hidden, weight,
 * target) plus what the step adds above them, which is also shown alone.
 *
 *   node dist/bench/fused-lce.js [--n 4096] [--c 768] [--v 50257] [--chunk rows] [--reps 2] [--eps 0.1] [--z 1e-4]
 *
 * Defaults: N = 4096 tokens, C = 768, V = 50257 (GPT-2). Uses the default backend (native when
 * built; TRAINFORMER_BACKEND=js|native picks). 'fused' is the default (gradients computed during
 * forward for the scalar loss: 3 GEMMs); 'fused-recompute' recomputes the logits in backward
 * (4 GEMMs, nothing held between forward and backward but a few numbers per token).
 */
import { getBackend } from '../src/backend/index.js';
import * as T from '../src/tensor/index.js';
import { crossEntropy, fusedLinearCrossEntropy, peakLiveBytes, resetPeak, notePeak, zLoss } from '../src/losses/index.js';
import { benchArgs } from './args.js';

const USAGE = 'usage: node dist/bench/fused-lce.js [--n 4096] [--c 768] [--v 50257] [--chunk rows] [--reps 2] [--eps 0.1] [--z 1e-4]';
const { values } = benchArgs(USAGE, {
  n: { type: 'string', number: 'count', default: '4096' }, c: { type: 'string', number: 'count', default: '768' }, v: { type: 'string', number: 'count', default: '50257' },
  reps: { type: 'string', number: 'count', default: '2' }, chunk: { type: 'string', number: 'count' }, eps: { type: 'string', number: 'number', default: '0' }, z: { type: 'string', number: 'number', default: '0' },
});
const N = Number(values.n), C = Number(values.c), V = Number(values.v), reps = Number(values.reps);
const chunk = values.chunk === undefined ? undefined : Number(values.chunk);
const eps = Number(values.eps), z = Number(values.z);

const gen = new T.Generator(0);
const hidden = T.randn([N, C], { generator: gen, std: 1 }).keep();
const weight = T.randn([V, C], { generator: gen, std: 0.02 }).keep();
const ids = new Int32Array(N);
for (let i = 0; i < N; i++) ids[i] = i % 17 === 0 ? -100 : Math.floor(gen.random() * V);
const target = T.tensor(ids, [N], 'int32').keep();

const inputBytes = hidden.numel() * 4 + weight.numel() * 4 + target.numel() * 4;

interface Result { ms: number; peak: number; above: number; loss: number }

type Path = 'unfused' | 'fused' | 'fused-recompute';

function step(path: Path): Result {
  const fused = path !== 'unfused';
  hidden.requiresGrad_();
  weight.requiresGrad_();
  hidden.grad = null;
  weight.grad = null;
  const base = T.memoryStats().liveBytes;
  resetPeak();
  const t0 = performance.now();
  const loss = T.scope(() => {
    let l: T.Tensor;
    if (fused) {
      l = fusedLinearCrossEntropy(hidden, weight, target, {
        labelSmoothing: eps, zLossCoef: z, chunkSize: chunk, precomputeGradients: path === 'fused',
      });
    }
    else {
      const logits = T.matmul(hidden, T.transpose(weight, 0, 1));
      notePeak();
      l = crossEntropy(logits, target, { layout: 'BTV', labelSmoothing: eps });
      if (z) l = T.add(l, zLoss(logits, { coef: z }));
    }
    T.backward(l);
    notePeak();
    return l.item();
  });
  const ms = performance.now() - t0;
  hidden.grad = null;
  weight.grad = null;
  // Kept gradients of earlier runs stay counted until the GC frees them, so the peak is reported
  // as the inputs' bytes plus the growth above this run's starting point.
  const above = peakLiveBytes() - base;
  return { ms, peak: inputBytes + above, above, loss };
}

function mb(b: number): string {
  return `${(b / 2 ** 20).toFixed(1)} MiB`;
}

console.log(`fused linear cross-entropy benchmark: N=${N} C=${C} V=${V} backend=${getBackend().name} labelSmoothing=${eps} zLoss=${z} chunk=${chunk ?? 'auto'}`);
const best: Record<string, Result> = {};
for (let r = 0; r < reps; r++) {
  for (const name of ['unfused', 'fused', 'fused-recompute'] as const) {
    const res = step(name);
    console.log(`  run ${r + 1} ${name.padEnd(15)}: ${res.ms.toFixed(0)} ms, peak ${mb(res.peak)} (${mb(res.above)} above inputs), loss ${res.loss.toFixed(6)}`);
    if (!best[name] || res.ms < best[name].ms) best[name] = res;
  }
}
const u = best.unfused;
console.log(`best of ${reps} runs:`);
console.log(`  unfused:         ${u.ms.toFixed(0)} ms, peak ${mb(u.peak)} (${mb(u.above)} above inputs)`);
for (const name of ['fused', 'fused-recompute']) {
  const f = best[name];
  console.log(`  ${name.padEnd(16)} ${f.ms.toFixed(0)} ms, peak ${mb(f.peak)} (${mb(f.above)} above inputs); vs unfused: time ${(f.ms / u.ms).toFixed(3)}x (target <= 1.3), peak ${(f.peak / u.peak).toFixed(3)}, above-input peak ${(f.above / u.above).toFixed(3)} (target <= 0.125), loss rel. diff ${(Math.abs(f.loss - u.loss) / Math.abs(u.loss)).toExponential(1)}`);
}
