/**
 * Element-wise regression losses: mseLoss, l1Loss, smoothL1Loss, huberLoss (PyTorch 1.13 semantics,
 * including the backward branch order). d = input − target; input and target broadcast like
 * PyTorch (which only warns); 'mean' divides by the element count (NaN for empty inputs).
 */
import { ValueError } from '../errors.js';
import * as T from '../tensor/index.js';
import { broadcastData, checkFloat, checkNumber, checkReduction, floatData, fromValues, type Reduction, resultDtype, scalarOf } from './common.js';
import type { FloatArray } from './common.js';

export interface PointwiseOptions {
  /** 'mean' (default), 'sum' or 'none'. */
  reduction?: Reduction;
}

/**
 * The shared op: loss(d) per element and its derivative dloss/dinput(d, g) where g is the upstream
 * gradient of that element (already divided by the count for 'mean'); the target gets the negative.
 */
function pointwiseLoss(fn: string, input: T.Tensor, target: T.Tensor, reduction: Reduction,
  f: (d: number) => number, df: (d: number, g: number) => number): T.Tensor {
  checkFloat(fn, 'input', input);
  checkFloat(fn, 'target', target);
  const shape = T.broadcastShapes(input.shape, target.shape, `${fn}: input and target`);
  const a = broadcastData(fn, 'input', input, shape), b = broadcastData(fn, 'target', target, shape);
  const n = shape.reduce((x, y) => x * y, 1);
  const dt = resultDtype(input, target);
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = f(a[i] - b[i]);
  let out: T.Tensor;
  if (reduction === 'none') out = fromValues(shape, dt, vals);
  else {
    let s = 0;
    for (let i = 0; i < n; i++) s += vals[i];
    out = scalarOf(reduction === 'mean' ? s / n : s, dt);
  }
  return T.record(fn, out, [input, target], (g) => {
    const gd = floatData(g);
    const di = T.empty(shape, dt);
    const dd = di.storage.data as FloatArray;
    for (let i = 0; i < n; i++) {
      const gi = reduction === 'none' ? gd[i] : reduction === 'mean' ? gd[0] / n : gd[0];
      dd[i] = df(a[i] - b[i], gi);
    }
    let dTarget: T.Tensor | null = null;
    if (target.requiresGrad) {
      const dtg = T.empty(shape, dt);
      const td = dtg.storage.data as FloatArray;
      for (let i = 0; i < n; i++) td[i] = -dd[i];
      dTarget = T.sumToShape(dtg, target.shape);
    }
    return [input.requiresGrad ? T.sumToShape(di, input.shape) : null, dTarget];
  });
}

/**
 * Mean squared error: (input − target)²; gradient 2·d·g. Shapes: any, broadcastable; output scalar
 * or the broadcast shape ('none'). @throws ShapeError (not broadcastable), ValueError (reduction).
 */
export function mseLoss(input: T.Tensor, target: T.Tensor, options: PointwiseOptions = {}): T.Tensor {
  const r = checkReduction('mseLoss', options.reduction ?? 'mean');
  return pointwiseLoss('mseLoss', input, target, r, (d) => d * d, (d, g) => 2 * d * g);
}

/** PyTorch's sign: 0 at 0 and at NaN. */
function sign(d: number): number {
  return d > 0 ? 1 : d < 0 ? -1 : 0;
}

/**
 * L1 loss |input − target|; gradient sign(d)·g with sign(0) = 0 (and 0 at NaN, as torch.sign).
 * @throws ShapeError, ValueError as mseLoss.
 */
export function l1Loss(input: T.Tensor, target: T.Tensor, options: PointwiseOptions = {}): T.Tensor {
  const r = checkReduction('l1Loss', options.reduction ?? 'mean');
  return pointwiseLoss('l1Loss', input, target, r, (d) => Math.abs(d), (d, g) => sign(d) * g);
}

export interface SmoothL1Options extends PointwiseOptions {
  /** Threshold β ≥ 0 between the quadratic and linear parts (default 1; 0 = plain L1). */
  beta?: number;
}

/**
 * Smooth L1 (Girshick 2015, PyTorch `smooth_l1_loss`): 0.5·d²/β if |d| < β else |d| − 0.5·β.
 * Gradient (PyTorch's branch order): −g if d ≤ −β, +g if d ≥ β, else d·g/β — so β = 0, d = 0 gives −g.
 * @throws ValueError for β < 0 or not a number, or a bad reduction; ShapeError as mseLoss.
 */
export function smoothL1Loss(input: T.Tensor, target: T.Tensor, options: SmoothL1Options = {}): T.Tensor {
  const fn = 'smoothL1Loss';
  const r = checkReduction(fn, options.reduction ?? 'mean');
  const beta = checkNumber(fn, 'beta', options.beta ?? 1, true);
  if (beta < 0) throw new ValueError(`${fn}: option 'beta' must be >= 0, got ${beta}`);
  return pointwiseLoss(fn, input, target, r,
    (d) => { const z = Math.abs(d); return z < beta ? (0.5 * z * z) / beta : z - 0.5 * beta; },
    (d, g) => (d <= -beta ? -g : d >= beta ? g : (d * g) / beta));
}

export interface HuberOptions extends PointwiseOptions {
  /** Threshold δ > 0 (default 1). */
  delta?: number;
}

/**
 * Huber loss (Huber 1964, PyTorch `huber_loss`): 0.5·d² if |d| ≤ δ else δ·(|d| − 0.5·δ).
 * Gradient: −δ·g if d ≤ −δ, +δ·g if d ≥ δ, else d·g.
 * @throws ValueError for δ ≤ 0 or not a number, or a bad reduction; ShapeError as mseLoss.
 */
export function huberLoss(input: T.Tensor, target: T.Tensor, options: HuberOptions = {}): T.Tensor {
  const fn = 'huberLoss';
  const r = checkReduction(fn, options.reduction ?? 'mean');
  const delta = checkNumber(fn, 'delta', options.delta ?? 1, true);
  if (!(delta > 0)) throw new ValueError(`${fn}: option 'delta' must be > 0, got ${delta}`);
  return pointwiseLoss(fn, input, target, r,
    (d) => { const z = Math.abs(d); return z < delta ? 0.5 * z * z : delta * (z - 0.5 * delta); },
    (d, g) => (d <= -delta ? -g * delta : d >= delta ? g * delta : d * g));
}
