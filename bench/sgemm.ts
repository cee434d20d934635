/**
 * cblas_sgemm throughput through the native addon: the float32 peak that model FLOPs utilisation
 * (MFU) is measured against. A benchmark, never a test.
 *
 *   node dist/bench/sgemm.js [--size 2048] [--threads 2] [--reps 10]
 *
 * prints one JSON line. Two ways of using the threads are timed: OpenBLAS's own threads
 * (`openblasGflops`) and the addon's pool splitting the product into single-threaded cblas_sgemm
 * calls (`poolGflops`, how trainformer runs its products); `gflops` is the higher of the two, so
 * MFU is never flattered by a slow peak. The figures depend on the environment: OPENBLAS_CORETYPE /
 * OPENBLAS_L2_SIZE force slower kernels here, and LD_LIBRARY_PATH picks the pthread or OpenMP
 * build of libopenblas.so.0 (../shared/bench/README.md).
 */
import { pathToFileURL } from 'node:url';
import { loadNativeAddon, type BlasInfo, type NativeAddon } from '../src/backend/native/index.js';
import { benchArgs } from './args.js';

export interface SgemmPeak {
  /** max(openblasGflops, poolGflops): the peak MFU is measured against. */
  gflops: number;
  /** Median GFLOPS with OpenBLAS threading the product itself (2·n³ flops per product). */
  openblasGflops: number;
  /** Median GFLOPS with the addon's pool splitting the product (trainformer's own path). */
  poolGflops: number;
  size: number;
  threads: number;
  reps: number;
  blas: BlasInfo;
  /** OpenBLAS-related variables set in this process. */
  env: Record<string, string>;
}

export interface SgemmOptions {
  /** Matrix size n of the n×n·n×n product (default 2048). */
  size?: number;
  /** Threads used (default 2); the addon's settings are restored afterwards. */
  threads?: number;
  /** Timed repetitions after two warm-up products (default 10). */
  reps?: number;
}

function medianGflops(addon: NativeAddon, n: number, reps: number, a: Float32Array, b: Float32Array, c: Float32Array): number {
  const flops = 2 * n * n * n;
  const run = (): number => {
    const t0 = process.hrtime.bigint();
    addon.matmul(a, b, c, 1, n, n, n, false, false, 0, 0, 1, 0);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  run();
  run();
  const rates: number[] = [];
  for (let r = 0; r < reps; r++) rates.push(flops / run() / 1e9);
  rates.sort((x, y) => x - y);
  return rates[Math.floor(rates.length / 2)];
}

/**
 * Measures float32 GEMM throughput (C = A·B, n×n, row-major, beta = 0) through the native addon's
 * `cblas_sgemm`. Returns null when the addon is not built.
 */
export function measureSgemmPeak(opts: SgemmOptions = {}): SgemmPeak | null {
  const addon = loadNativeAddon();
  if (!addon) return null;
  const n = opts.size ?? 2048, threads = opts.threads ?? 2, reps = opts.reps ?? 10;
  const prevPool = addon.numThreads(), prevBlas = addon.blasInfo().threads;
  const a = new Float32Array(n * n), b = new Float32Array(n * n), c = new Float32Array(n * n);
  for (let i = 0; i < n * n; i++) {
    a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    b[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  }
  try {
    addon.setNumThreads(1, threads);  // OpenBLAS threads, no pool split
    const openblasGflops = medianGflops(addon, n, reps, a, b, c);
    const blas = addon.blasInfo();
    addon.setNumThreads(threads, 1);  // pool split, single-threaded OpenBLAS calls
    const poolGflops = medianGflops(addon, n, reps, a, b, c);
    const env: Record<string, string> = {};
    for (const k of ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'LD_LIBRARY_PATH',
      'TRAINFORMER_NUM_THREADS', 'TRAINFORMER_BLAS_THREADS']) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    return { gflops: Math.max(openblasGflops, poolGflops), openblasGflops, poolGflops, size: n, threads, reps, blas, env };
  } finally {
    addon.setNumThreads(prevPool, prevBlas);
  }
}

const USAGE = 'usage: node dist/bench/sgemm.js [--size 2048] [--threads 2] [--reps 10]';

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = benchArgs(USAGE, { size: { type: 'string', number: 'count' }, threads: { type: 'string', number: 'count' }, reps: { type: 'string', number: 'count' } });
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const r = measureSgemmPeak({ size: num(values.size), threads: num(values.threads), reps: num(values.reps) });
  if (!r) {
    process.stderr.write("sgemm bench: native addon not built (run 'npm run build:native')\n");
    process.exit(1);
  }
  process.stdout.write(JSON.stringify(r) + '\n');
}
