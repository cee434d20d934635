/**
 * Divergence checks the NaN guard cannot make (issue 19):
 * - {@link firstNonFiniteParameter}: after an update, a parameter that became NaN / ±Inf (a learning
 *   rate so large that the update itself ruins the weights passes the guard, which looks at the loss
 *   and gradients *before* the step). The Trainer stops at once, so no later checkpoint holds it.
 * - {@link DivergenceCallback}: at the end of training, a run whose training loss (the mean of its
 *   last `window` steps) ended above `lossFactor` × its first step's loss diverged, even if every
 *   number stayed finite (AdamW at lr 10 ends at ~8× the initial loss of a character model). A run
 *   whose last `window` steps all had a non-finite loss diverged too (an fp16 run whose GradScaler
 *   skips every step to the end); the message says how many steps at the end had no usable loss, so the
 *   mean of the last finite losses is not read as the loss the run ended at.
 * Both end the run with {@link TrainingDivergedError} (one line; the CLI exits 1).
 */
import type { Tensor } from '../../tensor/index.js';
import type { StepEndInfo, TrainerCallback, TrainerControl } from '../callbacks.js';
import { TrainingDivergedError } from './errors.js';

/** The first of `params` holding a NaN or ±Inf value, with the index of that value; null when all are finite. */
export function firstNonFiniteParameter(params: readonly (readonly [string, Tensor])[]): { name: string; index: number; value: number } | null {
  for (const [name, p] of params) {
    const d = p.contiguous().data();
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (v - v !== 0) return { name, index: i, value: v };
    }
  }
  return null;
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}

interface DivergenceState { firstLoss: number | null; recent: number[]; lastFiniteStep?: number; trailingNonFinite?: number; trailingSkipped?: number }

export class DivergenceCallback implements TrainerCallback {
  readonly name = 'divergence';
  private firstLoss: number | null = null;
  private recent: number[] = [];
  /** The last step with a finite loss that was not skipped (0: none yet). */
  private lastFiniteStep = 0;
  /** Steps since lastFiniteStep: all, and those whose loss was NaN / ±Inf. */
  private trailingSkipped = 0;
  private trailingNonFinite = 0;

  /**
   * @param lossFactor a final training loss above this × the first step's loss is divergence.
   * @param window the final loss is the mean of the last this many finite step losses.
   */
  constructor(readonly lossFactor: number, readonly window: number) {}

  onStepEnd(_t: TrainerControl, info: StepEndInfo): void {
    if (info.skipped || !Number.isFinite(info.loss)) {
      this.trailingSkipped++;
      if (!Number.isFinite(info.loss)) this.trailingNonFinite++;
      return;
    }
    this.lastFiniteStep = info.step;
    this.trailingSkipped = 0;
    this.trailingNonFinite = 0;
    if (this.firstLoss === null) this.firstLoss = info.loss;
    this.recent.push(info.loss);
    if (this.recent.length > this.window) this.recent.shift();
  }

  /**
   * The divergence message, or null when the run's loss ended within `lossFactor` of its start.
   */
  verdict(step: number): string | null {
    const hint = 'lower learningRate or raise warmupSteps';
    const endedNonFinite = this.trailingNonFinite >= this.window;
    if (this.firstLoss === null || this.recent.length === 0 || !(this.firstLoss > 0)) {
      return endedNonFinite ? `training diverged: the training loss was NaN or infinite at every step (${this.trailingNonFinite} steps to step ${step}); ${hint}` : null;
    }
    const final = this.recent.reduce((a, b) => a + b, 0) / this.recent.length;
    const far = final > this.lossFactor * this.firstLoss;
    if (!far && !endedNonFinite) return null;
    const ratio = `${fmt(final / this.firstLoss)}x its first step's ${fmt(this.firstLoss)}`;
    if (this.trailingSkipped === 0) {
      return `training diverged: the training loss ended at ${fmt(final)} (mean of the last ${this.recent.length} steps to step ${step}), ` +
        `${ratio} (stability.divergence.lossFactor = ${this.lossFactor}); ${hint}`;
    }
    // The run ended in steps with no usable loss: say so first; the finite mean is from before them.
    const nonFinite = this.trailingNonFinite === this.trailingSkipped ? 'had a NaN or infinite loss' :
      `had no usable loss (${this.trailingNonFinite} NaN or infinite, the rest skipped)`;
    return `training diverged: the last ${this.trailingSkipped} steps (to step ${step}) ${nonFinite}; ` +
      `the last ${this.recent.length} finite losses, to step ${this.lastFiniteStep}, average ${fmt(final)}, ${ratio}; ${hint}`;
  }

  /** @throws TrainingDivergedError when the loss ended far above its start. */
  check(step: number): void {
    const v = this.verdict(step);
    if (v !== null) throw new TrainingDivergedError(v, step);
  }

  state(): DivergenceState {
    return { firstLoss: this.firstLoss, recent: [...this.recent], lastFiniteStep: this.lastFiniteStep,
      trailingNonFinite: this.trailingNonFinite, trailingSkipped: this.trailingSkipped };
  }

  loadState(s: unknown): void {
    const st = s as Partial<DivergenceState> | null;
    if (!st || typeof st !== 'object') return;
    this.firstLoss = typeof st.firstLoss === 'number' ? st.firstLoss : null;
    this.recent = Array.isArray(st.recent) ? st.recent.filter((x): x is number => typeof x === 'number') : [];
    // Checkpoints from before these fields: no trailing steps known.
    const count = (x: unknown): number => (typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : 0);
    this.lastFiniteStep = count(st.lastFiniteStep);
    this.trailingNonFinite = count(st.trailingNonFinite);
    this.trailingSkipped = count(st.trailingSkipped);
  }
}
