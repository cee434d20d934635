/**
 * cblas_sgemm throughput through the native addon: the float32 peak that model FLOPs utilisation
 * (MFU) is measured against. A benchmark, never a test.
 *
 *   node dist/bench/sgemm.js [--size 2048] [--threads 2] [--reps 10]
 *
 * prints one JSON line. The figure depends on the process environment: OPENBLAS_CORETYPE /
 * OPENBLAS_L2_SIZE (which force slower kernels here) and which libopenblas.so.0 is loaded
 * (pthread or OpenMP variant, LD_LIBRARY_PATH); see ../shared/bench/README.md.
 */
import { pathToFileURL } from 'node:url';
import { loadNativeAddon, type BlasInfo } from '../src/backend/native/index.js';

export interface SgemmPeak {
  /** Median GFLOPS over the timed repetitions (2·n³ flops per product). */
  gflops: number;
  /** Best repetition. */
  bestGflops: number;
  size: number;
  threads: number;
  reps: number;
  blas: BlasInfo;
  /** OpenBLAS variables that were set in this process (they change the kernels OpenBLAS picks). */
  env: Record<string, string>;
}

export interface SgemmOptions {
  /** Matrix size n of the n×n·n×n product (default 2048). */
  size?: number;
  /** Threads for OpenBLAS and the kernel pool during the measurement (default 2); restored after. */
  threads?: number;
  /** Timed repetitions after two warm-up products (default 10). */
  reps?: number;
}

/**
 * Measures float32 GEMM throughput (C = A·B, n×n, row-major, beta = 0) with the native addon's
 * `cblas_sgemm`. Returns null when the addon is not built.
 */
export function measureSgemmPeak(opts: SgemmOptions = {}): SgemmPeak | null {
  const addon = loadNativeAddon();
  if (!addon) return null;
  const n = opts.size ?? 2048, threads = opts.threads ?? 2, reps = opts.reps ?? 10;
  const prevPool = addon.numThreads(), prevBlas = addon.blasInfo().threads;
  addon.setNumThreads(threads);
  try {
    const a = new Float32Array(n * n), b = new Float32Array(n * n), c = new Float32Array(n * n);
    for (let i = 0; i < n * n; i++) {
      a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
      b[i] = ((i * 104729) % 1000) / 1000 - 0.5;
    }
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
    const env: Record<string, string> = {};
    for (const k of ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'LD_LIBRARY_PATH']) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    return {
      gflops: rates[Math.floor(rates.length / 2)],
      bestGflops: rates[rates.length - 1],
      size: n,
      threads,
      reps,
      blas: addon.blasInfo(),
      env,
    };
  } finally {
    addon.setNumThreads(prevPool, prevBlas);
  }
}

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = measureSgemmPeak({ size: arg('--size'), threads: arg('--threads'), reps: arg('--reps') });
  if (!r) {
    process.stderr.write("sgemm bench: native addon not built (run 'npm run build:native')\n");
    process.exit(1);
  }
  process.stdout.write(JSON.stringify(r) + '\n');
}
