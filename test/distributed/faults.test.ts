// Faults in a data-parallel job end it with one clear line instead of a hang: a rank that hangs
// (SIGSTOP) makes the others fail their collective at the deadline (--timeout 5 s here, ddpTimeout
// in configs) and abort the job; a rank that dies (SIGKILL) makes the launcher stop the others, which
// say so; ranks started with different configs stop at the start-up check, naming what differs
// (from whichever rank aborts first).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { mpirunArgs, mpirunMissing, worker } from './helpers.js';

const skip = mpirunMissing();
const dir = mkdtempSync(path.join(tmpdir(), 'trainformer-faults-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function faulty(fault: string): { status: number | null; stderr: string; seconds: number } {
  const t0 = Date.now();
  // The spawn timeout is the "no hang" bound: far above the 5 s deadline, far below forever.
  const r = spawnSync('mpirun', [...mpirunArgs(2), process.execPath, worker, '--worker', '--batch', '4', '--timeout', '5',
    '--fault', fault, '--fault-rank', '1', '--fault-step', '3', '--out', path.join(dir, `${fault}.json`)], { encoding: 'utf8', timeout: 150_000 });
  assert.equal(r.error, undefined, `mpirun did not end: ${r.error?.message}`);
  return { status: r.status, stderr: r.stdout + r.stderr, seconds: (Date.now() - t0) / 1000 };
}

test('a hung rank: the other fails its all-reduce at the deadline with one line and aborts the job', { skip: skip ?? false }, () => {
  const r = faulty('stop');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^rank 0 of 2: all-reduce of [^\n]* at step \d+ did not complete within 5 s: another rank stopped, hung or is far behind \(the deadline is ddpTimeout\)$/m);
  process.stdout.write(`# hung rank: job ended after ${r.seconds.toFixed(1)} s (deadline 5 s)\n`);
});

test('a killed rank: the launcher stops the other, which says why', { skip: skip ?? false }, () => {
  const r = faulty('kill');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^trainformer: rank 0 of 2 stopped by the launcher \(SIGTERM\): another rank exited or failed/m);
  process.stdout.write(`# killed rank: job ended after ${r.seconds.toFixed(1)} s\n`);
});

test('ranks with different configs stop at start, naming the config and the rank', { skip: skip ?? false }, () => {
  const r = faulty('mismatch');
  assert.notEqual(r.status, 0);
  // Every rank finds the difference from the same all-gathered hashes; the first to print it ends
  // the job (MPI_Abort), so the line may come from either rank: which one is a race, not the result.
  assert.match(r.stderr, /^rank [01] of 2: the ranks do not run the same job: compared with rank 0, config differs on rank 1;/m);
  assert.doesNotMatch(r.stderr, /version differs/);
});
