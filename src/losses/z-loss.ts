/** The z-loss auxiliary term (PaLM, Chowdhery et al. 2022, §5): coef · mean of log²Z. */
import { ShapeError } from '../errors.js';
import type { FloatArray } from '../backend/backend.js';
import * as T from '../tensor/index.js';
import { checkFloat, checkNumber, checkReduction, floatData, fromValues, type Reduction, scalarOf } from './common.js';
import { notePeak } from './peak.js';

export interface ZLossOptions {
  /** Coefficient (PaLM uses 1e-4). Default 1e-4. */
  coef?: number;
  /** 'mean' (default: over every leading position, padding included), 'sum' or 'none'. */
  reduction?: Reduction;
}

/** torch.logsumexp of one row (max-shifted; ±inf and NaN maxima returned as they are). */
export function rowLogSumExp(x: FloatArray, b: number, n: number): number {
  let m = -Infinity;
  for (let j = b; j < b + n; j++) { const v = x[j]; if (v > m || v !== v) m = v; }
  if (m - m !== 0) return m;
  let s = 0;
  for (let j = b; j < b + n; j++) s += Math.exp(x[j] - m);
  return m + Math.log(s);
}

/**
 * z-loss = coef · mean over positions of lse(logits)², lse over the last dim (V).
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
  const V = logits.shape[logits.ndim - 1];
  const lead = logits.shape.slice(0, -1);
  const rows = lead.reduce((a, b) => a * b, 1);
  const xd = floatData(logits);
  const dt = logits.dtype === 'float64' ? 'float64' : 'float32';
  const lse = new Float64Array(rows);
  for (let r = 0; r < rows; r++) lse[r] = rowLogSumExp(xd, r * V, V);
  let out: T.Tensor;
  if (reduction === 'none') {
    const v = new Float64Array(rows);
    for (let r = 0; r < rows; r++) v[r] = coef * (lse[r] * lse[r]);
    out = fromValues(lead, dt, v);
  } else {
    let s = 0;
    for (let r = 0; r < rows; r++) s += lse[r] * lse[r];
    out = scalarOf(reduction === 'mean' ? coef * (s / rows) : coef * s, dt);
  }
  notePeak();
  return T.record(fn, out, [logits], (g) => {
    const gd = floatData(g);
    const dx = T.empty(logits.shape, dt);
    const dd = dx.storage.data as FloatArray;
    for (let r = 0; r < rows; r++) {
      const gr = reduction === 'none' ? gd[r] * coef : reduction === 'mean' ? (gd[0] * coef) / rows : gd[0] * coef;
      const L = lse[r];
      const f = gr * (2 * L);
      for (let j = r * V; j < r * V + V; j++) dd[j] = f * Math.exp(xd[j] - L);
    }
    return [dx];
  });
}
