/**
 * Applying a learning-rate schedule (src/optim/schedules.ts) to an optimiser's parameter groups,
 * with PyTorch `LambdaLR` semantics: each group's lr = its `initialLr` × the schedule's multiplier
 * at the step, multiplier = `schedule.lrAt(step) / schedule.config.baseLr`. A group whose
 * `initialLr` equals the schedule's `baseLr` gets `schedule.lrAt(step)` exactly (no rounding
 * through the division), so a single-group run uses the schedule's own values.
 */
import { ValueError } from '../errors.js';
import type { Optimizer } from './optimizer.js';
import type { LrSchedule } from './schedules.js';

/**
 * Sets every group's `lr` for the optimizer step that follows `step` completed steps (default:
 * `schedule.lastEpoch`). Call it before each `optimizer.step()`.
 * @returns the lr of the first group.
 * @throws ValueError when `step` is not an integer >= 0, or the schedule's baseLr is 0 while a
 *   group's initialLr differs from it (no multiplier can be derived).
 */
export function setScheduledLr(optimizer: Optimizer<{ lr: number }>, schedule: LrSchedule, step: number = schedule.lastEpoch): number {
  const lr = schedule.lrAt(step);
  const base = schedule.config.baseLr;
  for (const g of optimizer.paramGroups) {
    if (g.initialLr === base) g.lr = lr;
    else if (base === 0) throw new ValueError(`setScheduledLr: the schedule's baseLr is 0 but a group's initialLr is ${g.initialLr}; give the schedule baseLr 1 to use it as a multiplier`);
    else g.lr = g.initialLr * (lr / base);
  }
  return optimizer.paramGroups[0]?.lr ?? lr;
}
