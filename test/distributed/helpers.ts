// Shared by the distributed tests: finding mpirun, running a worker, comparing two runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findMpiAddon } from '../../src/distributed/mpi.js';
import { describeEnd, type JobResult, startJob } from './job.js';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const worker = path.join(here, 'fixtures', 'ddp-worker.js');

/**
 * Why the MPI tests cannot run here, or null when they can: mpirun on the PATH and the MPI binding
 * built. A worktree whose addons were copied from elsewhere may lack the binding: then the tests are
 * skipped with a notice, except in CI (.ci/run sets TRAINFORMER_REQUIRE_MPI=1), where a missing
 * binding fails them.
 */
export function mpirunMissing(): string | null {
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return 'mpirun not found (install openmpi-bin and libopenmpi-dev: scripts/install.sh does): distributed test skipped';
  if (!findMpiAddon() && process.env.TRAINFORMER_REQUIRE_MPI !== '1') {
    return "the MPI binding is not built (run 'npm run build:native'): distributed test skipped";
  }
  return null;
}

/** mpirun options for N ranks on this machine (as root too, more ranks than cores allowed). */
export function mpirunArgs(n: number): string[] {
  return ['--oversubscribe', '--allow-run-as-root', '-np', String(n), ...passEnv()];
}

/** `-x NAME` for the trainformer settings of this environment, so every rank runs like this process. */
export function passEnv(): string[] {
  return ['TRAINFORMER_BACKEND', 'TRAINFORMER_NUM_THREADS'].filter((k) => process.env[k] !== undefined).flatMap((k) => ['-x', k]);
}

/**
 * Runs a command to its end; fails the test with its output when it exits non-zero or does not end
 * within `boundSeconds` of run time (time spent waiting for a CPU is not counted: job.ts).
 */
export async function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; boundSeconds?: number } = {}): Promise<JobResult> {
  const boundSeconds = options.boundSeconds ?? 180;
  const r = await startJob(cmd, args, { env: options.env, boundSeconds }).done;
  if (r.hung || r.status !== 0) assert.fail(`${describeEnd(cmd, args, r, boundSeconds)}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

export interface RunResult {
  size: number;
  losses: number[];
  params: Record<string, number[]>;
  stateBytes: number[];
}

export function readResult(file: string): RunResult {
  return JSON.parse(readFileSync(file, 'utf8')) as RunResult;
}

/** Per tensor ‖a − b‖₂ / ‖b‖₂, the largest over the tensors, and the tensor it was found in. */
export function maxRelativeDifference(a: Record<string, number[]>, b: Record<string, number[]>): { value: number; name: string } {
  assert.deepEqual(Object.keys(a), Object.keys(b));
  let worst = { value: 0, name: '' };
  for (const name of Object.keys(a)) {
    let d = 0, n = 0;
    a[name].forEach((x, i) => { d += (x - b[name][i]) ** 2; n += b[name][i] ** 2; });
    const rel = Math.sqrt(d) / Math.max(Math.sqrt(n), 1e-30);
    if (rel > worst.value) worst = { value: rel, name };
  }
  return worst;
}

/** Largest |a − b| / |b| over the logged losses. */
export function maxLossDifference(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.abs(b[i])));
}
