/**
 * The learning-rate range test (Smith 2015, "Cyclical Learning Rates for Training Neural Networks"
 * §3.3; the fastai `lr_find` form): train for up to `numSteps` steps while the learning rate grows
 * exponentially from `startLr` to `endLr`, record the loss at each, smooth it with a bias-corrected
 * exponential moving average, and stop once the smoothed loss exceeds `divergeFactor` times its
 * minimum (or the loss is not finite). The suggestion is read off the smoothed curve.
 *
 * The suggestion is read off a CENTRED moving average of the raw losses (± a quarter decade of lr),
 * not off the causal EMA: an EMA with β = 0.98 lags by β/(1 − β) ≈ 49 steps, which at 25 steps per
 * decade shifts every feature of the curve two decades to the right (the smoothed minimum lands
 * where the raw loss is already rising). The causal EMA is kept for the stopping rule, which has
 * to be causal.
 *
 * Rules for the suggestion (`suggestLrs`); `'minimum'` is the default:
 * - `'minimum'`: the learning rate at the smoothed loss's minimum — the largest rate at which the
 *   loss still falls, Smith's `max_lr` (Smith 2015 §3.3: max_lr where the curve "slows, becomes
 *   ragged, or starts to fall"; Smith & Topin 2018 train one cycle peaking there). It is the default
 *   because trainformer's `learningRate` is the PEAK of a warmup + decay schedule, which is what
 *   max_lr is for: warmup keeps the untrained model away from that edge and the decay brings the
 *   rate down as the loss sharpens. For a constant schedule without warmup use `'minimum/10'`.
 * - `'steepest'`: the learning rate where the smoothed loss falls fastest per unit of log(lr)
 *   (difference over ± the averaging half-width), searched up to the minimum (fastai `steep`). In
 *   a sweep from scratch this is where learning starts at all (Smith's base_lr), usually a decade
 *   or more below a good peak rate.
 * - `'minimum/10'`: the minimum divided by 10 — a decade inside the stable range, for schedules
 *   without warmup (fastai `minimum`).
 * - `'valley'`: 2/3 along the longest run of decreasing smoothed loss before the minimum
 *   (fastai `valley`) — robust against a single noisy steep segment, but its answer moves with
 *   `startLr`.
 */
import { ValueError } from '../../errors.js';

/** The sweep's settings. */
export interface LrFindOptions {
  /** First learning rate (> 0). Default 1e-7. */
  startLr?: number;
  /** Last learning rate (> startLr). Default 10. */
  endLr?: number;
  /** Steps of the sweep (>= 5). Default 200. */
  numSteps?: number;
  /** EMA weight of the previous smoothed value (fastai: 0.98). */
  beta?: number;
  /** Stop once smoothed loss > divergeFactor × its minimum (fastai: 4). */
  divergeFactor?: number;
}

/** One point of the sweep. */
export interface LrFindPoint {
  lr: number;
  loss: number;
  /** Causal bias-corrected EMA (what the stopping rule sees). */
  smoothed: number;
  /** Centred moving average (what the suggestion is read from); set when the sweep ends. */
  centered?: number;
}

export type LrRule = 'minimum' | 'steepest' | 'minimum/10' | 'valley';

/** What `lrFind` returns. */
export interface LrFindResult {
  points: LrFindPoint[];
  /** Why the sweep stopped. */
  stoppedBy: 'end' | 'diverged' | 'non-finite';
  suggestedLr: number;
  rule: LrRule;
  /** Each rule's answer, for comparison. */
  suggestions: Record<LrRule, number>;
}

const DEFAULTS = { startLr: 1e-7, endLr: 10, numSteps: 200, beta: 0.98, divergeFactor: 4 };

function resolve(o: LrFindOptions): Required<LrFindOptions> {
  // Options given as undefined keep their defaults.
  const given = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const r = { ...DEFAULTS, ...given } as Required<LrFindOptions>;
  if (!(r.startLr > 0)) throw new ValueError(`lrFind: startLr must be > 0, got ${r.startLr}`);
  if (!(r.endLr > r.startLr)) throw new ValueError(`lrFind: endLr must be > startLr (${r.startLr}), got ${r.endLr}`);
  if (!Number.isInteger(r.numSteps) || r.numSteps < 5) throw new ValueError(`lrFind: numSteps must be an integer >= 5, got ${r.numSteps}`);
  if (!(r.beta >= 0 && r.beta < 1)) throw new ValueError(`lrFind: beta must be in [0, 1), got ${r.beta}`);
  if (!(r.divergeFactor > 1)) throw new ValueError(`lrFind: divergeFactor must be > 1, got ${r.divergeFactor}`);
  return r;
}

/** The i-th learning rate of an exponential sweep of n steps: start·(end/start)^(i/(n−1)). */
export function sweepLr(i: number, n: number, startLr: number, endLr: number): number {
  return startLr * Math.pow(endLr / startLr, i / (n - 1));
}

/**
 * Bias-corrected exponential moving average (Kingma & Ba 2015's correction, as fastai smooths
 * the lr-finder loss): m_i = β·m_{i−1} + (1−β)·x_i, s_i = m_i / (1 − β^{i+1}).
 */
export function smoothLosses(losses: readonly number[], beta = 0.98): number[] {
  let m = 0;
  return losses.map((x, i) => {
    m = beta * m + (1 - beta) * x;
    return m / (1 - Math.pow(beta, i + 1));
  });
}

/**
 * Centred moving average: out[i] = mean(x[i−h … i+h]), the window clipped at the ends (so it
 * stays centred only where it fits; at the ends it averages what there is).
 * @throws ValueError when h is not an integer >= 0.
 */
