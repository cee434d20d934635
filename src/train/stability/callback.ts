/**
 * `StabilityCallback`: the {@link StabilityGuard} as a Trainer callback (src/train/callbacks.ts).
 *
 * - `onBackward` (gradients accumulated, not yet clipped): non-finite loss or gradients → the step
 *   is skipped (`{skip: true, reason}`; the trainer logs the `skip` event); a loss spike → the
 *   trainer's own snapshot (model, optimizer, schedule, data position, RNG) is restored,
 *   `(steps since the snapshot + skipBatches) × gradientAccumulationSteps` micro-batches are
 *   skipped — the snapshot's data position plus the batches up to the spike plus `skipBatches`
 *   more, as PaLM restarts ~100 steps back and skips past the spike — and the step is dropped
 *   (`{rollbackTo: step}`); every step the per-layer gradient norms feed the exploding detector.
 * - `onStepEnd` of a logging step: the `{type: 'layers'}` line and the vanishing check.
 * - `state()` / `loadState()`: the guard's counters and windows, for an exact resume.
 *
 * The snapshot is taken inside `onBackward` of a step whose loss was judged good, before its
 * update, so it always holds parameters a good loss was computed from.
 */
import type { BackwardDecision, BackwardInfo, StepEndInfo, TrainerCallback, TrainerControl } from '../callbacks.js';
import type { StabilityConfig } from './config.js';
import { type GuardState, type LayersRecord, StabilityGuard, type StabilityEvent } from './guard.js';
import type { SnapshotStore } from './snapshot.js';

/** What the callback needs from the trainer beyond {@link TrainerControl}'s required members. */
export type StabilityTrainerControl = TrainerControl & {
  /** Appends a raw line to metrics.jsonl (layers lines, events with extra fields). */
  logRecord?(record: Record<string, unknown>, terminalLine?: string): void;
};

/** The trainer's in-memory snapshot as the guard's snapshot store. */
class TrainerSnapshotStore implements SnapshotStore {
  private held: unknown = null;
  step: number | null = null;

  constructor(private readonly t: TrainerControl) {}

  capture(step: number): void {
    this.held = this.t.snapshot();
    this.step = step;
  }

  restore(): number {
    if (this.step === null) throw new Error('no snapshot');
    this.t.restore(this.held);
    return this.step;
  }
}

export class StabilityCallback implements TrainerCallback {
  readonly name = 'stability';
  private guard: StabilityGuard | null = null;
  private pendingState: Partial<GuardState> | null = null;
  private lastSkipMessage = '';
  private lastCheckpoint: string | null = null;

  /**
   * @param config the `stability` block of the training config.
   * @param loggingSteps per-layer statistics are written every this many steps.
   * @param accumulation micro-batches per optimizer step (gradientAccumulationSteps).
   */
  constructor(readonly config: StabilityConfig, readonly loggingSteps: number, readonly accumulation = 1) {}

  /** The guard (created at the first backward, when the parameters are known). */
  get stabilityGuard(): StabilityGuard | null {
    return this.guard;
  }

  private ensureGuard(t: StabilityTrainerControl, info: BackwardInfo): StabilityGuard {
    if (this.guard) return this.guard;
    const log = (r: StabilityEvent | LayersRecord): void => {
      if ('event' in r && r.event === 'skip') {
        this.lastSkipMessage = r.message; // the trainer logs the skip itself, with this reason
        return;
      }
      if ('event' in r && !t.logRecord) {
        t.logEvent(r.event, r.message);
        return;
      }
      const line = 'event' in r ? `[${r.event}] step ${r.step}: ${r.message}` : undefined;
      t.logRecord?.({ ...r, time: Date.now() }, line);
    };
    const g = new StabilityGuard({
      config: this.config, namedParameters: info.params, snapshot: new TrainerSnapshotStore(t), log, lastCheckpoint: () => this.lastCheckpoint,
    });
    if (this.pendingState) g.loadStateDict(this.pendingState);
    this.pendingState = null;
    // The first snapshot: the state before this step's update (step − 1 steps completed).
    g.start(info.step - 1);
    this.guard = g;
    return g;
  }

  onBackward(t: TrainerControl, info: BackwardInfo): BackwardDecision | void {
    const g = this.ensureGuard(t as StabilityTrainerControl, info);
    const d = g.check(info.step - 1, info.loss, { logStats: info.step % this.loggingSteps === 0, logStep: info.step });
    if (d.action === 'skip') return { skip: true, reason: this.lastSkipMessage };
    if (d.action === 'rollback') {
      // restore() put the data position back at the snapshot: skip what was read since, plus S.
      t.skipBatches((info.step - d.toStep + d.skipBatches) * this.accumulation);
      return { skip: true, rollbackTo: d.toStep, reason: 'rollback' } as BackwardDecision;
    }
  }

  onStepEnd(_t: TrainerControl, info: StepEndInfo): void {
    if (!info.skipped) this.guard?.afterStep(info.step);
  }

  onSave(_t: TrainerControl, checkpointDir: string): void {
    this.lastCheckpoint = checkpointDir;
  }

  state(): unknown {
    return this.guard ? this.guard.stateDict() : this.pendingState;
  }

  loadState(s: unknown): void {
    if (s === null || typeof s !== 'object') return;
    if (this.guard) this.guard.loadStateDict(s as Partial<GuardState>);
    else this.pendingState = s as Partial<GuardState>;
  }
}
