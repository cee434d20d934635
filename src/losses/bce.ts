/** Binary cross-entropy on logits (PyTorch 1.13 `binary_cross_entropy_with_logits`), written with tensor ops. */
import { ShapeError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { broadcastOperand, checkFloat, checkReduction, isZero, reduceLoss, type Reduction, resultDtype } from './common.js';

export interface BceWithLogitsOptions {
  /** Per-element rescaling weight, broadcast to the input's shape. */
  weight?: T.Tensor | null;
  /** Weight of positive examples per class, [C] or [1], broadcast along the last dim. */
  posWeight?: T.Tensor | null;
  /** 'mean' (default, over all elements), 'sum' or 'none'. */
  reduction?: Reduction;
}

/**
 * softplus(−x) = log(1 + e^−x) = −log σ(x) in tensor ops, without overflow and with the right
 * gradient −σ(−x) everywhere (−1 at x = −inf, −0.5 at 0): log1p(e^−x) where x ≥ 0, and
 * −x + log1p(e^x) where x < 0 (or NaN). Each branch sees x only where it is chosen (0 elsewhere),
 * so the other branch's gradient is an exact 0.
 */
function softplusOfNeg(x: T.Tensor): T.Tensor {
  const nonNeg = T.noGrad(() => T.heaviside(x.detach(), 1)); // 1 where x ≥ 0; 0 where x < 0 or NaN
  const neg = T.noGrad(() => T.rsubScalar(nonNeg, 1));
  const xp = T.maskedFill(x, neg, 0), xn = T.maskedFill(x, nonNeg, 0);
  return T.where(nonNeg, T.log1p(T.exp(T.neg(xp))), T.sub(T.log1p(T.exp(xn)), xn));
}

/**
 * loss = −w·(pw·y·log σ(x) + (1−y)·log(1−σ(x))), PyTorch 1.13's value and gradients in tensor ops.
 * For finite x: PyTorch's formula (1−y)·x + (1 + (pw−1)·y)·softplus(−x) (its max-shifted
 * log(e^−m + e^(−x−m)) + m is softplus(−x)), so ±1e4 logits are finite. For x = ±inf or NaN:
 * (1−y)·softplus(x) + pw·y·softplus(−x), whose gradients are PyTorch's backward formulas there
 * (the first form's would be inf − inf), plus a NaN at x = −inf, PyTorch's value (−inf + inf).
 * Gradients: input ((1 + (pw−1)·y)·σ(x) − pw·y)·w·g (σ(x) − y without pw); target
 * (log σ(−x) − pw·log σ(x))·w·g (−x·w·g without pw).
 * Shapes: input, target the same shape (float); output scalar or that shape ('none').
 * @throws ShapeError when target differs from input or weight / posWeight do not broadcast (shapes
 *   named); ValueError for a bad reduction or non-float tensors.
 */
export function bceWithLogits(input: T.Tensor, target: T.Tensor, options: BceWithLogitsOptions = {}): T.Tensor {
  const fn = 'bceWithLogits';
  checkFloat(fn, 'input', input);
  checkFloat(fn, 'target', target);
  const reduction = checkReduction(fn, options.reduction ?? 'mean');
  if (!T.sameShape(input.shape, target.shape)) {
    throw new ShapeError(`${fn}: target shape ${fmtShape(target.shape)} must be the same as input shape ${fmtShape(input.shape)}`);
  }
  const shape = input.shape;
  const dt = resultDtype(input, target);
  const w = options.weight ? broadcastOperand(fn, 'weight', options.weight, shape, dt) : null;
  const pw = options.posWeight ? broadcastOperand(fn, 'posWeight', options.posWeight, shape, dt) : null;
  const x = T.cast(input, dt), y = T.cast(target, dt);
  const { finite, notFinite, nanAtNegInf } = T.noGrad(() => {
    const xd = x.detach();
    const finite = isZero(T.sub(xd, xd)); // x − x is 0 exactly where x is finite
    // x + inf is NaN only where x = −inf (or NaN): there PyTorch's value is NaN.
    const negInf = T.rsubScalar(T.heaviside(T.addScalar(xd, Infinity), 0), 1);
    return { finite, notFinite: T.rsubScalar(finite, 1), nanAtNegInf: T.maskedFill(T.zerosLike(xd), negInf, NaN) };
  });
  // Each form sees x only where it is chosen (0 elsewhere), so the other's gradient is an exact 0.
  const xf = T.maskedFill(x, notFinite, 0), xi = T.maskedFill(x, finite, 0);
  const logWeight = pw ? T.addScalar(T.mul(T.addScalar(pw, -1), y), 1) : null;
  const spf = softplusOfNeg(xf);
  const finiteForm = T.add(T.mul(T.rsubScalar(y, 1), xf), logWeight ? T.mul(logWeight, spf) : spf);
  const infForm = T.add(T.add(T.mul(T.rsubScalar(y, 1), softplusOfNeg(T.neg(xi))), T.mul(pw ? T.mul(pw, y) : y, softplusOfNeg(xi))), nanAtNegInf);
  let loss = T.where(finite, finiteForm, infForm);
  if (w) loss = T.mul(loss, w);
  return reduceLoss(loss, reduction);
}
