/**
 * Per-layer statistics of one optimizer step: gradient norm ‖g‖, parameter norm ‖p‖ and the
 * update-to-parameter ratio ‖Δp‖/‖p‖ (Δp = p after the step − p before it), each over a layer group
 * (src/train/stability/layer-groups.ts), plus the whole model as `total`. The ratio is the quantity
 * Karpathy's "A Recipe for Training Neural Networks" suggests watching (around 1e-3 is healthy).
 *
 * Use: `measureGrads()` after backward (gradients final and unscaled, before clipping) gives the
 * per-group gradient norms (cheap: one pass over the gradients, done every step by the guard);
 * at a logging step `beforeStep()` then copies the parameters, and `afterStep()` after the
 * optimizer step computes ‖Δp‖ and ‖p‖. Copy buffers are allocated once and reused.
 */
import type { Tensor } from '../../tensor/index.js';
import { ValueError } from '../../errors.js';
import { groupParameters } from './layer-groups.js';
import { floatData, sumSquaredDiff, sumSquares } from './norms.js';

/** One group's statistics (the `layers` entries of a metrics.jsonl `{type: 'layers'}` line). */
export interface LayerStat {
  name: string;
  /** ‖g‖₂ over the group's gradients (missing gradients count as zero). */
  gradNorm: number;
  /** ‖p‖₂ over the group's parameters after the step. */
  paramNorm: number;
  /** ‖Δp‖₂ / ‖p_before‖₂; null when the parameters were all zero before the step. */
  updateRatio: number | null;
}

/** Name of the whole-model entry. */
export const TOTAL = 'total';

export class LayerStatsCollector {
  private readonly names: string[];
  private readonly params: Tensor[];
  private readonly groups: { name: string; members: number[] }[];
  private readonly copies: (Float32Array | Float64Array | null)[];
  private gradSq: number[] | null = null;
  private beforeSq: number[] | null = null;

  /**
   * @param named dotted names and parameters in model order.
   * @throws ValueError when two parameters share a name.
   */
  constructor(named: Iterable<[string, Tensor]>) {
    const list = [...named];
    this.names = list.map(([n]) => n);
    this.params = list.map(([, p]) => p);
    if (new Set(this.names).size !== this.names.length) throw new ValueError('LayerStatsCollector: parameter names must be unique');
    const index = new Map(this.names.map((n, i) => [n, i]));
    this.groups = [...groupParameters(this.names)].map(([name, ns]) => ({ name, members: ns.map((n) => index.get(n)!) }));
    this.copies = this.params.map(() => null);
  }

  /** The group names in model order (without `total`). */
  groupNames(): string[] {
    return this.groups.map((g) => g.name);
  }

  private measured: number[] | null = null;

  /**
   * The gradient norm of every group (model order) and of the whole model (`total`, last): ‖g‖₂
   * with float64 accumulation; NaN / Infinity where a gradient holds NaN / Inf.
   */
  measureGrads(): { name: string; gradNorm: number }[] {
    const sq = this.params.map((p) => (p.grad === null ? 0 : sumSquares(floatData(p.grad))));
    this.measured = sq;
    const out = this.groups.map((g) => ({ name: g.name, gradNorm: Math.sqrt(g.members.reduce((s, i) => s + sq[i], 0)) }));
    out.push({ name: TOTAL, gradNorm: Math.sqrt(sq.reduce((s, x) => s + x, 0)) });
    return out;
  }

  /**
   * Copies the parameters and keeps the gradient norms (call before the optimizer step; uses the
   * norms of the last `measureGrads()`, or measures them now).
   */
  beforeStep(): void {
    if (this.measured === null) this.measureGrads();
    this.gradSq = this.measured;
    this.measured = null;
    this.beforeSq = this.params.map((p, i) => {
      const src = floatData(p);
      let c = this.copies[i];
      if (c === null || c.length !== src.length || c.constructor !== src.constructor) {
        c = src instanceof Float64Array ? new Float64Array(src.length) : new Float32Array(src.length);
        this.copies[i] = c;
      }
      c.set(src);
      return sumSquares(src);
    });
  }

  /** Whether `beforeStep()` was called and `afterStep()` not yet. */
  get pending(): boolean {
    return this.gradSq !== null;
  }

  /** Forgets a `beforeStep()` whose optimizer step did not happen (skipped step). */
  cancel(): void {
    this.measured = null;
    this.gradSq = null;
    this.beforeSq = null;
  }

  /**
   * The statistics of the step, groups in model order followed by `total`.
   * @throws ValueError when `beforeStep()` was not called first.
   */
  afterStep(): LayerStat[] {
    const gradSq = this.gradSq;
    const beforeSq = this.beforeSq;
    if (gradSq === null || beforeSq === null) throw new ValueError('LayerStatsCollector.afterStep: call beforeStep() before the optimizer step');
    const afterSq = this.params.map((p) => sumSquares(floatData(p)));
    const deltaSq = this.params.map((p, i) => sumSquaredDiff(floatData(p), this.copies[i]!));
    const stat = (name: string, members: number[]): LayerStat => {
      const sum = (a: number[]) => members.reduce((s, i) => s + a[i], 0);
      const before = Math.sqrt(sum(beforeSq));
      return {
        name,
        gradNorm: Math.sqrt(sum(gradSq)),
        paramNorm: Math.sqrt(sum(afterSq)),
        updateRatio: before > 0 ? Math.sqrt(sum(deltaSq)) / before : null,
      };
    };
    const out = this.groups.map((g) => stat(g.name, g.members));
    out.push(stat(TOTAL, this.params.map((_, i) => i)));
    this.cancel();
    return out;
  }
}
