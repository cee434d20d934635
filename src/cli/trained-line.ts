// The closing line of `trainformer train`. After --resume it counts the steps this run trained, not
// the checkpoint's total, so steps ÷ seconds is this run's speed (found by the third fresh-user trial).
import type { TrainResult } from '../train/trainer.js';

/**
 * `trained 30 steps in 10.5 s`, or after a resume from step 20 `trained 10 steps (steps 21–30) in 10.5 s`
 * (`trained 1 step (step 21) in …` for one).
 */
export function trainedLine(r: Pick<TrainResult, 'step' | 'startStep' | 'seconds'>): string {
  const here = r.step - r.startStep;
  const range = r.startStep <= 0 ? '' : here === 1 ? ` (step ${r.step})` : ` (steps ${r.startStep + 1}–${r.step})`;
  return `trained ${here} step${here === 1 ? '' : 's'}${range} in ${r.seconds.toFixed(1)} s`;
}
