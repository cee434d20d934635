/**
 * One benchmark run of trainformer's training step, the same work as ../shared/bench/torch_train.py:
 * GPT-2 style decoder of `configs.json`, random token batches (fixed seed), forward + cross-entropy +
 * backward + clipGradNorm(1.0) + AdamW with nanoGPT's decay groups. Prints one JSON line.
 *
 *   node dist/bench/train-step.js --config small [--steps 10] [--warmup 2] [--max-seconds 60] [--dtype float32|bf16|fp16]
 *
 * `--dtype bf16` / `fp16` runs forward and backward under autocast (src/amp) with float32 master
 * weights and optimizer, as torch_train.py's `--dtype bf16` does with torch.autocast('cpu').
 * The backend is the process's (TRAINFORMER_BACKEND). A benchmark, never a test.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { badFlag, benchArgs } from './args.js';
import * as T from '../src/tensor/index.js';
import { getBackend } from '../src/backend/index.js';
import { GPT } from '../src/models/gpt.js';
import { AdamW } from '../src/optim/adam.js';
import { groupParameters } from '../src/optim/param-groups.js';
import { clipGradNorm } from '../src/optim/clip-grad.js';
import { crossEntropy, fusedLinearCrossEntropy } from '../src/losses/index.js';
import { autocast } from '../src/amp/autocast.js';
import { sharedDir } from './shared.js';

const USAGE = 'usage: node dist/bench/train-step.js [--config tiny] [--steps 10] [--warmup 2] [--max-seconds 60] [--min-steps 3] [--loss fused|unfused] [--dtype float32|bf16|fp16]';

interface BenchConfig { vocab_size: number; n_layer: number; n_head: number; n_embd: number; block_size: number; batch_size: number }

export function loadBenchConfigs(): { common: Record<string, unknown> & { optimizer: Record<string, number & number[]> }; configs: Record<string, BenchConfig>; peak_gflops_reference: number } {
  return JSON.parse(readFileSync(path.join(sharedDir(), 'bench', 'configs.json'), 'utf8'));
}

function main(): void {
  const { values } = benchArgs(USAGE, {
    config: { type: 'string', default: 'tiny' }, steps: { type: 'string', number: 'count', default: '10' }, warmup: { type: 'string', number: 'int', default: '2' },
    'max-seconds': { type: 'string', number: 'positive', default: '60' }, 'min-steps': { type: 'string', number: 'count', default: '3' }, loss: { type: 'string', default: 'fused' },
    dtype: { type: 'string', default: 'float32' },
  });
  const dtype = values.dtype!;
  if (!['float32', 'bf16', 'fp16'].includes(dtype)) badFlag(`--dtype must be float32, bf16 or fp16, got '${dtype}'`);
  const amp = dtype === 'float32' ? null : dtype === 'bf16' ? 'bfloat16' as const : 'float16' as const;
  const all = loadBenchConfigs();
  const cfg = all.configs[values.config!];
  if (!cfg) throw new Error(`unknown config ${values.config}`);
  const oc = all.common.optimizer as unknown as { lr: number; betas: [number, number]; eps: number; weight_decay: number; grad_clip_norm: number };
  const model = new GPT({ vocabSize: cfg.vocab_size, nLayer: cfg.n_layer, nHead: cfg.n_head, nEmbd: cfg.n_embd, blockSize: cfg.block_size,
    dropout: 0, bias: true, tieWordEmbeddings: true, activation: 'gelu', layerNormEpsilon: 1e-5, seed: 1337 });
  const groups = groupParameters(model.namedParameters(), { policy: 'nanogpt', weightDecay: oc.weight_decay });
  const opt = new AdamW(groups, { lr: oc.lr, betas: oc.betas, eps: oc.eps });
  const B = cfg.batch_size, Tn = cfg.block_size, V = cfg.vocab_size;
  const gen = new T.Generator(1337);
  const pool = Array.from({ length: 8 }, () => T.randint(0, V, [B, Tn + 1], gen).keep());
  const nParamsTotal = model.numParameters();
  const nParams = model.numParameters({ nonEmbedding: true });
  const flopsPerToken = 6 * nParams + 12 * cfg.n_layer * cfg.n_embd * Tn;
  const params = model.parameters();
  const fused = values.loss === 'fused';
  const step = (i: number): number => T.scope(() => {
    const batch = pool[i % pool.length];
    const x = batch.narrow(1, 0, Tn).contiguous(), y = batch.narrow(1, 1, Tn).contiguous();
    opt.zeroGrad();
    const loss = autocast({ dtype: amp ?? 'bfloat16', enabled: amp !== null }, () => {
      const l = fused
        ? fusedLinearCrossEntropy(model.hidden(x).reshape(B * Tn, -1), model.lmHeadWeight(), y.reshape(B * Tn))
        : crossEntropy(model.forward(x), y, { layout: 'BTV' });
      T.backward(l);
      return l;
    });
    clipGradNorm(params, oc.grad_clip_norm, { deferTo: opt }); // AdamW scales as it reads (as the Trainer)
    opt.step();
    return loss.item();
  });
  const losses: number[] = [];
  const warmup = Number(values.warmup), maxSteps = Number(values.steps), maxSec = Number(values['max-seconds']), minSteps = Number(values['min-steps']);
  for (let i = 0; i < warmup; i++) losses.push(step(i));
  const times: number[] = [];
  const t0 = performance.now();
  let i = warmup;
  while (times.length < maxSteps) {
    const s = performance.now();
    losses.push(step(i++));
    times.push((performance.now() - s) / 1000);
    if (times.length >= minSteps && (performance.now() - t0) / 1000 > maxSec) break;
  }
  const sorted = [...times].sort((a, b) => a - b);
  const n = sorted.length;
  const med = n % 2 ? sorted[(n - 1) / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  const tokens = B * Tn;
  console.log(JSON.stringify({
    impl: `trainformer-${getBackend().name}`, config: values.config, loss: values.loss, dtype,
    tokens_per_s: +(tokens / med).toFixed(1), ms_per_step: +(med * 1e3).toFixed(2),
    peak_rss_mb: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
    peak_tensor_mb: +(T.memoryStats().peakLiveBytes / 2 ** 20).toFixed(1), peak_pool_mb: +(T.memoryStats().peakReservedBytes / 2 ** 20).toFixed(1),
    model_flops_per_token: flopsPerToken, achieved_gflops: +(flopsPerToken * tokens / med / 1e9).toFixed(2),
    n_params: nParams, n_params_total: nParamsTotal, timed_steps: n,
    loss_first: +losses[0].toFixed(4), loss_last: +losses[losses.length - 1].toFixed(4),
  }));
}

// Run only as a script: importing this module (for loadBenchConfigs) must not run the benchmark.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
