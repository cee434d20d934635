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
 * `--dtype bf16` runs the forward under autocast (bfloat16: AMX tiles on the native backend where the
 * CPU has them); `--bf16-impl emulate` picks the float32 kernel on the bf16 values instead (native).
 */
import { badFlag, benchArgs } from './args.js';
import { autocast } from '../src/amp/autocast.js';
import { loadNativeAddon, type AttentionLowpImpl } from '../src/backend/native/index.js';
import { getBackend } from '../src/backend/index.js';
import { RotaryEmbedding } from '../src/nn/positional.js';
import * as T from '../src/tensor/index.js';

const USAGE = 'usage: node dist/bench/attention.js [--t 512,1024,2048,4096] [--b 1] [--h 4] [--d 64] [--reps 5] [--modes causal,full,window,padding,rope,rope-explicit] [--window 256] [--dtype float32|bf16] [--bf16-impl amx|emulate]';

const { values } = benchArgs(USAGE, {
  t: { type: 'string', number: 'counts', default: '512,1024,2048,4096' }, b: { type: 'string', number: 'count', default: '1' }, h: { type: 'string', number: 'count', default: '4' },
  d: { type: 'string', number: 'count', default: '64' }, reps: { type: 'string', number: 'count', default: '5' }, modes: { type: 'string', default: 'causal,full' },
  window: { type: 'string', number: 'int', default: '256' }, dtype: { type: 'string', default: 'float32' }, 'bf16-impl': { type: 'string' },
});
if (values.dtype !== 'float32' && values.dtype !== 'bf16') badFlag(`--dtype must be float32 or bf16, got '${values.dtype}'`);
const bf16 = values.dtype === 'bf16';
const impl = values['bf16-impl'];
if (impl !== undefined) {
  if (impl !== 'amx' && impl !== 'emulate') badFlag(`--bf16-impl must be amx or emulate, got '${impl}'`);
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
    const out = bf16 ? autocast({ dtype: 'bfloat16' }, () => forward(mode, Tn, q, k, v)) : forward(mode, Tn, q, k, v);
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
