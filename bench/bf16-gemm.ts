/**
 * bfloat16 GEMM throughput through the native addon (`matmulLowp`, operands already bf16, float32
 * result): the bf16 peak that bf16 model FLOPs utilisation (MFU) is measured against, for every
 * implementation present (oneDNN's matmul, the own vdpbf16ps kernel). A benchmark, never a test.
 *
 *   node dist/bench/bf16-gemm.js [--size 2048] [--threads 2] [--reps 10]
 *   node dist/bench/bf16-gemm.js --step small|gpt2 [--impl dnnl|own] [--threads 2] [--reps 10]
 *
 * prints one JSON line; `gflops` is the implementation trainformer uses (`impl`), `byImpl` all of them.
 * `--step` instead times every bf16 product of that config's training step (bench/step-profile.ts's
 * shapes, operand kinds and transposes as the step passes them: `h` bf16 bits, `f` float32) with
 * each implementation, one line per shape: median ms (the fastest rep's, and the median CPU ms of the
 * process: with --threads 1 a figure that other processes on the machine disturb less) and GFLOPS.
 */
import { pathToFileURL } from 'node:url';
import { loadNativeAddon, type Bf16GemmImpl } from '../src/backend/native/index.js';
import { benchArgs } from './args.js';

export interface Bf16Peak {
  /** Median GFLOPS of the bf16 GEMM trainformer uses (2·n³ flops per product). */
  gflops: number;
  impl: Bf16GemmImpl;
  byImpl: Partial<Record<Bf16GemmImpl, number>>;
  size: number;
  threads: number;
  reps: number;
}

