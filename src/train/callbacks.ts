/**
 * Trainer callbacks: the hook points where the stability guards of issue 8 (NaN / Inf skip, loss-spike
 * rollback, per-layer gradient statistics) and early stopping plug into the loop. Every hook is
 * optional and synchronous; they run in the order the callbacks were given.
 *
 * Order within one optimizer step:
 *   onStepBegin → (forward + backward for each micro-batch) → onBackward (may ask to skip the
 *   optimizer step) → clipping → optimizer step (unless skipped) → onStepEnd → onLog (logging steps)
 *   → onEvaluate (evaluation steps) → onSave (checkpoint steps).
 */
import { ConfigError } from '../errors.js';
import type { Tensor } from '../tensor/index.js';
import type { EvalMetrics } from '../tasks/types.js';
import type { MetricsRecord } from './metrics.js';

/** What onBackward sees: the step about to be taken, its loss and terms, and the parameters with grads. */
export interface BackwardInfo {
  /** 1-based index of the optimizer step being taken. */
  step: number;
  /** Mean loss over the micro-batches of this step. */
  loss: number;
  terms: Record<string, number>;
  /** Parameters by name; `.grad` holds the accumulated gradient (not yet clipped). */
  params: readonly [string, Tensor][];
}

export interface StepEndInfo {
  step: number;
  loss: number;
  terms: Record<string, number>;
  /** Global L2 norm of the gradient before clipping. */
  gradNorm: number;
  lr: number;
  /** True when the optimizer step was skipped (a callback asked for it). */
  skipped: boolean;
}

/** What a callback may ask for after the backward pass. */
export interface BackwardDecision {
  /** Skip the optimizer step (gradients are dropped; the schedule still advances). */
  skip?: boolean;
  /** Reason, written to the log as a `skip` event. */
  reason?: string;
  /**
   * The callback restored a snapshot taken after this many completed steps (a loss-spike rollback,
   * issue 8): the trainer drops this step (no update, no schedule step, nothing logged) and goes on
   * from that step.
   */
  rollbackTo?: number;
}

/** The trainer as callbacks see it (see Trainer for the implementation). */
export interface TrainerControl {
  /** Completed optimizer steps. */
  readonly step: number;
  readonly totalSteps: number;
  /** Writes `{event: kind, step, message}` to metrics.jsonl and a line to the terminal. */
  logEvent(kind: string, message: string): void;
  /** Appends a raw line to metrics.jsonl (per-layer statistics, events with extra fields); prints `terminalLine` when given. */
  logRecord?(record: MetricsRecord, terminalLine?: string): void;
  /** Ends training after the current step (early stopping, too many skipped steps). */
  requestStop(reason: string): void;
  /** An in-memory copy of everything a rollback restores (model, optimizer, schedule, data, RNG). */
  snapshot(): unknown;
  /** Restores a `snapshot()`. */
  restore(snapshot: unknown): void;
  /** Skips the next `n` training micro-batches (after a rollback). */
  skipBatches(n: number): void;
}

export interface TrainerCallback {
  onTrainBegin?(t: TrainerControl): void;
  onStepBegin?(t: TrainerControl, step: number): void;
  onBackward?(t: TrainerControl, info: BackwardInfo): BackwardDecision | void;
  onStepEnd?(t: TrainerControl, info: StepEndInfo): void;
  onLog?(t: TrainerControl, record: MetricsRecord): void;
  onEvaluate?(t: TrainerControl, metrics: EvalMetrics): void;
  onSave?(t: TrainerControl, checkpointDir: string): void;
  onTrainEnd?(t: TrainerControl): void;
  /** JSON state saved in trainer_state.json under the callback's `name` (for exact resume). */
  state?(): unknown;
  loadState?(state: unknown): void;
  readonly name?: string;
}

/**
 * Early stopping (Hugging Face `EarlyStoppingCallback`): stops when the watched metric has not
 * improved by more than `threshold` for `patience` consecutive evaluations.
 */
export class EarlyStopping implements TrainerCallback {
  readonly name = 'earlyStopping';
  private best: number | null = null;
  private bad = 0;

  constructor(readonly metric: string, readonly patience: number, readonly greaterIsBetter: boolean, readonly threshold = 0) {}

  onEvaluate(t: TrainerControl, metrics: EvalMetrics): void {
    const v = metrics[this.metric];
    if (v === undefined) {
      throw new ConfigError(`metricForBestModel: the evaluation gives no "${this.metric}" (it gives ${Object.keys(metrics).join(', ')}), so early stopping could never act`, ['metricForBestModel']);
    }
    if (!Number.isFinite(v)) return;
    const better = this.best === null || (this.greaterIsBetter ? v > this.best + this.threshold : v < this.best - this.threshold);
    if (better) {
      this.best = v;
      this.bad = 0;
    } else if (++this.bad >= this.patience) {
      const msg = `early stopping: ${this.metric} has not improved on ${this.best} for ${this.patience} evaluations`;
      t.logEvent('early_stop', msg);
      t.requestStop(msg);
    }
  }

  state(): unknown {
    return { best: this.best, bad: this.bad };
  }

  loadState(s: unknown): void {
    const o = s as { best: number | null; bad: number };
    this.best = o.best;
    this.bad = o.bad;
  }
}
