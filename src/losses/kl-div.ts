/**
 * Kullback–Leibler divergence loss (PyTorch 1.13 `kl_div`). Its default reduction 'mean' (kept for
 * PyTorch parity) is not the KL divergence of a batch; as PyTorch, the first call with it warns.
 */
import * as T from '../tensor/index.js';
import { log } from '../logger.js';
import { checkFloat, checkReduction, isZero, reduceLoss, resultDtype } from './common.js';

export interface KlDivOptions {
  /** 'mean' (default: over all elements, as PyTorch), 'batchmean' (sum / input.shape[0]; the
   *  mathematically correct KL for a batch), 'sum' or 'none'. */
  reduction?: 'none' | 'mean' | 'sum' | 'batchmean';
  /** The target is given as log-probabilities (default false). */
  logTarget?: boolean;
}

/**
 * PyTorch's xlogy(t, t) in tensor ops: t·log t, 0 where t = 0 (NaN where t is NaN). Where t = 0
 * the product's gradient is 0·log 0 = NaN, as PyTorch's xlogy rule gives (g·t/t) there.
 */
function xlogx(t: T.Tensor): T.Tensor {
  return T.where(isZero(t), T.zerosLike(t), T.mul(t, T.log(t)));
}

/**
 * KL(target ‖ exp(input)) pointwise, PyTorch 1.13's formulas in tensor ops: xlogy(t, t) − t·x
 * (0·log 0 := 0), or exp(t)·(t − x) with logTarget. input holds log-probabilities. Non-finite
 * values follow IEEE (t = 0, x = −inf gives NaN).
 * Gradients are the ops': input −t·g (−exp(t)·g); target (log t + 1 − x)·g, NaN at t = 0 as
 * PyTorch's xlogy rule; ((t − x)·exp(t) + exp(t))·g with logTarget.
 * Shapes: input, target broadcastable (normally equal); output scalar or the broadcast shape.
 * @throws ValueError for an unknown reduction; ShapeError when shapes do not broadcast.
 */
let warnedMean = false;

export function klDiv(input: T.Tensor, target: T.Tensor, options: KlDivOptions = {}): T.Tensor {
  const fn = 'klDiv';
  if ((options.reduction ?? 'mean') === 'mean' && !warnedMean) {
    // As PyTorch (once per process): the default divides by every element, not by the batch.
    warnedMean = true;
    log.warn("warning: klDiv: reduction 'mean' divides the summed divergence by every element (batch x classes), so it is not the KL divergence; use 'batchmean' (the sum divided by the batch size), as PyTorch advises");
  }
  checkFloat(fn, 'input', input);
  checkFloat(fn, 'target', target);
  const reduction = checkReduction(fn, options.reduction ?? 'mean', ['none', 'mean', 'sum', 'batchmean'] as const);
  T.broadcastShapes(input.shape, target.shape, `${fn}: input and target`);
  const dt = resultDtype(input, target);
  const x = T.cast(input, dt), t = T.cast(target, dt);
  const values = options.logTarget ? T.mul(T.exp(t), T.sub(t, x)) : T.sub(xlogx(t), T.mul(t, x));
  // 'batchmean' divides the sum by input.shape[0] (a 0-d input: by nothing), 'mean' by the count.
  return reduceLoss(values, reduction, input.ndim > 0 ? input.shape[0] : 1);
}
