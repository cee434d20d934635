/** Parameter-norm penalties over a list of tensors: l1Penalty, l2Penalty. */
import { ValueError } from '../errors.js';
import type { FloatArray } from '../backend/backend.js';
import * as T from '../tensor/index.js';
import { checkFloat, checkNumber, floatData, resultDtype, scalarOf } from './common.js';

function penalty(fn: string, params: readonly T.Tensor[], lambda: number, l1: boolean): T.Tensor {
  if (!Array.isArray(params)) throw new ValueError(`${fn}: 'params' must be an array of tensors, got ${typeof params}`);
  checkNumber(fn, 'lambda', lambda);
  params.forEach((p, i) => {
    if (!(p instanceof T.Tensor)) throw new ValueError(`${fn}: params[${i}] is not a tensor`);
    checkFloat(fn, `params[${i}]`, p);
  });
  const dt = resultDtype(...params);
  const data = params.map((p) => floatData(p));
  let s = 0;
  for (const d of data) {
    if (l1) for (let i = 0; i < d.length; i++) s += Math.abs(d[i]);
    else for (let i = 0; i < d.length; i++) s += d[i] * d[i];
  }
  const out = scalarOf(l1 ? lambda * s : (lambda / 2) * s, dt);
  return T.record(fn, out, [...params], (g) => {
    const k = floatData(g)[0] * lambda;
    return params.map((p, j) => {
      if (!p.requiresGrad) return null;
      const d = data[j];
      const gp = T.empty(p.shape, p.dtype);
      const gd = gp.storage.data as FloatArray;
      // torch.sign: 0 at 0 and at NaN.
      if (l1) for (let i = 0; i < d.length; i++) gd[i] = k * (d[i] > 0 ? 1 : d[i] < 0 ? -1 : 0);
      else for (let i = 0; i < d.length; i++) gd[i] = k * d[i];
      return gp;
    });
  });
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
