// Where ../shared is: TRAINFORMER_SHARED, else beside the repository root.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  // dist/bench/shared.js → repository root
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function sharedDir(): string {
  return process.env.TRAINFORMER_SHARED ?? path.resolve(repoRoot(), '..', 'shared');
}

export const OPENMP_BLAS = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

/**
 * PyTorch's best environment on this machine (../shared/bench/README.md), used for every
 * implementation: OpenBLAS core/L2 overrides unset, glibc malloc tuned, the OpenMP OpenBLAS first on
 * LD_LIBRARY_PATH when installed, `threads` threads everywhere.
 */
export function bestEnv(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  env.MALLOC_MMAP_THRESHOLD_ = '4294967296';
  env.MALLOC_TRIM_THRESHOLD_ = '68719476736';
  env.MALLOC_TOP_PAD_ = '1073741824';
  if (existsSync(OPENMP_BLAS)) env.LD_LIBRARY_PATH = [OPENMP_BLAS, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  env.OPENBLAS_NUM_THREADS = String(threads);
  env.OMP_NUM_THREADS = String(threads);
  env.TRAINFORMER_NUM_THREADS = String(threads);
  return env;
}

/** Whether /usr/bin/python3 imports torch. */
export function hasTorch(): boolean {
  if (!existsSync('/usr/bin/python3')) return false;
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
}
