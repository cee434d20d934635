/**
 * The process group (PyTorch `torch.distributed`): this process's rank among `size` processes and
 * the collectives data-parallel training uses — all-reduce, broadcast, all-gather, barrier — over
 * MPI. Every collective returns a `Work` at once: it runs on the MPI binding's communication thread
 * while JavaScript keeps computing; `wait()` blocks until it is done, `promise()` settles then.
 *
 * Each collective has a deadline (`timeoutSec`, default 300 s: the config's `ddpTimeout`): MPI's
 * blocking calls cannot be interrupted, so the binding polls non-blocking ones and fails a
 * collective that a dead or hung rank never joins, with a `DistributedError` naming the operation.
 * The job cannot continue after that (an MPI collective cannot be cancelled): callers print the
 * message and `abort()`.
 *
 * Every rank must issue the same collectives in the same order (MPI's rule).
 */
import { availableParallelism } from 'node:os';
import { loadNativeAddon } from '../backend/native/index.js';
import { DistributedError } from '../errors.js';
import { detectLaunch, type LaunchInfo } from './launch.js';
import { loadMpiAddon, type MpiAddon, type MpiArray } from './mpi.js';

export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';
export type { MpiArray as CollectiveArray } from './mpi.js';

/** A collective in flight (PyTorch `Work`). */
export interface Work {
  /** Blocks until done; returns the seconds the collective took on the comm thread. @throws DistributedError */
  wait(): number;
  /** True once finished (successfully or not); never blocks. */
  isCompleted(): boolean;
  /** Settles when done (the wait runs off the JavaScript thread). */
  promise(): Promise<number>;
}

export interface ProcessGroup {
  readonly backend: 'mpi' | 'single';
  readonly rank: number;
  readonly size: number;
  readonly localRank: number;
  readonly localSize: number;
  /** Deadline of each collective, seconds. */
  timeoutSec: number;
  /** Element-wise reduction in place; `avg` divides the sum by `size` (float arrays). */
  allReduce(buf: MpiArray, op?: ReduceOp, label?: string): Work;
  /** Copies root's `buf` into every rank's `buf`. */
  broadcast(buf: MpiArray, root?: number, label?: string): Work;
  /**
   * In place: rank r's `counts[r]` elements lie at offset `counts[0] + … + counts[r-1]` of `buf`;
   * afterwards every rank holds every part.
   */
  allGather(buf: MpiArray, counts: readonly number[], label?: string): Work;
  barrier(label?: string): Work;
  /** Ends the group (MPI_Finalize after a barrier with the deadline). */
  destroy(): void;
  /** Ends the whole job at once (MPI_Abort: the launcher stops every rank). */
  abort(code?: number): never;
}

const REDUCE: Record<ReduceOp, number> = { sum: 0, avg: 1, max: 2, min: 3 };

/** Byte count for labels: "24.0 MB". */
export function fmtBytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
}

class DoneWork implements Work {
  wait(): number { return 0; }
  isCompleted(): boolean { return true; }
  promise(): Promise<number> { return Promise.resolve(0); }
}

/** The group of one process: every collective is the identity. */
export class SingleProcessGroup implements ProcessGroup {
  readonly backend = 'single' as const;
  readonly rank = 0;
  readonly size = 1;
  readonly localRank = 0;
  readonly localSize = 1;
  timeoutSec = 300;
  allReduce(): Work { return new DoneWork(); }
  broadcast(_buf: MpiArray, root = 0): Work {
    if (root !== 0) throw new DistributedError(`broadcast: root ${root} is not a rank of a 1-process group`);
    return new DoneWork();
  }
  allGather(buf: MpiArray, counts: readonly number[]): Work {
    if (counts.length !== 1 || counts[0] > buf.length) throw new DistributedError(`allGather: counts must be [n <= ${buf.length}] in a 1-process group, got [${counts.join(', ')}]`);
    return new DoneWork();
  }
  barrier(): Work { return new DoneWork(); }
  destroy(): void {}
  abort(code = 1): never { process.exit(code); }
}

class MpiWork implements Work {
  private state: 'running' | 'done' | 'failed' = 'running';
  private seconds = 0;
  private error: DistributedError | null = null;

  constructor(private readonly pg: MpiProcessGroup, private readonly addon: MpiAddon, private readonly id: number) {}

  wait(): number {
    if (this.state === 'running') {
      try {
        this.seconds = this.addon.wait(this.id);
        this.finish();
      } catch (e) {
        this.fail(e);
      }
    }
    if (this.error) throw this.error;
    return this.seconds;
  }

  isCompleted(): boolean {
    if (this.state !== 'running') return true;
    try {
      const s = this.addon.test(this.id);
      if (s < 0) return false;
      this.seconds = s;
      this.finish();
    } catch (e) {
      this.fail(e);
    }
    return true;
  }

  async promise(): Promise<number> {
    if (this.state === 'running') {
      try {
        this.seconds = await this.addon.waitAsync(this.id);
        if (this.state === 'running') this.finish();
      } catch (e) {
        if (this.state === 'running') this.fail(e);
      }
    }
    if (this.error) throw this.error;
    return this.seconds;
  }

  private finish(): void {
    this.state = 'done';
    this.addon.release(this.id);
  }

  private fail(e: unknown): void {
    this.state = 'failed';
    this.error = this.pg.error((e as Error).message);
  }
}

/** The group over MPI (one process per rank, started by mpirun). */
export class MpiProcessGroup implements ProcessGroup {
  readonly backend = 'mpi' as const;
  readonly rank: number;
  readonly size: number;
  readonly localRank: number;
  readonly localSize: number;
  /** The MPI library's version line. */
  readonly library: string;
  timeoutSec: number;
  private destroyed = false;

