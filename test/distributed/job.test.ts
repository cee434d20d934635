// The distributed tests' job runner (job.ts): its bound counts run time, not time spent waiting for
// a CPU; a job stopped at its bound keeps its output (mpirun forwards the ranks' last lines instead
// of dying of SIGPIPE, as it did under spawnSync's timeout) and leaves no process behind.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { mpirunArgs, mpirunMissing } from './helpers.js';
import { startJob } from './job.js';

/** Pids whose command line contains `marker`. */
function withMarker(marker: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker); } catch { return false; }
  }).map(Number);
}

test('two busy loops on one core: the time each waits for it is not counted towards the bound', async () => {
  const cpu = /^Cpus_allowed_list:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  const marker = `tf-job-test-${process.pid}`;
  const loop = `sh -c 'while :; do :; done' ${marker}`;
  const r = await startJob('taskset', ['-c', cpu, 'sh', '-c', `${loop} & ${loop} & wait`], { boundSeconds: 2, graceSeconds: 1 }).done;
  assert.ok(r.hung);
  // Two loops share one core, so each runs at most half the time and waits the rest: at least
  // about half of the wall time is not credited, and the 2 s bound takes about 4 s or more.
  assert.ok(r.waitSeconds >= 0.4 * r.wallSeconds, `${r.waitSeconds.toFixed(2)} s waiting of ${r.wallSeconds.toFixed(2)} s wall`);
  assert.ok(r.wallSeconds >= 3, `${r.wallSeconds.toFixed(2)} s wall`);
  // The loops outlived the shell that was sent SIGTERM; they were killed with it.
  assert.deepEqual(withMarker(marker), []);
  process.stdout.write(`# busy loops: bound 2 s of run time reached after ${r.wallSeconds.toFixed(1)} s wall, ${r.waitSeconds.toFixed(1)} s waiting\n`);
});

test('a sleeping job counts in full: stopped at its bound', async () => {
  const r = await startJob('sleep', ['600'], { boundSeconds: 1 }).done;
  assert.ok(r.hung);
  assert.equal(r.signal, 'SIGTERM');
});

test('an mpirun job stopped at its bound keeps its ranks\' last lines', { skip: mpirunMissing() ?? false }, async () => {
  const rank = "process.on('SIGTERM', () => { process.stderr.write(`rank ${process.env.OMPI_COMM_WORLD_RANK} got SIGTERM\\n`); process.exit(3); }); setInterval(() => {}, 1000);";
  const r = await startJob('mpirun', [...mpirunArgs(2), process.execPath, '-e', rank], { boundSeconds: 5 }).done;
  assert.ok(r.hung);
  assert.notEqual(r.signal, 'SIGPIPE');
  assert.match(r.stderr, /^rank [01] got SIGTERM$/m);
});
