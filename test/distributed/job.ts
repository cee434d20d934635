// Runs a job for the distributed tests (mpirun and its ranks, or one process) with a "no hang" bound
// that counts only the time the job could run.
//
// Why not spawnSync's `timeout`: on a loaded machine a niced job can wait minutes for a CPU (a
// benchmark session boosted above it takes both cores), so a wall-clock bound fails jobs that are
// not hung; and spawnSync closes the pipes when it kills, so mpirun, forwarding its ranks' SIGTERM
// lines to a closed stderr, dies of SIGPIPE and the report said "exited SIGPIPE" with no output.
// Here each tick's wall time is credited minus the longest time any thread of the job waited on a
// run queue in it (run_delay in /proc/<pid>/task/<tid>/schedstat); only credited time counts
// towards the bound. A stopped or sleeping job is credited in full, so a real hang still ends. On
// the bound the job gets SIGTERM (mpirun forwards it) with the pipes still read, so the ranks' last
// lines are kept; whatever of its processes is left gets SIGKILL after a grace period or once the
// job has ended.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface JobResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The job reached its bound and was stopped by the test. */
  hung: boolean;
  wallSeconds: number;
  /** Wall time not credited: some thread of the job was waiting for a CPU. */
  waitSeconds: number;
}

export interface Job {
  pid: number;
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
  running(): boolean;
  done: Promise<JobResult>;
}

export interface JobOptions {
  env?: NodeJS.ProcessEnv;
  /** Seconds of credited (not waiting for a CPU) time before the job counts as hung. */
  boundSeconds?: number;
  /** Credited seconds between SIGTERM and SIGKILL of what is left of the job. */
  graceSeconds?: number;
}

const TICK_MS = 250;

/** `root` and its descendants, each with its start time (so a reused pid is not taken for it), from /proc/<pid>/stat. */
export function processTree(root: number): Map<number, string> {
  const children = new Map<number, number[]>(), started = new Map<number, string>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let stat: string;
    try { stat = readFileSync(`/proc/${p}/stat`, 'utf8'); } catch { continue; }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
    const ppid = Number(fields[1]);
    started.set(Number(p), fields[19]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid)!.push(Number(p));
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return new Map(tree.filter((p) => started.has(p)).map((p) => [p, started.get(p)!]));
}

/** SIGKILL to each process still alive under the same pid and start time. */
function killSeen(seen: Map<number, string>): void {
  for (const [pid, start] of seen) {
    let stat = '';
    try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
    if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] !== start) continue;
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

/** Nanoseconds each thread of `pids` has waited on a run queue, keyed "pid/tid" (empty without schedstats). */
function runDelays(pids: number[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const pid of pids) {
    let tids: string[];
    try { tids = readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const tid of tids) {
      try { m.set(`${pid}/${tid}`, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1])); } catch { /* ended */ }
    }
  }
  return m;
}

/** Starts `cmd args` with stdout and stderr piped and read to the end. */
export function startJob(cmd: string, args: string[], options: JobOptions = {}): Job {
  const bound = (options.boundSeconds ?? 180) * 1000, grace = (options.graceSeconds ?? 20) * 1000;
  const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '', all = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; all += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; all += d; });
  const t0 = Date.now();
  let last = t0, credited = 0, waited = 0, termAt = -1, hung = false, ended = false;
  let delays = new Map<string, number>();
  const seen = new Map<number, string>(); // every process of the job so far: ranks outlive a killed mpirun
  const timer = setInterval(() => {
    if (child.pid === undefined) return;
    const now = Date.now(), dt = now - last;
    last = now;
    const tree = processTree(child.pid);
    for (const [p, start] of tree) seen.set(p, start);
    const next = runDelays([...tree.keys()]);
    let wait = 0;
    for (const [k, v] of next) wait = Math.max(wait, (v - (delays.get(k) ?? 0)) / 1e6);
    delays = next;
    wait = Math.min(wait, dt);
    waited += wait;
    credited += dt - wait;
    if (termAt < 0 && credited > bound) {
      hung = true;
      termAt = credited;
      child.kill('SIGTERM');
    } else if (termAt >= 0 && credited > termAt + grace) {
      killSeen(seen);
    }
  }, TICK_MS);
  const done = new Promise<JobResult>((resolve, reject) => {
    child.on('error', (e) => { clearInterval(timer); ended = true; reject(e); });
    child.on('close', (status, signal) => {
      clearInterval(timer);
      if (hung) killSeen(seen);
      ended = true;
      resolve({ status, signal, stdout, stderr, hung, wallSeconds: (Date.now() - t0) / 1000, waitSeconds: waited / 1000 });
    });
  });
  return { pid: child.pid ?? -1, output: () => all, running: () => !ended, done };
}

/** One line on how the job ended, for a failure message. */
export function describeEnd(cmd: string, args: string[], r: JobResult, boundSeconds: number): string {
  const how = r.hung
    ? `did not end within ${boundSeconds} s of run time and was stopped (${r.wallSeconds.toFixed(0)} s wall, ${r.waitSeconds.toFixed(0)} s of it waiting for a CPU)`
    : `exited ${r.status ?? r.signal} after ${r.wallSeconds.toFixed(1)} s (${r.waitSeconds.toFixed(1)} s of it waiting for a CPU)`;
  return `${cmd} ${args.join(' ')} ${how}`;
}
