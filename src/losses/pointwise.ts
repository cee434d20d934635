/**
 * Element-wise regression losses: mseLoss, l1Loss, smoothL1Loss, huberLoss (PyTorch 1.13 semantics,
 * including the backward branch order), written with tensor ops: their gradients are the ops'.
 * d = input − target; input and target broadcast like PyTorch (which only warns); 'mean' divides by
 * the element count (NaN for empty inputs).
 */
import { ValueError } from '../errors.js';
import * as T from '../tensor/index.js';
import { checkFloat, checkNumber, checkReduction, reduceLoss, type Reduction, resultDtype } from './common.js';

export interface PointwiseOptions {
  /** 'mean' (default), 'sum' or 'none'. */
  reduction?: Reduction;
}

/** d = input − target (broadcast, float64 if either is), after the dtype checks. */
function difference(fn: string, input: T.Tensor, target: T.Tensor): T.Tensor {
  checkFloat(fn, 'input', input);
  checkFloat(fn, 'target', target);
  T.broadcastShapes(input.shape, target.shape, `${fn}: input and target`);
  const dt = resultDtype(input, target);
  return T.sub(T.cast(input, dt), T.cast(target, dt));
}

/**
 * The two-piece losses (smooth L1, Huber) in tensor ops: quadratic(d) where −t < d < t (NaN
 * included), linear(d, s) elsewhere, with s = −1 where d ≤ −t and +1 where d ≥ t a constant, so the
 * gradient follows PyTorch's branch order (d ≤ −t first: t = 0, d = 0 gives −g). Each piece sees d
 * only where it is chosen (0 elsewhere), so the other piece's gradient is an exact 0 (no 0·inf).
 */
function twoPiece(d: T.Tensor, t: number, quadratic: (dq: T.Tensor) => T.Tensor,
  linear: (dl: T.Tensor, s: T.Tensor) => T.Tensor): T.Tensor {
  const { low, high, lin } = T.noGrad(() => {
    const dd = d.detach();
    const low = T.heaviside(T.rsubScalar(dd, -t), 1); // d ≤ −t
    const high = T.heaviside(T.addScalar(dd, -t), 1); // d ≥ t
    return { low, high, lin: T.maximum(low, high) };
  });
  const s = T.noGrad(() => T.rsubScalar(T.mulScalar(low, 2), 1)); // −1 where d ≤ −t, else +1
  return T.where(lin, linear(T.mul(d, lin), s), quadratic(T.maskedFill(d, lin, 0)));
}

/**
 * Mean squared error: (input − target)²; gradient 2·d·g. Shapes: any, broadcastable; output scalar
 * or the broadcast shape ('none'). @throws ShapeError (not broadcastable), ValueError (reduction).
 */
export function mseLoss(input: T.Tensor, target: T.Tensor, options: PointwiseOptions = {}): T.Tensor {
  const r = checkReduction('mseLoss', options.reduction ?? 'mean');
  return reduceLoss(T.square(difference('mseLoss', input, target)), r);
}

/**
 * L1 loss |input − target|; gradient sign(d)·g with sign(0) = 0 (and 0 at NaN, as torch.sign).
 * @throws ShapeError, ValueError as mseLoss.
 */
export function l1Loss(input: T.Tensor, target: T.Tensor, options: PointwiseOptions = {}): T.Tensor {
  const r = checkReduction('l1Loss', options.reduction ?? 'mean');
  return reduceLoss(T.abs(difference('l1Loss', input, target)), r);
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
  const d = difference(fn, input, target);
  const loss = twoPiece(d, beta, (dq) => T.div(T.mulScalar(T.square(dq), 0.5), beta),
    (dl, s) => T.addScalar(T.mul(dl, s), -0.5 * beta));
  return reduceLoss(loss, r);
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
  const d = difference(fn, input, target);
  const loss = twoPiece(d, delta, (dq) => T.mulScalar(T.square(dq), 0.5),
    (dl, s) => T.mulScalar(T.addScalar(T.mul(dl, s), -0.5 * delta), delta));
  return reduceLoss(loss, r);
}
