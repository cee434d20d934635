/** The z-loss auxiliary term (PaLM, Chowdhery et al. 2022, §5): coef · mean of log²Z. */
import { ShapeError } from '../errors.js';
import * as T from '../tensor/index.js';
import { checkFloat, checkNumber, checkReduction, type Reduction } from './common.js';

export interface ZLossOptions {
  /** Coefficient (PaLM uses 1e-4). Default 1e-4. */
  coef?: number;
  /** 'mean' (default: over every leading position, padding included), 'sum' or 'none'. */
  reduction?: Reduction;
}

/**
 * z-loss = coef · mean over positions of lse(logits)², lse = T.logsumexp over the last dim (V).
 * Shapes: logits [..., V] float32 / float64 → scalar ('mean', 'sum') or [...] ('none').
 * Gradient: coef·g/count · 2·lse · softmax(logits). A row with +inf / NaN gives NaN; a row of only
 * −inf gives lse = −inf (loss +inf, NaN gradient), as PyTorch's logsumexp.
 * @throws ValueError for a non-finite coef or unknown reduction; ShapeError for 0-d logits.
 */
export function zLoss(logits: T.Tensor, options: ZLossOptions = {}): T.Tensor {
  const fn = 'zLoss';
  checkFloat(fn, 'logits', logits);
  const coef = checkNumber(fn, 'coef', options.coef ?? 1e-4);
  const reduction = checkReduction(fn, options.reduction ?? 'mean');
  if (logits.ndim === 0) throw new ShapeError(`${fn}: 'logits' must be [..., V], got shape []`);
  const perRow = T.mulScalar(T.square(T.logsumexp(logits, -1)), coef);
  return reduction === 'none' ? perRow : reduction === 'sum' ? T.sum(perRow) : T.mean(perRow);
}
