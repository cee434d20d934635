// Faults in a data-parallel job end it with one clear line instead of a hang: a rank that hangs
// (SIGSTOP) makes the others fail their collective at the deadline (--timeout 5 s here, ddpTimeout
// in configs) and abort the job; a rank that dies (SIGKILL) makes the launcher stop the others, which
// say so; ranks started with different configs stop at the start-up check, naming what differs
// (from whichever rank aborts first). Only the hung-rank job gets the 5 s deadline: the others keep
// the worker's long one, so a rank that waits for a CPU on a loaded machine cannot end them at the
// deadline instead of the way under test.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { mpirunArgs, mpirunMissing, worker } from './helpers.js';
import { startJob } from './job.js';

const skip = mpirunMissing();
const dir = mkdtempSync(path.join(tmpdir(), 'trainformer-faults-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function faulty(fault: string, timeout?: string): Promise<{ status: number | null; stderr: string; seconds: number }> {
  // The job's bound is the "no hang" check: far above the 5 s deadline, far below forever.
  const job = startJob('mpirun', [...mpirunArgs(2), process.execPath, worker, '--worker', '--batch', '4', ...(timeout ? ['--timeout', timeout] : []),
    '--fault', fault, '--fault-rank', '1', '--fault-step', '3', '--out', path.join(dir, `${fault}.json`)], { boundSeconds: 150 });
  const r = await job.done;
  assert.ok(!r.hung, `mpirun did not end (${r.wallSeconds.toFixed(0)} s wall, ${r.waitSeconds.toFixed(0)} s waiting for a CPU):\n${job.output()}`);
  return { status: r.status, stderr: job.output(), seconds: r.wallSeconds };
}

test('a hung rank: the other fails its all-reduce at the deadline with one line and aborts the job', { skip: skip ?? false }, async () => {
  const r = await faulty('stop', '5');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^rank 0 of 2: all-reduce of [^\n]* at step \d+ did not complete within 5 s: another rank stopped, hung or is far behind \(the deadline is ddpTimeout\)$/m);
  process.stdout.write(`# hung rank: job ended after ${r.seconds.toFixed(1)} s (deadline 5 s)\n`);
});

test('a killed rank: the launcher stops the other, which says why', { skip: skip ?? false }, async () => {
  const r = await faulty('kill');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^trainformer: rank 0 of 2 stopped by the launcher \(SIGTERM\): the job was interrupted or another rank exited or failed \(see mpirun's message\)$/m);
  process.stdout.write(`# killed rank: job ended after ${r.seconds.toFixed(1)} s\n`);
});

test('ranks with different configs stop at start, naming the config and the rank', { skip: skip ?? false }, async () => {
  const r = await faulty('mismatch');
  assert.notEqual(r.status, 0);
  // Every rank finds the difference from the same all-gathered hashes; the first to print it ends
  // the job (MPI_Abort), so the line may come from either rank: which one is a race, not the result.
  assert.match(r.stderr, /^rank [01] of 2: the ranks do not run the same job: compared with rank 0, config differs on rank 1;/m);
  assert.doesNotMatch(r.stderr, /version differs/);
});
