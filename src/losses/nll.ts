/** Negative log-likelihood loss on log-probabilities (PyTorch 1.13 `nll_loss`), written with tensor ops. */
import { ShapeError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { classRows, classTargets, type ClassLossCommon, parseClassOptions, splitIgnored } from './class-options.js';
import { checkFloat } from './common.js';
import { reduceRows } from './cross-entropy.js';

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
  const t = classTargets(fn, target, tShape, C, o.ignoreIndex);
  const N = t.numel();
  const { safe, ignored } = splitIgnored(t, o.ignoreIndex);
  const x = classRows(input, cd);
  const picked = T.reshape(C === 0 ? T.zeros([N, 1], input.dtype) : T.gather(x, 1, T.reshape(safe, [N, 1])), [N]);
  const dt = input.dtype;
  const wy = o.weight ? T.cast(T.indexSelect(o.weight, safe), dt) : T.ones([N], dt);
  const loss = T.maskedFill(T.neg(T.mul(picked, wy)), ignored, 0);
  return reduceRows(loss, T.maskedFill(wy, ignored, 0), o.reduction, tShape);
}
