/**
 * The running sums of one logging window (the optimizer steps between two train lines of
 * metrics.jsonl) and the train line they make. Plain data, so a checkpoint saves a half-full window
 * and the resumed run logs the same line as the uninterrupted one.
 */
import type { MetricsRecord } from './metrics.js';
import type { StepResult } from './step.js';

export interface LogWindow {
  steps: number;
  /** Σ over steps of each step's token-mean loss. */
  loss: number;
  terms: Record<string, number>;
  gradNorm: number;
  tokens: number;
  skipped: number;
  /** The loss scale of the window's last step. */
  lossScale: number;
  /** Objective attribution of the window's last step (the logging step), when it was measured. */
  attribution?: Record<string, { gradNorm: number; cosine: number }>;
}

export const emptyWindow = (): LogWindow => ({ steps: 0, loss: 0, terms: {}, gradNorm: 0, tokens: 0, skipped: 0, lossScale: 1 });

/** Adds one completed optimizer step. */
export function addStep(w: LogWindow, r: StepResult): void {
  w.steps++;
  w.loss += r.loss;
  for (const [n, v] of Object.entries(r.terms)) w.terms[n] = (w.terms[n] ?? 0) + v;
  w.gradNorm += r.gradNorm;
  w.tokens += r.tokens;
  w.lossScale = r.lossScale;
  if (r.decision.skip) w.skipped++;
  if (r.attribution) w.attribution = r.attribution;
}

/**
 * The train line of a window: means over its steps (loss, each term, gradNorm), tokens/s over
 * `seconds`, and the loss scale of its last step (the GradScaler's value; 1 with scaling off).
 */
export function windowRecord(w: LogWindow, seconds: number, fields: { step: number; epoch: number; lr: number; time: number; elapsed: number }): MetricsRecord {
  const terms: Record<string, number> = {};
  for (const [n, v] of Object.entries(w.terms)) terms[n] = v / w.steps;
  const rec: MetricsRecord = {
    split: 'train',
    step: fields.step,
    epoch: fields.epoch,
    loss: w.loss / w.steps,
    terms,
    lr: fields.lr,
    gradNorm: w.gradNorm / w.steps,
    tokensPerSecond: Math.round(w.tokens / seconds),
    lossScale: w.lossScale,
    time: fields.time,
    elapsed: fields.elapsed,
  };
  if (w.skipped > 0) rec.skipped = true;
  // The logging step's per-term gradient norm and cosine with the total gradient (objectiveAttribution).
  if (w.attribution) rec.attribution = w.attribution;
  return rec;
}
