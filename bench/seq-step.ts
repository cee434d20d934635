/**
 * One point of the long-context benchmark (bench/seq.ts): trains a GPT of 4 layers × 256 (4 heads,
 * vocabulary 65, learned positions, dropout 0) on random batches of 1 × T tokens — forward, fused
 * LM head + cross-entropy, backward, clipGradNorm(1.0), AdamW — the same work as bench/torch_seq.py,
 * optionally with gradientCheckpointing. Prints one JSON line: tokens/s (median step), peak RSS, the
 * allocator's peak live bytes.
 *
 *   node dist/bench/seq-step.js --seq 4096 [--checkpointing] [--steps 3] [--warmup 1] [--max-seconds 60]
 *
 * A benchmark, never a test.
 */
import { benchArgs } from './args.js';
import * as T from '../src/tensor/index.js';
import { getBackend } from '../src/backend/index.js';
import { GPT } from '../src/models/gpt.js';
import { AdamW } from '../src/optim/adam.js';
import { groupParameters } from '../src/optim/param-groups.js';
import { clipGradNorm } from '../src/optim/clip-grad.js';
import { fusedLinearCrossEntropy } from '../src/losses/index.js';

const USAGE = 'usage: node dist/bench/seq-step.js --seq 4096 [--checkpointing] [--steps 3] [--warmup 1] [--max-seconds 60]';

/** The benchmark's model (shared with bench/torch_seq.py). */
const SEQ_MODEL = { vocabSize: 65, nLayer: 4, nHead: 4, nEmbd: 256 } as const;

function main(): void {
  const { values } = benchArgs(USAGE, {
    seq: { type: 'string', number: 'count', default: '1024' }, checkpointing: { type: 'boolean', default: false },
    steps: { type: 'string', number: 'count', default: '3' }, warmup: { type: 'string', number: 'int', default: '1' }, 'max-seconds': { type: 'string', number: 'positive', default: '60' },
  });
  const Tn = Number(values.seq), B = 1, V = SEQ_MODEL.vocabSize;
  const model = new GPT({ ...SEQ_MODEL, blockSize: Tn, dropout: 0, bias: true, tieWordEmbeddings: true, activation: 'gelu', seed: 1337 });
  model.train();
  if (values.checkpointing) model.gradientCheckpointingEnable();
  const opt = new AdamW(groupParameters(model.namedParameters(), { policy: 'nanogpt', weightDecay: 0.1 }), { lr: 3e-4, betas: [0.9, 0.95], eps: 1e-8 });
  const gen = new T.Generator(1337);
  const pool = Array.from({ length: 2 }, () => T.randint(0, V, [B, Tn + 1], gen).keep());
  const params = model.parameters();
  const step = (i: number): number => T.scope(() => {
    const batch = pool[i % pool.length];
    const x = batch.narrow(1, 0, Tn).contiguous(), y = batch.narrow(1, 1, Tn).contiguous();
    opt.zeroGrad();
    const l = fusedLinearCrossEntropy(model.hidden(x).reshape(B * Tn, -1), model.lmHeadWeight(), y.reshape(B * Tn));
    T.backward(l);
    clipGradNorm(params, 1.0);
    opt.step();
    return l.item();
  });
  const losses: number[] = [];
  const warmup = Number(values.warmup), maxSteps = Number(values.steps), maxSec = Number(values['max-seconds']);
  T.resetPeakMemoryStats();
  for (let i = 0; i < warmup; i++) losses.push(step(i));
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = warmup; times.length < maxSteps; i++) {
    const s = performance.now();
    losses.push(step(i));
    times.push((performance.now() - s) / 1000);
    if (times.length >= 1 && (performance.now() - t0) / 1000 > maxSec) break;
  }
  const sorted = [...times].sort((a, b) => a - b);
  const n = sorted.length;
  const med = n % 2 ? sorted[(n - 1) / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  console.log(JSON.stringify({
    impl: `trainformer-${getBackend().name}`, seq: Tn, checkpointing: values.checkpointing,
    tokens_per_s: +(B * Tn / med).toFixed(1), ms_per_step: +(med * 1e3).toFixed(1), timed_steps: n,
    peak_rss_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
    peak_live_mb: +(T.memoryStats().peakLiveBytes / 2 ** 20).toFixed(1),
    loss_first: +losses[0].toFixed(4), loss_last: +losses[losses.length - 1].toFixed(4),
  }));
}

main();
