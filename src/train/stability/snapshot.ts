/**
 * In-memory training snapshots for the loss-spike rollback: copies of the parameter buffers, the
 * optimizer's state dict (its buffers are copies), and the state dicts of any other stateful parts
 * (schedule, grad scaler, the trainer's own counters), deep-copied. Parameter copies are allocated
 * once and reused; restoring writes the values back into the parameters' own storage, so the
 * optimizer and the model keep referencing the same tensors.
 */
import type { Tensor } from '../../tensor/index.js';
import { ValueError } from '../../errors.js';
import { floatData } from './norms.js';

/** Anything with a PyTorch-style state dict. */
export interface Stateful<S = unknown> {
  stateDict(): S;
  loadStateDict(state: S): void;
}

/** Where the guard keeps its rollback point: one snapshot, replaced by each capture. */
export interface SnapshotStore {
  /** The step of the snapshot held, or null before the first capture. */
  readonly step: number | null;
  /** Copies the current training state as the snapshot of `step`. */
  capture(step: number): void;
  /** Writes the snapshot back; returns its step. */
  restore(): number;
}

export class TrainingSnapshot implements SnapshotStore {
  private readonly params: Tensor[];
  private readonly copies: (Float32Array | Float64Array)[];
  private optimizerState: unknown = null;
  private extraStates: Record<string, unknown> = {};
  /** The step the snapshot was taken at, or null before the first capture. */
  step: number | null = null;

  /**
   * @param params the model's parameters (contiguous float tensors, updated in place by the optimizer).
   * @param optimizer the optimizer (its state dict must hold copies, as `Optimizer.stateDict()` does).
   * @param extras other parts to snapshot by name (schedule, scaler, …).
   */
  constructor(params: Iterable<Tensor>, private readonly optimizer: Stateful, private readonly extras: Record<string, Stateful> = {}) {
    this.params = [...params];
    this.copies = this.params.map((p) => {
      if (!p.isContiguous()) throw new ValueError('TrainingSnapshot: parameters must be contiguous (they are restored in place)');
      const d = floatData(p);
      return d instanceof Float64Array ? new Float64Array(d.length) : new Float32Array(d.length);
    });
  }

  /** Copies the current state as the snapshot of `step` (replacing the previous one). */
  capture(step: number): void {
    this.params.forEach((p, i) => this.copies[i].set(floatData(p)));
    this.optimizerState = this.optimizer.stateDict();
    this.extraStates = {};
    for (const [k, s] of Object.entries(this.extras)) this.extraStates[k] = structuredClone(s.stateDict());
    this.step = step;
  }

  /**
   * Writes the snapshot back into the parameters, the optimizer and the extras.
   * @returns the step it was taken at.
   * @throws ValueError when nothing was captured yet.
   */
  restore(): number {
    if (this.step === null) throw new ValueError('TrainingSnapshot.restore: no snapshot was captured');
    this.params.forEach((p, i) => floatData(p).set(this.copies[i]));
    this.optimizer.loadStateDict(this.optimizerState);
    for (const [k, s] of Object.entries(this.extras)) s.loadStateDict(structuredClone(this.extraStates[k]));
    return this.step;
  }
}
