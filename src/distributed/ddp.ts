/**
 * Data-parallel gradient synchronisation, as PyTorch's `DistributedDataParallel`:
 * - at construction rank 0's parameters are broadcast, so every rank starts from the same weights;
 * - parameters are packed into buckets of about `bucketCapMb` (25 MB) in reverse parameter order
 *   (the order backward produces their gradients);
 * - a post-accumulate-grad hook on each parameter copies its finished gradient into its bucket;
 *   when a bucket is full its all-reduce starts on the communication thread at once, while backward
 *   goes on computing the gradients of earlier layers (buckets start in index order on every
 *   rank, as MPI requires the same collectives in the same order everywhere);
 * - `synchronize()` after backward starts what is left (parameters without a gradient), waits, and
 *   writes the reduced gradients back into `.grad`;
 * - during gradient accumulation only the last micro-step synchronises: set `requireGradSync`
 *   false (or run the micro-step in `noSync`) for the others, whose gradients just accumulate.
 *
 * Reduction: 'avg' (PyTorch's default) when each rank's loss is a mean over its own batch; 'sum'
 * when the loss is already divided by the global count of targets across ranks (what the Trainer
 * does: then N ranks × batch b train exactly as 1 process × batch N·b).
 *
 * A parameter that no rank gave a gradient keeps `.grad` null (the optimiser skips it, as in one
 * process); one that some rank used gets the reduced gradient everywhere. Each bucket carries one
 * extra value per parameter, 1 where the rank had a gradient, to tell the two apart.
 */
import { DistributedError } from '../errors.js';
import { type Tensor, zeros } from '../tensor/index.js';
import { fmtBytes, type ProcessGroup, type Work } from './process-group.js';

export interface DdpOptions {
  /** Bucket size in megabytes (10^6 bytes) of float32 gradients; default 25. */
  bucketCapMb?: number;
  /** 'avg' (default, PyTorch) or 'sum' (loss already normalised globally). */
  gradReduction?: 'avg' | 'sum';
  /** Broadcast rank 0's parameters now (default true). */
  broadcastParameters?: boolean;
}

interface Slot {
  param: Tensor;
  name: string;
  offset: number;
  ready: boolean;
}

interface Bucket {
  index: number;
  slots: Slot[];
  /** [sum of numels] gradients, then one usage flag per slot. */
  flat: Float32Array;
  pending: number;
  work: Work | null;
}

/** Timings of the last synchronised step, seconds. */
export interface DdpStepStats {
  /** Time `synchronize()` spent waiting for all-reduces after backward ended (the part not overlapped). */
  waitSeconds: number;
  /** Buckets whose all-reduce had started before backward ended. */
  bucketsStartedDuringBackward: number;
  buckets: number;
  /** Seconds the all-reduces took on the comm thread, summed. */
  commSeconds: number;
}

export class DistributedDataParallel {
  readonly pg: ProcessGroup;
  readonly buckets: Bucket[] = [];
  readonly gradReduction: 'avg' | 'sum';
  /** False on micro-steps that only accumulate (PyTorch `no_sync`). */
  requireGradSync = true;
  lastStep: DdpStepStats = { waitSeconds: 0, bucketsStartedDuringBackward: 0, buckets: 0, commSeconds: 0 };
  private readonly slotOf = new Map<Tensor, { bucket: Bucket; slot: Slot }>();
  private readonly hooks: { remove(): void }[] = [];
  private nextLaunch = 0;
  private step = 0;

  /**
   * @param params named parameters in model order (each a float32 leaf that requires grad).
   * @throws DistributedError for a parameter that is not a float32 leaf requiring grad, or a bad option.
   */
  constructor(params: readonly (readonly [string, Tensor])[], pg: ProcessGroup, options: DdpOptions = {}) {
    this.pg = pg;
    const capMb = options.bucketCapMb ?? 25;
    if (!(capMb > 0)) throw new DistributedError(`DistributedDataParallel: bucketCapMb must be > 0, got ${capMb}`);
    const red = options.gradReduction ?? 'avg';
    if (red !== 'avg' && red !== 'sum') throw new DistributedError(`DistributedDataParallel: gradReduction must be 'avg' or 'sum', got '${String(red)}'`);
    this.gradReduction = red;
    const seen = new Set<Tensor>();
    const list = params.filter(([, p]) => (seen.has(p) ? false : (seen.add(p), true)));
    for (const [name, p] of list) {
      if (p.dtype !== 'float32' || !p.requiresGrad || p.gradFn !== null) {
        throw new DistributedError(`DistributedDataParallel: parameter '${name}' must be a float32 leaf that requires grad`);
      }
    }
    // Reverse order, cut at the cap (a parameter larger than the cap gets a bucket of its own).
    const cap = capMb * 1e6 / 4;
    let group: [string, Tensor][] = [];
    let size = 0;
    const flush = (): void => {
      if (group.length) this.addBucket(group);
      group = [];
      size = 0;
    };
    for (let i = list.length - 1; i >= 0; i--) {
      const [name, p] = list[i];
      if (size > 0 && size + p.numel() > cap) flush();
      group.push([name, p]);
      size += p.numel();
    }
    flush();
    if (pg.size > 1) {
      for (const [, p] of list) this.hooks.push(p.registerPostAccumulateGradHook((t) => this.onGradReady(t)));
    }
    if (options.broadcastParameters ?? true) this.broadcastParameters(list);
  }

