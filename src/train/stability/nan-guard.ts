/**
 * The non-finite guard: a step whose loss or gradients hold NaN or ±Inf is skipped (the optimizer
 * does not run, so no parameter can become non-finite through it); after `maxConsecutiveSkips`
 * skipped steps in a row, training stops with {@link TrainingDivergedError}.
 */
import { TrainingDivergedError } from './errors.js';

/** Why a step is skipped, or null when it is fine. */
export type NonFiniteReason = 'loss' | 'gradients' | null;

/** Which of loss / gradient norm is non-finite (the loss is checked first). */
export function nonFiniteReason(loss: number, gradNorm: number): NonFiniteReason {
  if (!Number.isFinite(loss)) return 'loss';
  if (!Number.isFinite(gradNorm)) return 'gradients';
  return null;
}

export class NanGuard {
  /** Skipped steps in a row. */
  consecutive = 0;
  /** Skipped steps in the run. */
  total = 0;

  /** @param maxConsecutiveSkips the skip that makes this many in a row throws (integer >= 1). */
  constructor(readonly maxConsecutiveSkips: number) {}

  /**
   * Records a skipped step.
   * @throws TrainingDivergedError when this skip makes `maxConsecutiveSkips` in a row.
   */
  skip(step: number, reason: Exclude<NonFiniteReason, null>, lastGoodCheckpoint: string | null = null): void {
    this.consecutive++;
    this.total++;
    if (this.consecutive >= this.maxConsecutiveSkips) {
      const where = lastGoodCheckpoint ? `; the last checkpoint, ${lastGoodCheckpoint}, is intact` : '';
      throw new TrainingDivergedError(
        `training diverged at step ${step}: ${this.consecutive} consecutive steps had a non-finite ${reason === 'loss' ? 'loss' : 'gradient'} ` +
        `(stability.nanGuard.maxConsecutiveSkips = ${this.maxConsecutiveSkips})${where}; lower learningRate or raise warmupSteps`,
        step,
      );
    }
  }

  /** Records a step that ran. */
  ok(): void {
    this.consecutive = 0;
  }

  stateDict(): { consecutive: number; total: number } {
    return { consecutive: this.consecutive, total: this.total };
  }

  loadStateDict(s: { consecutive?: number; total?: number }): void {
    this.consecutive = s.consecutive ?? 0;
    this.total = s.total ?? 0;
  }
}