/** Measures C = A·B (n×n, bf16 operands, float32 C) per implementation; null without the addon. */
export function measureBf16Peak(opts: { size?: number; threads?: number; reps?: number } = {}): Bf16Peak | null {
  const addon = loadNativeAddon();
  if (!addon) return null;
  const n = opts.size ?? 2048, threads = opts.threads ?? 2, reps = opts.reps ?? 10;
  const prevPool = addon.numThreads(), prevBlas = addon.blasInfo().threads;
  const info = addon.bf16GemmInfo();
  const a = new Float32Array(n * n), b = new Float32Array(n * n), c = new Float32Array(n * n);
  for (let i = 0; i < n * n; i++) {
    a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    b[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  }
  const a16 = new Uint16Array(n * n), b16 = new Uint16Array(n * n);
  addon.castToLowp(0, a, a16, n * n);
  addon.castToLowp(0, b, b16, n * n);
  const byImpl: Partial<Record<Bf16GemmImpl, number>> = {};
  try {
    addon.setNumThreads(threads, 1);
    const impls: Bf16GemmImpl[] = info.cpuBf16 ? (info.dnnl ? ['dnnl', 'own'] : ['own']) : ['emulate'];
    for (const impl of impls) {
      addon.bf16GemmInfo(impl);
      const run = (): number => {
        const t0 = process.hrtime.bigint();
        addon.matmulLowp(0, a16, b16, c, 1, n, n, n, false, false, 0, 0, 1, 0);
        return Number(process.hrtime.bigint() - t0) / 1e9;
      };
      run();
      run();
      const rates: number[] = [];
      for (let r = 0; r < reps; r++) rates.push((2 * n * n * n) / run() / 1e9);
      rates.sort((x, y) => x - y);
      byImpl[impl] = rates[Math.floor(rates.length / 2)];
    }
  } finally {
    addon.bf16GemmInfo(info.impl);
    addon.setNumThreads(prevPool, prevBlas);
  }
  return { gflops: byImpl[info.impl] ?? NaN, impl: info.impl, byImpl, size: n, threads, reps };
}

/** One product as the step calls it: matmulLowp (m, n, k, transposes) or linearLowp (rows m, outF n, inF k, bias). */
interface StepShape { op: 'mm' | 'lin'; m: number; n: number; k: number; ta?: boolean; tb?: boolean; a: 'h' | 'f'; b: 'h' | 'f'; out: 'h' | 'f' }

/** The bf16 products of a training step of bench/configs.json's `small` / `gpt2` (rows N = B·T, width C, MLP 4C). */
export function stepShapes(config: string): StepShape[] {
  const dims: Record<string, [number, number, number]> = { small: [2048, 384, 65], gpt2: [512, 768, 50257] };
  const d = dims[config];
  if (!d) throw new Error(`--step: unknown config ${config} (small or gpt2)`);
  const [N, C, V] = d, F = 4 * C, Q = 3 * C;
  const out: StepShape[] = [
    // forward: x·Wᵀ + b (q/k/v and MLP up write bf16, the projections float32)
    { op: 'lin', m: N, n: Q, k: C, a: 'h', b: 'f', out: 'h' },
    { op: 'lin', m: N, n: C, k: C, a: 'h', b: 'f', out: 'f' },
    { op: 'lin', m: N, n: F, k: C, a: 'h', b: 'f', out: 'h' },
    { op: 'lin', m: N, n: C, k: F, a: 'h', b: 'f', out: 'f' },
    // backward dX = g·W
    { op: 'mm', m: N, n: C, k: Q, a: 'h', b: 'f', out: 'f' },
    { op: 'mm', m: N, n: C, k: C, a: 'h', b: 'f', out: 'f' },
    { op: 'mm', m: N, n: C, k: F, a: 'h', b: 'f', out: 'f' },
    { op: 'mm', m: N, n: F, k: C, a: 'h', b: 'f', out: 'h' },
    // backward dW = gᵀ·x
    { op: 'mm', m: Q, n: C, k: N, ta: true, a: 'h', b: 'h', out: 'f' },
    { op: 'mm', m: C, n: C, k: N, ta: true, a: 'h', b: 'h', out: 'f' },
    { op: 'mm', m: F, n: C, k: N, ta: true, a: 'h', b: 'h', out: 'f' },
    { op: 'mm', m: C, n: F, k: N, ta: true, a: 'h', b: 'h', out: 'f' },
  ];
  if (config === 'gpt2') {
    // the fused LM head + cross-entropy: logits per 128-row chunk, dH, dW (tied embedding)
    out.push({ op: 'mm', m: 128, n: V, k: C, tb: true, a: 'h', b: 'h', out: 'f' });
    out.push({ op: 'mm', m: N, n: C, k: V, a: 'h', b: 'h', out: 'f' });
    out.push({ op: 'mm', m: V, n: C, k: N, ta: true, a: 'h', b: 'h', out: 'f' });
  } else {
    out.push({ op: 'mm', m: N, n: V, k: C, tb: true, a: 'h', b: 'h', out: 'f' });
  }
  return out;
}

/** The step-profile's name of a shape. */
function shapeName(s: StepShape): string {
  const kinds = s.a + s.b;
  if (s.op === 'lin') return `linearLowp ${kinds}+b→${s.out} [${s.m}x${s.k}]·[${s.n}x${s.k}]ᵀ`;
  const A = s.ta ? `[${s.m}x${s.k}ᵀ]` : `[${s.m}x${s.k}]`, B = s.tb ? `[${s.k}x${s.n}ᵀ]` : `[${s.k}x${s.n}]`;
  return `matmulLowp ${kinds}→${s.out} 1x${A}·${B}`;
}

/** Median ms per call of every step shape with every implementation present. */
export function measureStepShapes(config: string, opts: { threads?: number; reps?: number; impl?: Bf16GemmImpl } = {}): { shape: string; ms: Partial<Record<Bf16GemmImpl, number>>; best: Partial<Record<Bf16GemmImpl, number>>; cpu: Partial<Record<Bf16GemmImpl, number>>; gflops: Partial<Record<Bf16GemmImpl, number>> }[] | null {
  const addon = loadNativeAddon();
  if (!addon) return null;
  const threads = opts.threads ?? 2, reps = opts.reps ?? 10;
  const prevPool = addon.numThreads(), prevBlas = addon.blasInfo().threads;
  const info = addon.bf16GemmInfo();
  // One implementation per process gives steadier figures: oneDNN's OpenMP workers and the pool's
  // threads each spin a while after their work and slow the other's next product on 2 cores.
  const impls: Bf16GemmImpl[] = opts.impl ? [opts.impl] : info.cpuBf16 ? (info.dnnl ? ['dnnl', 'own'] : ['own']) : ['emulate'];
  const fill = (kind: 'h' | 'f', len: number, seed: number): Float32Array | Uint16Array => {
    const f = new Float32Array(len);
    for (let i = 0; i < len; i++) f[i] = (((i + seed) * 7919) % 1000) / 1000 - 0.5;
    if (kind === 'f') return f;
    const h = new Uint16Array(len);
    addon.castToLowp(0, f, h, len);
    return h;
  };
  const rows = [];
  try {
    addon.setNumThreads(threads, 1);
    for (const s of stepShapes(config)) {
      const a = fill(s.a, s.m * s.k, 1), b = fill(s.b, s.k * s.n, 2), bias = s.op === 'lin' ? fill('f', s.n, 3) as Float32Array : null;
      const c = s.out === 'h' ? new Uint16Array(s.m * s.n) : new Float32Array(s.m * s.n);
      const ms: Partial<Record<Bf16GemmImpl, number>> = {}, best: Partial<Record<Bf16GemmImpl, number>> = {}, cpu: Partial<Record<Bf16GemmImpl, number>> = {}, gflops: Partial<Record<Bf16GemmImpl, number>> = {};
      for (const impl of impls) {
        addon.bf16GemmInfo(impl);
        const run = (): number => {
          const t0 = process.hrtime.bigint(), u0 = process.cpuUsage();
          if (s.op === 'lin') addon.linearLowp(0, a, b, bias, c, s.m, s.n, s.k);
          else addon.matmulLowp(0, a, b, c, 1, s.m, s.n, s.k, !!s.ta, !!s.tb, 0, 0, 1, 0);
          const u = process.cpuUsage(u0);
          cpus.push((u.user + u.system) / 1000);
          return Number(process.hrtime.bigint() - t0) / 1e6;
        };
        const cpus: number[] = [];
        run();
        run();
        const t: number[] = [];
        cpus.length = 0;
        for (let r = 0; r < reps; r++) t.push(run());
        t.sort((x, y) => x - y);
        cpus.sort((x, y) => x - y);
        cpu[impl] = cpus[Math.floor(cpus.length / 2)];
        ms[impl] = t[Math.floor(t.length / 2)];
        best[impl] = t[0];
        gflops[impl] = (2 * s.m * s.n * s.k) / ms[impl]! / 1e6;
      }
      rows.push({ shape: shapeName(s), ms, best, cpu, gflops });
    }
  } finally {
    addon.bf16GemmInfo(info.impl);
    addon.setNumThreads(prevPool, prevBlas);
  }
  return rows;
}

const USAGE = 'usage: node dist/bench/bf16-gemm.js [--size 2048] [--threads 2] [--reps 10] [--step small|gpt2 [--impl dnnl|own]]';

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = benchArgs(USAGE, { step: { type: 'string' }, impl: { type: 'string' }, size: { type: 'string', number: 'count' }, threads: { type: 'string', number: 'count' }, reps: { type: 'string', number: 'count' } });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  if (values.step !== undefined) {
    const rows = measureStepShapes(values.step, { threads: num(values.threads), reps: num(values.reps), impl: values.impl as Bf16GemmImpl | undefined });
    if (!rows) {
      process.stderr.write("bf16 GEMM bench: native addon not built (run 'npm run build:native')\n");
      process.exit(1);
    }
    for (const r of rows) {
      const cols = Object.entries(r.ms).map(([impl, ms]) => `${impl} ${ms!.toFixed(2)} ms (min ${r.best[impl as Bf16GemmImpl]!.toFixed(2)}, cpu ${r.cpu[impl as Bf16GemmImpl]!.toFixed(2)}) ${r.gflops[impl as Bf16GemmImpl]!.toFixed(0)} GF`);
      process.stdout.write(`${cols.join('  ')}  ${r.shape}\n`);
    }
    process.exit(0);
  }
  const r = measureBf16Peak({ size: num(values.size), threads: num(values.threads), reps: num(values.reps) });
  if (!r) {
    process.stderr.write("bf16 GEMM bench: native addon not built (run 'npm run build:native')\n");
    process.exit(1);
  }
  process.stdout.write(JSON.stringify(r) + '\n');
}
