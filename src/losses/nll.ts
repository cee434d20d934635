/** Negative log-likelihood loss on log-probabilities (PyTorch 1.13 `nll_loss`). */
import { ShapeError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { classLossOp, type ClassLossCommon, parseClassOptions } from './class-loss-op.js';
import { checkFloat } from './common.js';

export type NllLossOptions = ClassLossCommon;

/**
 * NLL loss: loss_i = −w[y_i]·input[i, y_i] (0 where y_i = ignoreIndex); 'mean' divides by the summed
 * weights of the counted targets (NaN when that is 0; the gradient is then 0 if every target is
 * ignored, NaN at counted targets of weight 0, as PyTorch); the input is any real
 * tensor (log-probabilities, not checked).
 *
 * Shapes: input [N, C] or [N, C, d1, …] (class dim 1; a 1-D [C] input takes a 0-d target), float32 /
 * float64; target int32 [N] or [N, d1, …]; weight [C]. Output scalar, or the target's shape for 'none'.
 * Gradient w.r.t. input: −w[y]·g at the target class, 0 elsewhere.
 * @throws ShapeError (shapes named), IndexError (target position and value), ValueError (options).
 */
export function nllLoss(input: T.Tensor, target: T.Tensor, options: NllLossOptions = {}): T.Tensor {
  const fn = 'nllLoss';
  checkFloat(fn, 'input', input);
  if (input.ndim === 0) throw new ShapeError(`${fn}: 'input' must have a class dimension, got shape []`);
  const cd = input.ndim === 1 ? 0 : 1;
  const C = input.shape[cd];
  const o = parseClassOptions(fn, options, C);
  const tShape = input.shape.filter((_, d) => d !== cd);
  if (!T.sameShape(target.shape, tShape)) {
    throw new ShapeError(`${fn}: input ${fmtShape(input.shape)} needs a target of shape ${fmtShape(tShape)}, got ${fmtShape(target.shape)}`);
  }
  const outer = input.shape.slice(0, cd).reduce((a, b) => a * b, 1);
  const inner = input.shape.slice(cd + 1).reduce((a, b) => a * b, 1);
  return classLossOp(fn, input, target, tShape, outer,
    { C, inner, weight: o.weight, ignoreIndex: o.ignoreIndex, eps: 0, logits: false }, o.reduction);
}
