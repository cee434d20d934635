/**
 * ZeRO stage 1 (Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion Parameter
 * Models", SC 2020, §5.1), as PyTorch's `ZeroRedundancyOptimizer`: the optimiser state is sharded
 * by rank. Every parameter belongs to one rank (greedy partition by size, largest first, to the
 * least-loaded rank); each rank updates only its own parameters — so only it holds their Adam
 * moments — and the updated parameters are then all-gathered, so every rank again holds the whole
 * model. Gradients are whole on every rank (DDP all-reduced them), so clipping and the update
 * compute exactly what one process computes.
 *
 * The wrapped optimiser keeps its parameter groups, options and schedules; `step()` hides the
 * gradients of other ranks' parameters from it (a parameter without a gradient is skipped and gets
 * no state). `stateDict()` consolidates the whole state on every rank (a collective: every rank
 * calls it), so checkpoints do not depend on the number of ranks; `loadStateDict()` takes such a
 * whole state and keeps this rank's share.
 */
import { DistributedError } from '../errors.js';
import type { Optimizer, OptimizerStateDict, ParamGroup, ParamStateDict, ZeroGradOptions } from '../optim/optimizer.js';
import type { Tensor } from '../tensor/index.js';
import { fmtBytes, type ProcessGroup } from './process-group.js';

export class ZeroRedundancyOptimizer<O extends { lr: number }> {
  readonly optimizer: Optimizer<O>;
  readonly pg: ProcessGroup;
  /** The rank that updates each parameter. */
  readonly owner = new Map<Tensor, number>();
  /** Parameters of each rank, in the optimiser's order: the all-gather layout. */
  private readonly shards: Tensor[][];
  private readonly counts: number[];
  private readonly flat: Float32Array;

  /** @param optimizer an optimiser over all parameters (no state yet, or a state to be sharded by loadStateDict). */
  constructor(optimizer: Optimizer<O>, pg: ProcessGroup) {
    this.optimizer = optimizer;
    this.pg = pg;
    const params = optimizer.parameters();
    const order = params.map((p, i) => ({ p, i })).sort((a, b) => b.p.numel() - a.p.numel() || a.i - b.i);
    const load = new Array<number>(pg.size).fill(0);
    for (const { p } of order) {
      let r = 0;
      for (let k = 1; k < pg.size; k++) if (load[k] < load[r]) r = k;
      this.owner.set(p, r);
      load[r] += p.numel();
    }
    this.shards = Array.from({ length: pg.size }, (_, r) => params.filter((p) => this.owner.get(p) === r));
    this.counts = load;
    this.flat = new Float32Array(pg.size > 1 ? load.reduce((a, b) => a + b, 0) : 0);
    // Drop any state of other ranks' parameters (an optimiser handed over with state).
    if (pg.size > 1) this.loadStateDict(optimizer.stateDict());
  }

  get paramGroups(): ParamGroup<O>[] { return this.optimizer.paramGroups; }
  parameters(): Tensor[] { return this.optimizer.parameters(); }
  setLr(lr: number): void { this.optimizer.setLr(lr); }
  zeroGrad(opts?: ZeroGradOptions): void { this.optimizer.zeroGrad(opts); }

  /** True when this rank updates `p`. */
  owns(p: Tensor): boolean { return this.owner.get(p) === this.pg.rank; }

  /**
   * Updates this rank's parameters, then all-gathers every rank's updated parameters.
   * @throws DistributedError when the all-gather fails or passes the deadline.
   */
  step(closure?: () => number): number | undefined {
    if (this.pg.size === 1) return this.optimizer.step(closure);
    const hidden: [Tensor, Tensor][] = [];
    for (const p of this.optimizer.parameters()) {
      if (!this.owns(p) && p.grad) { hidden.push([p, p.grad]); p.grad = null; }
    }
    let loss: number | undefined;
    try {
      loss = this.optimizer.step(closure);
    } finally {
      for (const [p, g] of hidden) p.grad = g;
    }
    this.gatherParameters();
    return loss;
  }

  private gatherParameters(): void {
    const offsets = this.offsets();
    let o = offsets[this.pg.rank];
    for (const p of this.shards[this.pg.rank]) { this.flat.set(p.data() as Float32Array, o); o += p.numel(); }
    this.pg.allGather(this.flat, this.counts, `all-gather of updated parameters (ZeRO-1, ${fmtBytes(this.flat.byteLength)})`).wait();
    this.shards.forEach((ps, r) => {
      if (r === this.pg.rank) return;
      let q = offsets[r];
      for (const p of ps) { (p.data() as Float32Array).set(this.flat.subarray(q, q + p.numel())); q += p.numel(); }
    });
  }