export function centeredMovingAverage(x: readonly number[], h: number): number[] {
  if (!Number.isInteger(h) || h < 0) throw new ValueError(`centeredMovingAverage: half-width must be an integer >= 0, got ${h}`);
  return x.map((_, i) => {
    const a = Math.max(0, i - h);
    const b = Math.min(x.length - 1, i + h);
    let s = 0;
    for (let j = a; j <= b; j++) s += x[j];
    return s / (b - a + 1);
  });
}

/** Half-width in steps of the centred average: a quarter decade of the sweep, at least 1 step. */
export function centeredHalfWidth(numSteps: number, startLr: number, endLr: number): number {
  const stepsPerDecade = (numSteps - 1) / Math.log10(endLr / startLr);
  return Math.max(1, Math.round(stepsPerDecade / 4));
}

/**
 * The suggested learning rate of a sweep by each rule (see the module comment). Points must be in
 * sweep order (increasing lr) with finite smoothed losses (`smoothed`: whichever smoothing the
 * caller chose; `lrFind` passes the centred moving average). `span`: the steepest rule's slope at i
 * is the difference between points i − span and i + span.
 * @throws ValueError for fewer than 3 points.
 */
export function suggestLrs(points: readonly { lr: number; smoothed: number }[], span = 1): Record<LrRule, number> {
  const n = points.length;
  if (n < 3) throw new ValueError(`suggestLr: needs at least 3 points of the sweep, got ${n}`);
  let iMin = 0;
  for (let i = 1; i < n; i++) if (points[i].smoothed < points[iMin].smoothed) iMin = i;
  // Steepest descent per log-lr: central differences inside [1, iMin] (one-sided at the ends).
  const slope = (i: number): number => {
    const a = Math.max(0, i - span);
    const b = Math.min(n - 1, i + span);
    return (points[b].smoothed - points[a].smoothed) / (Math.log(points[b].lr) - Math.log(points[a].lr));
  };
  let iSteep = 0;
  for (let i = 1; i <= Math.max(iMin, 1) && i < n; i++) if (slope(i) < slope(iSteep)) iSteep = i;
  // Valley: the longest strictly decreasing run ending at or before the minimum; its point 2/3 along
  // (fastai takes the middle of the longest valley and moves towards its lower end).
  let bestStart = 0;
  let bestLen = 0;
  let runStart = 0;
  for (let i = 1; i <= iMin; i++) {
    if (points[i].smoothed >= points[i - 1].smoothed) runStart = i;
    const len = i - runStart;
    if (len > bestLen) {
      bestLen = len;
      bestStart = runStart;
    }
  }
  const iValley = Math.min(n - 1, bestStart + Math.floor((2 * bestLen) / 3));
  return { 'minimum': points[iMin].lr, 'steepest': points[iSteep].lr, 'minimum/10': points[iMin].lr / 10, 'valley': points[iValley].lr };
}

/**
 * Runs the sweep.
 * @param step trains one step at learning rate `lr` and returns that step's loss (computed before
 *   the update, as training logs it).
 * @param rule which suggestion becomes `suggestedLr`.
 * @param onPoint called with each point as it is measured (to write lr_find.jsonl as it goes).
 * @throws ValueError for bad options, or when the loss is not finite from the very first steps
 *   (fewer than 3 usable points).
 */
export function lrFind(step: (lr: number, i: number) => number, options: LrFindOptions = {}, rule: LrRule = 'minimum',
  onPoint?: (p: LrFindPoint) => void): LrFindResult {
  const o = resolve(options);
  const points: LrFindPoint[] = [];
  let m = 0;
  let best = Infinity;
  let stoppedBy: LrFindResult['stoppedBy'] = 'end';
  for (let i = 0; i < o.numSteps; i++) {
    const lr = sweepLr(i, o.numSteps, o.startLr, o.endLr);
    const loss = step(lr, i);
    if (!Number.isFinite(loss)) {
      stoppedBy = 'non-finite';
      break;
    }
    m = o.beta * m + (1 - o.beta) * loss;
    const smoothed = m / (1 - Math.pow(o.beta, i + 1));
    const p = { lr, loss, smoothed };
    points.push(p);
    onPoint?.(p);
    best = Math.min(best, smoothed);
    if (i > 0 && smoothed > o.divergeFactor * best) {
      stoppedBy = 'diverged';
      break;
    }
  }
  if (points.length < 3) {
    throw new ValueError(`lrFind: the loss was not finite after ${points.length} step(s) from startLr ${o.startLr}; start the sweep lower`);
  }
  const h = centeredHalfWidth(o.numSteps, o.startLr, o.endLr);
  const centered = centeredMovingAverage(points.map((p) => p.loss), h);
  points.forEach((p, i) => { p.centered = centered[i]; });
  const suggestions = suggestLrs(points.map((p) => ({ lr: p.lr, smoothed: p.centered! })), h);
  return { points, stoppedBy, suggestedLr: suggestions[rule], rule, suggestions };
}

/** A one-line description of a rule, written beside the suggestion. */
export function describeRule(rule: LrRule): string {
  switch (rule) {
    case 'minimum': return "minimum: lr at the smoothed loss (centred average) minimum, Smith's max_lr, for the peak of a warmup + decay schedule";
    case 'steepest': return 'steepest: lr where the smoothed loss (centred average) falls fastest per log(lr), before its minimum';
    case 'minimum/10': return 'minimum/10: lr at the smoothed loss (centred average) minimum divided by 10';
    case 'valley': return 'valley: 2/3 along the longest decreasing stretch of the smoothed loss (centred average) before its minimum';
  }
}