  private addBucket(group: [string, Tensor][]): void {
    let offset = 0;
    const slots: Slot[] = group.map(([name, param]) => {
      const s = { param, name, offset, ready: false };
      offset += param.numel();
      return s;
    });
    const b: Bucket = { index: this.buckets.length, slots, flat: new Float32Array(offset + slots.length), pending: slots.length, work: null };
    this.buckets.push(b);
    for (const slot of slots) this.slotOf.set(slot.param, { bucket: b, slot });
  }

  /** Copies rank 0's values of `params` to every rank (one broadcast per bucket). */
  broadcastParameters(params: readonly (readonly [string, Tensor])[]): void {
    if (this.pg.size === 1) return;
    const tensors = params.map(([, p]) => p);
    const total = tensors.reduce((n, p) => n + p.numel(), 0);
    const flat = new Float32Array(total);
    let o = 0;
    for (const p of tensors) { flat.set(p.data() as Float32Array, o); o += p.numel(); }
    this.pg.broadcast(flat, 0, `broadcast of rank 0's parameters (${fmtBytes(flat.byteLength)})`).wait();
    o = 0;
    for (const p of tensors) { (p.data() as Float32Array).set(flat.subarray(o, o + p.numel())); o += p.numel(); }
  }

  /** Runs `fn` (forward and backward of a micro-step) without synchronising gradients. */
  noSync<T>(fn: () => T): T {
    const prev = this.requireGradSync;
    this.requireGradSync = false;
    try { return fn(); } finally { this.requireGradSync = prev; }
  }

  private onGradReady(p: Tensor): void {
    if (!this.requireGradSync) return;
    const e = this.slotOf.get(p);
    if (!e) return;
    if (e.slot.ready) {
      throw new DistributedError(`DistributedDataParallel: parameter '${e.slot.name}' got a second gradient before synchronize(); run every backward but the last of a step in noSync()`);
    }
    this.fill(e.bucket, e.slot);
    this.launchReady();
  }

  private fill(b: Bucket, s: Slot): void {
    const g = s.param.grad;
    const n = s.param.numel();
    if (g) b.flat.set(g.data() as Float32Array, s.offset);
    else b.flat.fill(0, s.offset, s.offset + n);
    b.flat[b.flat.length - b.slots.length + b.slots.indexOf(s)] = g ? 1 : 0;
    s.ready = true;
    b.pending--;
  }

  private launchReady(): void {
    while (this.nextLaunch < this.buckets.length && this.buckets[this.nextLaunch].pending === 0) {
      const b = this.buckets[this.nextLaunch++];
      b.work = this.pg.allReduce(b.flat, this.gradReduction,
        `all-reduce of gradient bucket ${b.index} (${fmtBytes(b.flat.byteLength)}) at step ${this.step + 1}`);
    }
  }

  /**
   * Completes the step's gradient synchronisation: starts the buckets not yet started (parameters
   * that got no gradient count as zeros), waits for every all-reduce and writes the results into
   * each parameter's `.grad`. Call it after the last micro-step's backward, before clipping and
   * the optimiser step. A no-op in a 1-process group.
   * @throws DistributedError when an all-reduce fails or passes the deadline.
   */
  synchronize(): void {
    if (this.pg.size === 1) return;
    const startedDuringBackward = this.nextLaunch;
    for (const b of this.buckets) for (const s of b.slots) if (!s.ready) this.fill(b, s);
    this.launchReady();
    const t0 = performance.now();
    let comm = 0;
    for (const b of this.buckets) comm += b.work!.wait();
    const waited = (performance.now() - t0) / 1000;
    for (const b of this.buckets) {
      const flags = b.flat.length - b.slots.length;
      b.slots.forEach((s, k) => {
        const p = s.param;
        if (b.flat[flags + k] > 0) {
          if (!p.grad || !p.grad.isContiguous()) p.grad = zeros(p.shape, 'float32').keep();
          (p.grad.data() as Float32Array).set(b.flat.subarray(s.offset, s.offset + p.numel()));
        } else {
          p.grad = null;
        }
        s.ready = false;
      });
      b.pending = b.slots.length;
      b.work = null;
    }
    this.nextLaunch = 0;
    this.step++;
    this.lastStep = { waitSeconds: waited, bucketsStartedDuringBackward: startedDuringBackward, buckets: this.buckets.length, commSeconds: comm };
  }

  /** Unregisters the gradient hooks. */
  remove(): void {
    for (const h of this.hooks) h.remove();
    this.hooks.length = 0;
  }
}
