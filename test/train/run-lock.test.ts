/**
 * One training per outputDir (src/train/run-lock.ts): a second lock on a held folder is refused with
 * one line naming outputDir, a lock whose process has exited is taken over, another host's lock is
 * honoured, and release frees the folder. The CLI case (two `trainformer train` into one folder)
 * is in test/cli/train-cli.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { RUN_LOCK_FILE, checkRunLock, lockRunFolder } from '../../src/train/run-lock.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'tf-lock-'));

test('a held folder is refused until released; release removes the lock file', () => {
  const dir = fresh();
  const release = lockRunFolder(dir);
  const info = JSON.parse(readFileSync(join(dir, RUN_LOCK_FILE), 'utf8'));
  assert.equal(info.pid, process.pid);
  assert.throws(() => lockRunFolder(dir), (e: unknown) => e instanceof ConfigError && /^outputDir: \S+ is in use by another training \(this process, since /.test((e as Error).message));
  assert.throws(() => checkRunLock(dir), ConfigError);
  release();
  release(); // idempotent
  assert.equal(existsSync(join(dir, RUN_LOCK_FILE)), false);
  checkRunLock(dir);
  lockRunFolder(dir)();
});

test('a lock left by an exited process (kill -9, a crash) is stale and taken over', () => {
  const dir = fresh();
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(gone.stdout);
  assert.ok(deadPid > 0);
  writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({ pid: deadPid, hostname: hostname(), started: 'then' }));
  checkRunLock(dir);
  const release = lockRunFolder(dir);
  assert.equal(JSON.parse(readFileSync(join(dir, RUN_LOCK_FILE), 'utf8')).pid, process.pid);
  release();
});

test("another host's lock cannot be checked and is honoured", () => {
  const dir = fresh();
  writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({ pid: 1, hostname: 'some-other-host', started: 'then' }));
  assert.throws(() => lockRunFolder(dir), /in use by another training \(process 1 on some-other-host, since then\).*remove \S+trainformer\.lock\)$/);
  assert.throws(() => checkRunLock(dir), ConfigError);
});

test('a lock whose process has exited but is not yet reaped (a zombie) is stale', async () => {
  const dir = fresh();
  // A forked child exits at once and its parent sleeps without ever waiting for it: a zombie.
  // Python, not `sh -c 'true & exec sleep'`: dash may reap `true` before the exec (seen under load).
  // The wait for the zombie state is generous: on a loaded machine the child may take seconds to run.
  const { spawn } = await import('node:child_process');
  const probe = spawn(
    '/usr/bin/python3',
    ['-c', 'import os, time\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nprint(pid, flush=True)\ntime.sleep(600)'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  try {
    const pid = Number(await new Promise<string>((res) => probe.stdout.once('data', (b: Buffer) => res(b.toString()))));
    let state = '';
    for (let i = 0; i < 3000 && state !== 'Z'; i++) {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      state = st.slice(st.lastIndexOf(')') + 2)[0];
      if (state !== 'Z') await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(state, 'Z', 'the probe did not become a zombie');
    writeFileSync(join(dir, RUN_LOCK_FILE), JSON.stringify({ pid, hostname: hostname(), started: 'then' }));
    checkRunLock(dir);
    lockRunFolder(dir)();
  } finally {
    probe.kill('SIGKILL');
  }
});
