/**
 * bfloat16 GEMM throughput through the native addon (`matmulLowp`, operands already bf16, float32
 * result): the bf16 peak that bf16 model FLOPs utilisation (MFU) is measured against, for every
 * implementation present (oneDNN's matmul, the own vdpbf16ps kernel). A benchmark, never a test.
 *
 *   node dist/bench/bf16-gemm.js [--size 2048] [--threads 2] [--reps 10]
 *
 * prints one JSON line; `gflops` is the implementation trainformer uses (`impl`), `byImpl` all of them.
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

const USAGE = 'usage: node dist/bench/bf16-gemm.js [--size 2048] [--threads 2] [--reps 10]';

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = benchArgs(USAGE, { size: { type: 'string', number: 'count' }, threads: { type: 'string', number: 'count' }, reps: { type: 'string', number: 'count' } });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const r = measureBf16Peak({ size: num(values.size), threads: num(values.threads), reps: num(values.reps) });
  if (!r) {
    process.stderr.write("bf16 GEMM bench: native addon not built (run 'npm run build:native')\n");
    process.exit(1);
  }
  process.stdout.write(JSON.stringify(r) + '\n');
}
