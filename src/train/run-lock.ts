/**
 * One training at a time per outputDir: a lock file `<outputDir>/trainformer.lock` (JSON: pid,
 * hostname, start time) created exclusively when a run starts and removed when it ends. Two runs
 * writing one folder interleave metrics.jsonl lines and leave a config and weights of different
 * runs side by side (found by the fresh-user trial), so the second is refused with one line.
 * A lock whose process is gone on this host (kill -9, a crash) is stale and taken over.
 */
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigError, TrainformerError } from '../errors.js';
import { ensureDir } from '../io/ensure-dir.js';
import { writeFailure } from '../io/write-failure.js';

export const RUN_LOCK_FILE = 'trainformer.lock';

interface LockInfo { pid: number; hostname: string; started: string }

/**
 * Whether process `pid` runs on this host (EPERM: it exists, owned by someone else). A zombie has
 * exited and only waits to be reaped (a rank stopped by mpirun can stay one for a moment), so it
 * does not count; /proc tells, where there is one.
 */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
  } catch {
    // no /proc entry (gone, or no procfs): kill(pid, 0) decides
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): LockInfo | null {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockInfo>;
    return typeof j.pid === 'number' && typeof j.hostname === 'string' ? { pid: j.pid, hostname: j.hostname, started: String(j.started ?? '?') } : null;
  } catch {
    return null; // unreadable or half-written: treated as stale
  }
}

function refusal(outputDir: string, file: string, other: LockInfo): ConfigError {
  const who = other.pid === process.pid && other.hostname === hostname() ? 'this process' : `process ${other.pid} on ${other.hostname}`;
  return new ConfigError(`outputDir: ${outputDir} is in use by another training (${who}, since ${other.started}); wait for it to finish or give another --outputDir (if no training runs there, remove ${file})`);
}

/** Whether `other` is held by a live training (another host's lock cannot be checked from here, so it counts as live). */
function live(other: LockInfo | null): other is LockInfo {
  return other !== null && (other.hostname !== hostname() || alive(other.pid));
}

/**
 * Refuses early (before data is read) when a live training holds `outputDir`; touches nothing.
 * @throws ConfigError naming outputDir.
 */
export function checkRunLock(outputDir: string): void {
  const file = join(outputDir, RUN_LOCK_FILE);
  const other = fs.existsSync(file) ? readLock(file) : null;
  if (live(other)) throw refusal(outputDir, file, other);
}

/**
 * Takes the lock of `outputDir` (created if needed) for this process.
 * @returns a function that releases it (idempotent); it is also released when the process exits.
 * @throws ConfigError naming outputDir when another live training holds it; TrainformerError naming the
 *   lock file when it cannot be written (a full disk: the empty file is removed).
 */
export function lockRunFolder(outputDir: string): () => void {
  ensureDir(outputDir, 'outputDir');
  const file = join(outputDir, RUN_LOCK_FILE);
  const me: LockInfo = { pid: process.pid, hostname: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        // Not EEXIST: no other lock was there, so a file now there is ours, empty or torn (a full disk).
        fs.rmSync(file, { force: true });
        throw new TrainformerError(`outputDir: cannot write the run lock ${file}: ${writeFailure(e)}`);
      }
      if (attempt > 0) throw e;
      const other = readLock(file);
      if (live(other)) throw refusal(outputDir, file, other);
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.removeListener('exit', release);
    const cur = readLock(file);
    if (cur && cur.pid === me.pid && cur.started === me.started) fs.rmSync(file, { force: true });
  };
  process.on('exit', release);
  return release;
}
