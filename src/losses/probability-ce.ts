/**
 * Cross-entropy with class-probability targets as one op (float64 accumulation), with PyTorch 1.13's
 * formula `cross_entropy_loss_prob_target`: q = (1−ε)·p + ε/C, loss_i = −Σ_c (lp_ic·q_ic)·w[c].
 * The input [outer, C, inner] is read in place (class dim in the middle), as class-kernel.ts.
 */
import type { FloatArray } from '../backend/backend.js';
import * as T from '../tensor/index.js';
import { floatData, fromValues, type Reduction, scalarOf } from './common.js';
import { notePeak } from './peak.js';

/** log-sum-exp of row (b, stride st), NaN when the max is not finite (as log_softmax). */
function rowLse(x: FloatArray, b: number, st: number, C: number): number {
  let m = -Infinity;
  for (let c = 0, j = b; c < C; c++, j += st) { const v = x[j]; if (v > m || v !== v) m = v; }
  if (m - m !== 0) return NaN;
  let s = 0;
  for (let c = 0, j = b; c < C; c++, j += st) s += Math.exp(x[j] - m);
  return m + Math.log(s);
}

/**
 * The op. `logits` and `target` share the shape [outer, C, inner] (contiguous views taken here);
 * `outShape` is the 'none' shape (the logits' shape without the class dim). Gradients: logits
 * G_c − p_c·ΣG with G_c = −(g·w_c)·q_c; target −(g·w_c)·lp_c·(1−ε).
 */
export function probabilityCrossEntropyOp(logits: T.Tensor, target: T.Tensor, outer: number, C: number, inner: number,
  outShape: readonly number[], eps: number, weight: FloatArray | null, reduction: Reduction): T.Tensor {
  const x = floatData(logits), p = floatData(target);
  const dt = logits.dtype === 'float64' || target.dtype === 'float64' ? 'float64' : 'float32';
  const rows = outer * inner;
  const lse = new Float64Array(rows);
  const vals = new Float64Array(rows);
  const q = (j: number) => (eps > 0 ? p[j] * (1 - eps) + eps / C : p[j]);
  for (let r = 0; r < rows; r++) {
    const o = (r / inner) | 0, b = o * C * inner + (r - o * inner);
    const L = rowLse(x, b, inner, C);
    lse[r] = L;
    let s = 0;
    for (let c = 0, j = b; c < C; c++, j += inner) s += ((x[j] - L) * q(j)) * (weight ? weight[c] : 1);
    vals[r] = -s;
  }
  let out: T.Tensor;
  if (reduction === 'none') out = fromValues(outShape, dt, vals);
  else {
    let s = 0;
    for (let r = 0; r < rows; r++) s += vals[r];
    // PyTorch: sum / (numel / C), NaN for an empty input.
    out = scalarOf(reduction === 'mean' ? s / rows : s, dt);
  }
  notePeak();
  return T.record('crossEntropy', out, [logits, target], (g) => {
    const gd = floatData(g);
    const dx = logits.requiresGrad ? T.empty(logits.shape, dt) : null;
    const dp = target.requiresGrad ? T.empty(target.shape, dt) : null;
    const dxd = dx ? (dx.storage.data as FloatArray) : null, dpd = dp ? (dp.storage.data as FloatArray) : null;
    for (let r = 0; r < rows; r++) {
      const gr = reduction === 'none' ? gd[r] : reduction === 'mean' ? gd[0] / rows : gd[0];
      const o = (r / inner) | 0, b = o * C * inner + (r - o * inner);
      const L = lse[r];
      let sg = 0;
      for (let c = 0, j = b; c < C; c++, j += inner) {
        const gw = -(gr * (weight ? weight[c] : 1));
        sg += gw * q(j);
        if (dpd) dpd[j] = eps > 0 ? gw * (x[j] - L) * (1 - eps) : gw * (x[j] - L);
      }
      if (dxd) {
        for (let c = 0, j = b; c < C; c++, j += inner) {
          const gw = -(gr * (weight ? weight[c] : 1));
          dxd[j] = gw * q(j) - Math.exp(x[j] - L) * sg;
        }
      }
    }
    return [dx, dp];
  });
}
