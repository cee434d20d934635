/**
 * Benchmark (not a test): forward + backward of T.scaledDotProductAttention on q, k, v [B, H, T, D]
 * for each sequence length and mask mode; prints the median wall time of `--reps` runs (after one
 * warm-up) and tokens/s (B·T per forward + backward). Uses the default backend (native when built).
 *
 *   node dist/bench/attention.js [--t 512,1024,2048,4096] [--b 1] [--h 4] [--d 64] [--reps 5]
 *     [--modes causal,full,window,padding,rope,rope-explicit] [--window 256]
 *
 * Modes: causal (the default path), full (no mask), window (causal + sliding window --window),
 * padding (causal + the last quarter of the keys padded, keyPaddingMask [B, T]), rope (causal, RoPE
 * tables in the kernel), rope-explicit (causal, q and k rotated by RotaryEmbedding first).
 * `--dtype bf16` runs the forward under autocast (bfloat16: the native backend's bf16 tile kernel, on
 * AMX or AVX512_BF16 where the CPU has them); `--bf16-impl avx512bf16|emulate` picks another
 * implementation (native; emulate: the float32 kernel on the bf16 values). `--dtype fp16` runs under
 * float16 autocast (always the float32 kernel on the widened values).
 */
import { badFlag, benchArgs } from './args.js';
import { autocast } from '../src/amp/autocast.js';
import { loadNativeAddon, type AttentionLowpImpl } from '../src/backend/native/index.js';
import { getBackend } from '../src/backend/index.js';
import { RotaryEmbedding } from '../src/nn/positional.js';
import * as T from '../src/tensor/index.js';

const USAGE = 'usage: node dist/bench/attention.js [--t 512,1024,2048,4096] [--b 1] [--h 4] [--d 64] [--reps 5] [--modes causal,full,window,padding,rope,rope-explicit] [--window 256] [--dtype float32|bf16|fp16] [--bf16-impl amx|avx512bf16|emulate]';

const { values } = benchArgs(USAGE, {
  t: { type: 'string', number: 'counts', default: '512,1024,2048,4096' }, b: { type: 'string', number: 'count', default: '1' }, h: { type: 'string', number: 'count', default: '4' },
  d: { type: 'string', number: 'count', default: '64' }, reps: { type: 'string', number: 'count', default: '5' }, modes: { type: 'string', default: 'causal,full' },
  window: { type: 'string', number: 'int', default: '256' }, dtype: { type: 'string', default: 'float32' }, 'bf16-impl': { type: 'string' },
});
if (values.dtype !== 'float32' && values.dtype !== 'bf16' && values.dtype !== 'fp16') badFlag(`--dtype must be float32, bf16 or fp16, got '${values.dtype}'`);
const amp = values.dtype === 'bf16' ? 'bfloat16' as const : values.dtype === 'fp16' ? 'float16' as const : null;
const bf16 = amp === 'bfloat16';
const impl = values['bf16-impl'];
if (impl !== undefined) {
  if (impl !== 'amx' && impl !== 'avx512bf16' && impl !== 'emulate') badFlag(`--bf16-impl must be amx, avx512bf16 or emulate, got '${impl}'`);
  const addon = loadNativeAddon();
  if (!addon) badFlag('--bf16-impl needs the native addon (npm run build:native)');
  try {
    addon.attentionLowpInfo(impl as AttentionLowpImpl);
  } catch (e) {
    badFlag(`--bf16-impl ${impl}: ${(e as Error).message}`);
  }
}
const B = Number(values.b), H = Number(values.h), D = Number(values.d), reps = Number(values.reps), W = Number(values.window);
const lengths = values.t!.split(',').map(Number);
const modes = values.modes!.split(',');
const rotary = new RotaryEmbedding(D);

function run(mode: string, Tn: number, q: T.Tensor, k: T.Tensor, v: T.Tensor, g: T.Tensor): number {
  for (const x of [q, k, v]) x.grad = null;
  const t0 = performance.now();
  T.scope(() => {
    const out = amp ? autocast({ dtype: amp }, () => forward(mode, Tn, q, k, v)) : forward(mode, Tn, q, k, v);
    T.backward(T.sum(T.mul(out, g)));
  });
  return performance.now() - t0;
}

function forward(mode: string, Tn: number, q: T.Tensor, k: T.Tensor, v: T.Tensor): T.Tensor {
  let out: T.Tensor;
  if (mode === 'full') out = T.scaledDotProductAttention(q, k, v);
  else if (mode === 'window') out = T.scaledDotProductAttention(q, k, v, { causal: true, window: W });
  else if (mode === 'padding') {
    const m = T.zeros([B, Tn]);
    const md = m.data();
    for (let b = 0; b < B; b++) for (let j = Math.ceil(0.75 * Tn); j < Tn; j++) md[b * Tn + j] = 1;
    out = T.scaledDotProductAttention(q, k, v, { causal: true, keyPaddingMask: m });
  } else if (mode === 'rope') {
    const { cos, sin } = rotary.halfTables(Tn);
    out = T.scaledDotProductAttention(q, k, v, { causal: true, rope: { cos, sin } });
  } else if (mode === 'rope-explicit') out = T.scaledDotProductAttention(rotary.forward(q), rotary.forward(k), v, { causal: true });
  else out = T.scaledDotProductAttention(q, k, v, { causal: true });
  return out;
}

const implText = bf16 && getBackend().name === 'native' ? ` (${loadNativeAddon()?.attentionLowpInfo().impl})` : '';
console.log(`attention benchmark: B=${B} H=${H} D=${D} backend=${getBackend().name} dtype=${values.dtype}${implText} reps=${reps} (median ms of forward + backward)`);
console.log('mode           T      median ms   tokens/s');
const gen = new T.Generator(0);
for (const Tn of lengths) {
  const mk = (): T.Tensor => T.randn([B, H, Tn, D], { generator: gen }).keep().requiresGrad_();
  const q = mk(), k = mk(), v = mk(), g = T.randn([B, H, Tn, D], { generator: gen }).keep();
  for (const mode of modes) {
    run(mode, Tn, q, k, v, g);
    const ms: number[] = [];
    for (let r = 0; r < reps; r++) ms.push(run(mode, Tn, q, k, v, g));
    ms.sort((a, b) => a - b);
    const med = ms[Math.floor(ms.length / 2)];
    console.log(`${mode.padEnd(14)} ${String(Tn).padStart(5)} ${med.toFixed(1).padStart(12)} ${Math.round((B * Tn) / (med / 1000)).toString().padStart(10)}`);
  }
}
