// Portable row kernels: softmax / log-softmax and layer norm, forward and backward.
import type { FloatArray } from '../backend.js';

export function softmax(x: FloatArray, out: FloatArray, rows: number, cols: number, log: boolean): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) { const v = x[o + j]; if (v > mx || v !== v) mx = v; }
    // An all -inf row: shift by 0 so that sum = 0 and the result is NaN (log 0 - (-inf) is not used).
    const shift = mx === -Infinity ? 0 : mx;
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[o + j] - shift);
    if (log) {
      const lse = Math.log(s);
      if (mx === -Infinity) { for (let j = 0; j < cols; j++) out[o + j] = NaN; continue; }
      for (let j = 0; j < cols; j++) out[o + j] = x[o + j] - shift - lse;
    } else {
      const inv = 1 / s;
      if (mx === -Infinity) { for (let j = 0; j < cols; j++) out[o + j] = NaN; continue; }
      for (let j = 0; j < cols; j++) out[o + j] = Math.exp(x[o + j] - shift) * inv;
    }
  }
}

export function softmaxBackward(y: FloatArray, g: FloatArray, dx: FloatArray, rows: number, cols: number, log: boolean): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    if (log) {
      // d/dx log_softmax: g - softmax * sum(g)
      let sg = 0;
      for (let j = 0; j < cols; j++) sg += g[o + j];
      for (let j = 0; j < cols; j++) dx[o + j] = g[o + j] - Math.exp(y[o + j]) * sg;
    } else {
      // d/dx softmax: y * (g - sum(g*y))
      let dot = 0;
      for (let j = 0; j < cols; j++) dot += g[o + j] * y[o + j];
      for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (g[o + j] - dot);
    }
  }
}

export function layerNorm(x: FloatArray, w: FloatArray | null, b: FloatArray | null, out: FloatArray, mean: FloatArray,
  rstd: FloatArray, rows: number, cols: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    // Two passes (mean, then centred squares) stay accurate when |mean| >> std.
    let s = 0;
    for (let j = 0; j < cols; j++) s += x[o + j];
    const mu = s / cols;
    let v = 0;
    for (let j = 0; j < cols; j++) { const d = x[o + j] - mu; v += d * d; }
    const rs = 1 / Math.sqrt(v / cols + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let j = 0; j < cols; j++) {
      let y = (x[o + j] - mu) * rs;
      if (w) y *= w[j];
      if (b) y += b[j];
      out[o + j] = y;
    }
  }
}

export function layerNormBackward(x: FloatArray, w: FloatArray | null, mean: FloatArray, rstd: FloatArray, g: FloatArray,
  dx: FloatArray, dw: FloatArray | null, db: FloatArray | null, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const mu = mean[r], rs = rstd[r];
    // dxhat = g * w; dx = rs * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
    let sd = 0, sdx = 0;
    for (let j = 0; j < cols; j++) {
      const xhat = (x[o + j] - mu) * rs;
      const dxhat = w ? g[o + j] * w[j] : g[o + j];
      sd += dxhat;
      sdx += dxhat * xhat;
      if (dw) dw[j] += g[o + j] * xhat;
      if (db) db[j] += g[o + j];
    }
    sd /= cols;
    sdx /= cols;
    for (let j = 0; j < cols; j++) {
      const xhat = (x[o + j] - mu) * rs;
      const dxhat = w ? g[o + j] * w[j] : g[o + j];
      dx[o + j] = rs * (dxhat - sd - xhat * sdx);
    }
  }
}
