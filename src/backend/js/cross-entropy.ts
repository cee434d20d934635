// Portable kernels of the fused log-softmax + NLL (cross-entropy) op: per row, forward and backward.
import type { FloatArray, LowpDtype } from '../backend.js';
import { castToLowp } from './lowp.js';

/**
 * Rows of x [rows, C] (row-major) against class ids `target` [rows]; float64 accumulation.
 * rowMax[r] = max_c x_rc (NaN if any is NaN) and logSum[r] = log Σ_c exp(x_rc − rowMax[r]) (NaN when
 * the max is not finite) are what backward needs: x − rowMax − logSum keeps its precision where
 * x − lse, with lse rounded to float32, would not (|x| ~ 1e4).
 * lse[r] = torch.logsumexp(x_r) (a NaN, +inf or all −inf row keeps its max); L = lse where finite, else NaN.
 * wy[r] = w[y] (1 without weights), 0 where y = ignoreIndex.
 * loss[r] = (1−ε)·(−w[y]·(x[y] − L)) + (ε/C)·(−Σ_c w[c]·(x_c − L)); without smoothing (ε = 0) only the
 * first term; 0 where y = ignoreIndex. Targets are not range-checked (the op layer does).
 */
export function crossEntropy(x: FloatArray, target: Int32Array, weight: FloatArray | null, loss: FloatArray, lse: FloatArray,
  wy: FloatArray, rowMax: FloatArray, logSum: FloatArray, rows: number, C: number, ignoreIndex: number, labelSmoothing: number): void {
  const eps = labelSmoothing;
  for (let r = 0; r < rows; r++) {
    const b = r * C;
    let m = -Infinity;
    for (let c = 0; c < C; c++) { const v = x[b + c]; if (v > m || v !== v) m = v; }
    let L = NaN;
    rowMax[r] = m;
    if (m - m === 0) {
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(x[b + c] - m);
      const ls = Math.log(s);
      logSum[r] = ls;
      L = m + ls;
      lse[r] = L;
    } else {
      logSum[r] = NaN;
      lse[r] = m;
    }
    const y = target[r];
    if (y === ignoreIndex) { loss[r] = 0; wy[r] = 0; continue; }
    const w = weight ? weight[y] : 1;
    wy[r] = w;
    const nll = -(w * (x[b + y] - L));
    if (eps > 0) {
      let s = 0;
      if (weight) for (let c = 0; c < C; c++) s += (x[b + c] - L) * weight[c];
      else for (let c = 0; c < C; c++) s += x[b + c] - L;
      loss[r] = (1 - eps) * nll + (eps / C) * -s;
    } else loss[r] = nll;
  }
}

/**
 * Backward of `crossEntropy` from its saved rowMax and logSum and the upstream gradients of loss (gLoss) and of
 * lse (gLse, null for none): with p = exp(x − L), a row that counts gets
 *   gy = −w[y]·(1−ε)·gLoss;  dx_c = gy·(1{c=y} − p_c) + [ε > 0] (−b·w[c] − p_c·Σ_k(−b·w[k])), b = gLoss·ε/C,
 * an ignored row 0 − p·0 (NaN stays NaN), and every row adds gLse·exp(x_c − lse) (= gLse·p where finite).
 */
export function crossEntropyBackward(x: FloatArray, target: Int32Array, weight: FloatArray | null, rowMax: FloatArray,
  logSum: FloatArray, gLoss: FloatArray, gLse: FloatArray | null, dx: FloatArray, rows: number, C: number, ignoreIndex: number,
  labelSmoothing: number): void {
  const eps = labelSmoothing;
  for (let r = 0; r < rows; r++) {
    const b = r * C;
    const m = rowMax[r], ls = logSum[r];
    const finite = m - m === 0;
    const y = target[r];
    const valid = y !== ignoreIndex;
    const a = valid ? gLoss[r] : 0;
    const gy = valid ? -((weight ? weight[y] : 1) * ((1 - eps) * a)) : 0;
    const bs = eps > 0 && valid ? a * (eps / C) : 0;
    let ss = 0;
    if (eps > 0 && valid) {
      if (weight) for (let c = 0; c < C; c++) ss += -(bs * weight[c]);
      else ss = -bs * C;
    }
    const gz = gLse ? gLse[r] : 0;
    for (let c = 0; c < C; c++) {
      const v = x[b + c];
      const p = finite ? Math.exp(v - m - ls) : NaN;
      let d = (c === y ? gy : 0) - p * gy;
      if (eps > 0) d += -(bs * (weight ? weight[c] : 1)) - p * ss;
      if (gLse) d += gz * (finite ? p : Math.exp(v - m));
      dx[b + c] = d;
    }
  }
}

/**
 * `crossEntropy` and `crossEntropyBackward` in one call for a scalar objective's upstream gradients,
 * gLoss on every row's loss and gLseOfLse·lse[r] on its lse (a z-loss coef·lse² gives 2·coef), with
 * dx rounded to `dtype` into dx (castToLowp's rule): the reference of the native kernel, which keeps
 * exp(x − max) in x instead of a second exp. x is left as it was here (the native kernel overwrites it).
 */
export function crossEntropyGradLowp(dtype: LowpDtype, x: Float32Array, target: Int32Array, weight: FloatArray | null, loss: Float32Array,
  lse: Float32Array, dx: Uint16Array, rows: number, C: number, ignoreIndex: number, labelSmoothing: number, gLoss: number,
  gLseOfLse: number): void {
  const wy = new Float32Array(rows), rowMax = new Float32Array(rows), logSum = new Float32Array(rows);
  crossEntropy(x, target, weight, loss, lse, wy, rowMax, logSum, rows, C, ignoreIndex, labelSmoothing);
  const gl = new Float32Array(rows).fill(gLoss);
  const gz = gLseOfLse !== 0 ? lse.map((v) => Math.fround(gLseOfLse * v)) : null;
  const d = new Float32Array(rows * C);
  crossEntropyBackward(x, target, weight, rowMax, logSum, gl, gz, d, rows, C, ignoreIndex, labelSmoothing);
  castToLowp(dtype, d, dx, rows * C);
}