  /** @throws DistributedError when the binding is missing or MPI cannot start. */
  constructor(launch: LaunchInfo, timeoutSec: number, private readonly timeoutName = 'ddpTimeout') {
    let addon: MpiAddon;
    try {
      addon = loadMpiAddon();
    } catch (e) {
      throw new DistributedError(`rank ${launch.rank} of ${launch.size}: started by mpirun, but ${(e as Error).message}`);
    }
    let info: ReturnType<MpiAddon['init']>;
    try {
      info = addon.init();
    } catch (e) {
      throw new DistributedError(`rank ${launch.rank} of ${launch.size}: ${(e as Error).message}`);
    }
    if (info.rank !== launch.rank || info.size !== launch.size) {
      throw new DistributedError(`MPI says rank ${info.rank} of ${info.size}, the launcher's environment rank ${launch.rank} of ${launch.size}`);
    }
    this.addon = addon;
    this.rank = info.rank;
    this.size = info.size;
    this.localRank = launch.localRank;
    this.localSize = launch.localSize;
    this.library = info.library;
    this.timeoutSec = timeoutSec;
  }

  private readonly addon: MpiAddon;

  /** A DistributedError for a failed collective, prefixed with this rank. */
  error(message: string): DistributedError {
    const hint = / did not complete within /.test(message) ? ` (the deadline is ${this.timeoutName})` : '';
    return new DistributedError(`rank ${this.rank} of ${this.size}: ${message}${hint}`);
  }

  private work(id: number): Work {
    return new MpiWork(this, this.addon, id);
  }

  private check(): void {
    if (this.destroyed) throw new DistributedError(`rank ${this.rank}: the process group was destroyed`);
  }

  allReduce(buf: MpiArray, op: ReduceOp = 'sum', label?: string): Work {
    this.check();
    if (!(op in REDUCE)) throw new DistributedError(`allReduce: op must be sum, avg, max or min, got '${op}'`);
    return this.work(this.addon.allReduce(buf, REDUCE[op], label ?? `all-reduce (${op}) of ${fmtBytes(buf.byteLength)}`, this.timeoutSec));
  }

  broadcast(buf: MpiArray, root = 0, label?: string): Work {
    this.check();
    if (!Number.isInteger(root) || root < 0 || root >= this.size) throw new DistributedError(`broadcast: root ${root} is not a rank of this ${this.size}-process group`);
    return this.work(this.addon.broadcast(buf, root, label ?? `broadcast of ${fmtBytes(buf.byteLength)} from rank ${root}`, this.timeoutSec));
  }

  allGather(buf: MpiArray, counts: readonly number[], label?: string): Work {
    this.check();
    if (counts.length !== this.size || counts.some((c) => !Number.isInteger(c) || c < 0)) {
      throw new DistributedError(`allGather: counts must be ${this.size} non-negative integers, got [${counts.join(', ')}]`);
    }
    const total = counts.reduce((a, b) => a + b, 0);
    if (total > buf.length) throw new DistributedError(`allGather: counts add up to ${total} elements, the buffer holds ${buf.length}`);
    return this.work(this.addon.allGatherV(buf, Int32Array.from(counts), label ?? `all-gather of ${fmtBytes(total * buf.BYTES_PER_ELEMENT)}`, this.timeoutSec));
  }

  barrier(label = 'barrier'): Work {
    this.check();
    return this.work(this.addon.barrier(label, this.timeoutSec));
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const err = this.addon.finalize(this.timeoutSec);
    if (err) throw this.error(err);
  }

  abort(code = 1): never {
    return this.addon.abort(code);
  }
}

let current: ProcessGroup | null = null;

export interface InitOptions {
  /** Deadline of each collective in seconds (default 300). */
  timeoutSec?: number;
  /** The launcher environment (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Joins the job this process was launched into (`mpirun -np N …`), or makes the 1-process group
 * when there is no launcher (then MPI is not initialised at all). Idempotent. With several ranks on
 * one machine and TRAINFORMER_NUM_THREADS unset, the kernel threads of each rank default to
 * cores ÷ local ranks, so ranks do not fight over the cores.
 * @throws DistributedError when launched by mpirun but MPI cannot start (binding not built).
 */
export function initProcessGroup(options: InitOptions = {}): ProcessGroup {
  const timeoutSec = options.timeoutSec ?? 300;
  if (!(timeoutSec > 0)) throw new DistributedError(`ddpTimeout must be a number of seconds > 0, got ${timeoutSec}`);
  if (current) {
    current.timeoutSec = timeoutSec;
    return current;
  }
  const launch = detectLaunch(options.env ?? process.env);
  if (!launch || launch.size === 1) {
    current = new SingleProcessGroup();
    current.timeoutSec = timeoutSec;
    return current;
  }
  const env = options.env ?? process.env;
  if ((env.TRAINFORMER_NUM_THREADS ?? '') === '' && launch.localSize > 1) {
    const n = Math.max(1, Math.floor(availableParallelism() / launch.localSize));
    process.env.TRAINFORMER_NUM_THREADS = String(n);
    loadNativeAddon()?.setNumThreads(n); // when the backend was already loaded
  }
  current = new MpiProcessGroup(launch, timeoutSec);
  return current;
}

/** The current group (the 1-process group when none was initialised). */
export function getProcessGroup(): ProcessGroup {
  return current ?? new SingleProcessGroup();
}

/** Ends the current group (MPI_Finalize); a later initProcessGroup starts anew only in a new process. */
export function destroyProcessGroup(): void {
  const pg = current;
  if (!pg) return;
  pg.destroy();
}