  private offsets(): number[] {
    const out: number[] = [];
    let s = 0;
    for (const c of this.counts) { out.push(s); s += c; }
    return out;
  }

  /** Bytes of optimiser state this rank holds (the moments of its own parameters). */
  localStateBytes(): number {
    let n = 0;
    for (const s of this.optimizer.state.values()) for (const t of Object.values(s.buffers)) n += t.numel() * 4;
    return n;
  }

  /**
   * The whole optimiser state, as one process's `stateDict()` would give it. A collective: every
   * rank must call it (checkpoints call it on every rank, rank 0 writes).
   */
  stateDict(): OptimizerStateDict {
    const local = this.optimizer.stateDict();
    if (this.pg.size === 1) return local;
    const params = this.optimizer.parameters();
    const index = new Map(params.map((p, i) => [p, i]));
    // 1. Which state each parameter has (step count, buffer names), from its owner.
    const meta: Record<number, { step?: number; buffers: string[] }> = {};
    for (const p of this.shards[this.pg.rank]) {
      const i = index.get(p)!;
      const e = local.state[i];
      if (e) meta[i] = { step: e.step, buffers: Object.keys(e.buffers) };
    }
    const all = this.allGatherJson(meta) as Record<string, { step?: number; buffers: string[] }>[];
    const merged: Record<number, { step?: number; buffers: string[] }> = {};
    for (const m of all) for (const [i, v] of Object.entries(m)) merged[Number(i)] = v;
    const names = [...new Set(Object.values(merged).flatMap((m) => m.buffers))].sort();
    // 2. Each buffer kind in one all-gather over the shard layout.
    const offsets = this.offsets();
    const state: (ParamStateDict | null)[] = params.map((p, i) => (merged[i] ? { shape: [...p.shape], buffers: {}, ...(merged[i].step !== undefined ? { step: merged[i].step } : {}) } : null));
    for (const name of names) {
      let o = offsets[this.pg.rank];
      for (const p of this.shards[this.pg.rank]) {
        const b = local.state[index.get(p)!]?.buffers[name];
        if (b) this.flat.set(b, o); else this.flat.fill(0, o, o + p.numel());
        o += p.numel();
      }
      this.pg.allGather(this.flat, this.counts, `all-gather of optimizer state '${name}' (ZeRO-1 checkpoint)`).wait();
      this.shards.forEach((ps, r) => {
        let q = offsets[r];
        for (const p of ps) {
          const i = index.get(p)!;
          if (merged[i]?.buffers.includes(name)) state[i]!.buffers[name] = this.flat.slice(q, q + p.numel());
          q += p.numel();
        }
      });
    }
    return { algorithm: local.algorithm, paramGroups: local.paramGroups, state };
  }

  /** Loads a whole state (from `stateDict()` or one process's optimiser) and keeps this rank's share. */
  loadStateDict(sd: OptimizerStateDict): void {
    if (this.pg.size === 1) { this.optimizer.loadStateDict(sd); return; }
    const params = this.optimizer.parameters();
    if (!sd || !Array.isArray(sd.state)) throw new DistributedError('ZeroRedundancyOptimizer.loadStateDict: state dict has no state list');
    const mine = sd.state.map((e, i) => (i < params.length && this.owns(params[i]) ? e : null));
    this.optimizer.loadStateDict({ ...sd, state: mine });
  }

  private allGatherJson(value: unknown): unknown[] {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    const lens = new Int32Array(this.pg.size);
    lens[this.pg.rank] = bytes.length;
    this.pg.allGather(lens, new Array<number>(this.pg.size).fill(1), 'all-gather of optimizer state sizes (ZeRO-1)').wait();
    const counts = Array.from(lens);
    const buf = new Uint8Array(counts.reduce((a, b) => a + b, 0));
    buf.set(bytes, counts.slice(0, this.pg.rank).reduce((a, b) => a + b, 0));
    this.pg.allGather(buf, counts, 'all-gather of optimizer state layout (ZeRO-1)').wait();
    const out: unknown[] = [];
    let o = 0;
    for (const c of counts) { out.push(JSON.parse(new TextDecoder().decode(buf.subarray(o, o + c)))); o += c; }
    return out;
  }
}
