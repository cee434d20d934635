/** Parameter-norm penalties over a list of tensors: l1Penalty, l2Penalty (tensor ops). */
import { ValueError } from '../errors.js';
import * as T from '../tensor/index.js';
import { checkFloat, checkNumber, resultDtype } from './common.js';

function penalty(fn: string, params: readonly T.Tensor[], lambda: number, l1: boolean): T.Tensor {
  if (!Array.isArray(params)) throw new ValueError(`${fn}: 'params' must be an array of tensors, got ${typeof params}`);
  checkNumber(fn, 'lambda', lambda);
  params.forEach((p, i) => {
    if (!(p instanceof T.Tensor)) throw new ValueError(`${fn}: params[${i}] is not a tensor`);
    checkFloat(fn, `params[${i}]`, p);
  });
  const dt = resultDtype(...params);
  let total: T.Tensor = T.zeros([], dt);
  for (const p of params) total = T.add(total, T.sum(l1 ? T.abs(p) : T.square(p)));
  return T.mulScalar(total, l1 ? lambda : lambda / 2);
}

/**
 * L1 penalty λ·Σ_p Σ|w| over every element of every tensor in `params` (any shapes); gradient
 * λ·sign(w) with sign(0) = 0. An empty list gives 0. Output: scalar (float64 if any param is).
 * @throws ValueError for a non-finite λ or a non-float / non-tensor entry.
 */
export function l1Penalty(params: readonly T.Tensor[], lambda = 1): T.Tensor {
  return penalty('l1Penalty', params, lambda, true);
}

/**
 * L2 penalty (λ/2)·Σ_p Σ w² (half convention: gradient λ·w, the same as PyTorch's
 * `weight_decay = λ` added to the gradient). An empty list gives 0. Output: scalar.
 * @throws ValueError for a non-finite λ or a non-float / non-tensor entry.
 */
export function l2Penalty(params: readonly T.Tensor[], lambda = 1): T.Tensor {
  return penalty('l2Penalty', params, lambda, false);
}
