/**
 * One data-parallel benchmark run (started by bench/ddp.ts, once as 1 process and once under
 * mpirun): the training step of bench/train-step.ts (GPT of ../shared/bench/configs.json, random
 * token batches, fused LM-head loss, clipGradNorm 1.0, AdamW with nanoGPT's decay groups) with
 * DistributedDataParallel gradient buckets. Each rank reads `batch_size` rows per step (weak
 * scaling, as DDP is used). Rank 0 prints one JSON line: median step time and tokens/s of the
 * whole job, and how the gradient all-reduce overlapped backward (wait after backward ended, time
 * the all-reduces took, buckets started while backward ran).
 *
 *   node dist/bench/ddp-step.js --config small [--steps 8] [--bucket-mb 25]
 *
 * A benchmark, never a test.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { benchArgs } from './args.js';
import { getBackend } from '../src/backend/index.js';
import { DistributedDataParallel, initProcessGroup } from '../src/distributed/index.js';
import { fusedLinearCrossEntropy } from '../src/losses/index.js';
import { GPT } from '../src/models/gpt.js';
import { AdamW, clipGradNorm, groupParameters } from '../src/optim/index.js';
import * as T from '../src/tensor/index.js';
import { sharedDir } from './shared.js';

const USAGE = 'usage: mpirun -np N node dist/bench/ddp-step.js [--config small] [--steps 8] [--warmup 2] [--bucket-mb 25]';

interface BenchConfig { vocab_size: number; n_layer: number; n_head: number; n_embd: number; block_size: number; batch_size: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

function main(): void {
  const { values } = benchArgs(USAGE, {
    config: { type: 'string', default: 'small' }, steps: { type: 'string', number: 'count', default: '8' }, warmup: { type: 'string', number: 'int', default: '2' },
    'bucket-mb': { type: 'string', number: 'positive', default: '25' },
  });
  const pg = initProcessGroup({ timeoutSec: 600 });
  const all = JSON.parse(readFileSync(path.join(sharedDir(), 'bench', 'configs.json'), 'utf8')) as
    { common: { optimizer: unknown }; configs: Record<string, BenchConfig> };
  const cfg = all.configs[values.config!];
  if (!cfg) throw new Error(`unknown config ${values.config}`);
  const oc = all.common.optimizer as unknown as { lr: number; betas: [number, number]; eps: number; weight_decay: number; grad_clip_norm: number };
  const model = new GPT({ vocabSize: cfg.vocab_size, nLayer: cfg.n_layer, nHead: cfg.n_head, nEmbd: cfg.n_embd, blockSize: cfg.block_size,
    dropout: 0, bias: true, tieWordEmbeddings: true, activation: 'gelu', layerNormEpsilon: 1e-5, seed: 1337 });
  const named = [...model.namedParameters()];
  const ddp = new DistributedDataParallel(named, pg, { bucketCapMb: Number(values['bucket-mb']) });
  const opt = new AdamW(groupParameters(model.namedParameters(), { policy: 'nanogpt', weightDecay: oc.weight_decay }), { lr: oc.lr, betas: oc.betas, eps: oc.eps });
  const B = cfg.batch_size, Tn = cfg.block_size, V = cfg.vocab_size;
  const gen = new T.Generator(1337 + pg.rank);
  const pool = Array.from({ length: 4 }, () => T.randint(0, V, [B, Tn + 1], gen).keep());
  const params = model.parameters();
  const rows: { step: number; backward: number; wait: number; comm: number; early: number; buckets: number }[] = [];
  const step = (i: number): void => T.scope(() => {
    const t0 = performance.now();
    const batch = pool[i % pool.length];
    const x = batch.narrow(1, 0, Tn).contiguous(), y = batch.narrow(1, 1, Tn).contiguous();
    const loss = fusedLinearCrossEntropy(model.hidden(x).reshape(B * Tn, -1), model.lmHeadWeight(), y.reshape(B * Tn));
    T.backward(loss);
    const t1 = performance.now();
    ddp.synchronize();
    clipGradNorm(params, oc.grad_clip_norm);
    opt.step();
    opt.zeroGrad();
    const s = ddp.lastStep;
    rows.push({ step: (performance.now() - t0) / 1000, backward: (t1 - t0) / 1000, wait: s.waitSeconds, comm: s.commSeconds, early: s.bucketsStartedDuringBackward, buckets: s.buckets });
  });
  const warmup = Number(values.warmup), steps = Number(values.steps);
  for (let i = 0; i < warmup + steps; i++) step(i);
  const timed = rows.slice(warmup);
  // The job's step time is its slowest rank's.
  const med = new Float64Array([median(timed.map((r) => r.step)), median(timed.map((r) => r.wait)), median(timed.map((r) => r.comm)), median(timed.map((r) => r.step - r.backward))]);
  pg.allReduce(med, 'max', 'all-reduce of the timings').wait();
  if (pg.rank === 0) {
    console.log(JSON.stringify({
      impl: `trainformer-${getBackend().name}`, config: values.config, ranks: pg.size, threads: Number(process.env.TRAINFORMER_NUM_THREADS ?? 0),
      bucket_mb: Number(values['bucket-mb']), buckets: timed[0].buckets, buckets_started_during_backward: timed[0].early,
      tokens_per_s: +((B * Tn * pg.size) / med[0]).toFixed(1), ms_per_step: +(med[0] * 1e3).toFixed(1),
      ms_wait_after_backward: +(med[1] * 1e3).toFixed(1), ms_allreduce: +(med[2] * 1e3).toFixed(1), ms_after_backward: +(med[3] * 1e3).toFixed(1),
      timed_steps: timed.length,
    }));
  }
  pg.destroy();
}

main();
