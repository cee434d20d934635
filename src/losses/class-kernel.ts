/**
 * Row kernels of the class-index losses (cross-entropy, NLL, and the cross-entropy part of the
 * fused linear cross-entropy), forward and backward side by side.
 *
 * The input `x` is read as [outer, C, inner] (class dimension in the middle, so [N, C], [N, C, d1, …]
 * and, with inner = 1, [B·T, V] are all covered without copies); row r = o·inner + i is the class
 * vector x[o, :, i]. Everything is accumulated in float64.
 *
 * Formulas (PyTorch 1.13 `cross_entropy` / `nll_loss`, ../shared/golden/README.md):
 *   L_r = lse(x_r) = m + log Σ_c exp(x_rc − m), m = max_c x_rc; NaN when m is not finite (as
 *         `log_softmax`: a row with +inf, NaN or only −inf gives NaN log-probabilities).
 *   lp_rc = x_rc − L_r (logits mode) or x_rc (log-probability mode, `nll_loss`).
 *   nll_r = −w[y_r]·lp_r[y_r] for a target that is not ignored, else 0.
 *   smooth_r = −Σ_c w[c]·lp_rc (label smoothing only), 0 for ignored rows.
 * Backward, with per-row upstream factors a_r (NLL branch) and b_r (smoothing branch), computed the
 * way autograd goes through `log_softmax` (so NaN / inf propagate as in PyTorch):
 *   G_nll = −w[y]·a_r at y;  G_sm,c = −b_r·w[c];  dx_c = (G_nll,c − p_c·ΣG_nll) + (G_sm,c − p_c·ΣG_sm)
 * with p_c = exp(lp_c); an optional z-loss branch adds (z_r·2·zl_r)·exp(x_c − zl_r).
 */
import { IndexError } from '../errors.js';
import type { FloatArray } from '../backend/backend.js';
import { positionOf } from './common.js';

/** What the kernels need to know about one class-loss problem. */
export interface ClassSpec {
  /** Number of classes. */
  C: number;
  /** Product of the dims after the class dim (1 for [N, C] and [B·T, V]). */
  inner: number;
  /** Class weights [C], or null for all ones. */
  weight: FloatArray | null;
  ignoreIndex: number;
  /** Label smoothing ε (0: no smoothing term at all). */
  eps: number;
  /** true: x holds logits (log-softmax applied here); false: log-probabilities (`nll_loss`). */
  logits: boolean;
}

/** Per-row forward results (float64), indexed by row. */
export interface RowTerms {
  /** Cross-entropy log-sum-exp (NaN where the row max is not finite); logits mode only. */
  lse: Float64Array;
  /** torch.logsumexp of the row (±inf / NaN kept), for the z-loss. */
  zlse: Float64Array | null;
  nll: Float64Array;
  smooth: Float64Array | null;
  /** w[y_r] for rows that count, 0 for ignored rows: the weighted-mean denominator's terms. */
  wy: Float64Array;
}

export function newRowTerms(rows: number, spec: ClassSpec, withZ: boolean): RowTerms {
  return {
    lse: new Float64Array(spec.logits ? rows : 0),
    zlse: withZ ? new Float64Array(rows) : null,
    nll: new Float64Array(rows),
    smooth: spec.eps > 0 ? new Float64Array(rows) : null,
    wy: new Float64Array(rows),
  };
}

/**
 * Checks every target is ignoreIndex or in [0, C).
 * @throws IndexError naming the loss, the position (in `shape`) and the value.
 */
export function validateTargets(fn: string, target: Int32Array, shape: readonly number[], C: number, ignoreIndex: number, offset = 0): void {
  for (let i = 0; i < target.length; i++) {
    const y = target[i];
    if (y !== ignoreIndex && (y < 0 || y >= C)) {
      throw new IndexError(`${fn}: target ${y} at position ${positionOf(i + offset, shape)} is out of range: classes are [0, ${C}) and ignoreIndex is ${ignoreIndex}`);
    }
  }
}

/**
 * Forward over rows k = 0 … n−1 of x (row k = class vector k of the [outer, C, inner] view), with
 * targets t[tOff + k], writing terms at index termOff + k.
 */
export function forwardRows(x: FloatArray, spec: ClassSpec, t: Int32Array, tOff: number, n: number, out: RowTerms, termOff = tOff): void {
  const { C, inner, weight: w, ignoreIndex, eps, logits } = spec;
  const st = inner;
  for (let k = 0; k < n; k++) {
    const r = tOff + k, ti = termOff + k;
    const o = (k / inner) | 0, i = k - o * inner;
    const b = o * C * inner + i;
    let L = 0;
    if (logits) {
      let m = -Infinity;
      for (let c = 0, j = b; c < C; c++, j += st) { const v = x[j]; if (v > m || v !== v) m = v; }
      if (m - m === 0) {
        let s = 0;
        for (let c = 0, j = b; c < C; c++, j += st) s += Math.exp(x[j] - m);
        L = m + Math.log(s);
        if (out.zlse) out.zlse[ti] = L;
      } else {
        L = NaN;
        if (out.zlse) out.zlse[ti] = m;
      }
      out.lse[ti] = L;
    }
    const y = t[r];
    if (y === ignoreIndex) {
      out.wy[ti] = 0;
      out.nll[ti] = 0;
      if (out.smooth) out.smooth[ti] = 0;
      continue;
    }
    const wy = w ? w[y] : 1;
    out.wy[ti] = wy;
    out.nll[ti] = -(wy * (x[b + y * st] - L));
    if (out.smooth) {
      let s = 0;
      if (w) for (let c = 0, j = b; c < C; c++, j += st) s += (x[j] - L) * w[c];
      else for (let c = 0, j = b; c < C; c++, j += st) s += x[j] - L;
      out.smooth[ti] = -s;
    }
  }
}

/** Per-row upstream factors of the backward pass. */
export interface RowFactors {
  /** NLL-branch factor a_r (already scaled by (1−ε) and 1/denominator). */
  a: (r: number) => number;
  /** Smoothing-branch factor b_r for rows that count (ignored rows get 0 regardless). */
  b: (r: number) => number;
  /** z-loss factor z_r (coefficient · upstream / count), or null without z-loss. */
  z: ((r: number) => number) | null;
}

/**
 * Backward over rows k = 0 … n−1 of x (indexed as in forwardRows): writes their gradient into `dx`
 * (same layout as x; may be the same array — each element is read before it is written).
 */
export function backwardRows(x: FloatArray, dx: FloatArray, spec: ClassSpec, t: Int32Array, tOff: number, n: number,
  terms: RowTerms, f: RowFactors, termOff = tOff): void {
  const { C, inner, weight: w, ignoreIndex, eps, logits } = spec;
  const st = inner;
  for (let k = 0; k < n; k++) {
    const r = tOff + k, ti = termOff + k;
    const o = (k / inner) | 0, i = k - o * inner;
    const bse = o * C * inner + i;
    const y = t[r];
    const valid = y !== ignoreIndex;
    const gy = valid ? (w ? w[y] : 1) * -f.a(ti) : 0;
    if (!logits) {
      for (let c = 0, j = bse; c < C; c++, j += st) dx[j] = 0;
      if (valid) dx[bse + y * st] = gy;
      continue;
    }
    const L = terms.lse[ti];
    const sn = gy;
    const bs = eps > 0 && valid ? f.b(ti) : 0;
    let ss = 0;
    if (eps > 0) {
      if (w) for (let c = 0; c < C; c++) ss += -(bs * w[c]);
      else ss = -bs * C;
    }
    let zt = 0, zl = 0;
    if (f.z && terms.zlse) {
      zl = terms.zlse[ti];
      zt = f.z(ti) * (2 * zl);
    }
    const yj = valid ? bse + y * st : -1;
    for (let c = 0, j = bse; c < C; c++, j += st) {
      const v = x[j];
      const p = Math.exp(v - L);
      let d = (j === yj ? gy : 0) - p * sn;
      if (eps > 0) d += -(bs * (w ? w[c] : 1)) - p * ss;
      if (f.z) d += zt * (zl === L ? p : Math.exp(v - zl));
      dx[j] = d;
    }
  }
}

/** Sums a float64 array (rows of one reduction). */
export function sumOf(a: Float64Array, n = a.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i];
  return s;
}

/** Per-row constants of the backward pass, shared by every column block of a row. */
export interface RowConstants {
  /** Gradient at the target class from the NLL branch (0 for ignored rows). */
  gy: Float64Array;
  /** Smoothing factor b_r (0 for ignored rows or without smoothing). */
  bs: Float64Array;
  /** Σ_c G_sm,c = Σ_c −b_r·w[c] over all classes. */
  ss: Float64Array;
  /** z-loss factor z_r·2·zl_r (0 without z-loss). */
  zt: Float64Array;
}

/** The row constants of backwardRows for rows termOff … termOff+n−1 (logits mode, inner = 1). */
export function rowConstants(spec: ClassSpec, t: Int32Array, tOff: number, n: number, terms: RowTerms, f: RowFactors, termOff = tOff): RowConstants {
  const { C, weight: w, ignoreIndex, eps } = spec;
  const gy = new Float64Array(n), bs = new Float64Array(n), ss = new Float64Array(n), zt = new Float64Array(n);
  let sumW = C;
  if (w) { sumW = 0; for (let c = 0; c < C; c++) sumW += w[c]; }
  for (let k = 0; k < n; k++) {
    const y = t[tOff + k], ti = termOff + k;
    const valid = y !== ignoreIndex;
    gy[k] = valid ? (w ? w[y] : 1) * -f.a(ti) : 0;
    if (eps > 0 && valid) {
      const b = f.b(ti);
      bs[k] = b;
      if (!w) ss[k] = -b * C;
      else if (Number.isFinite(b)) ss[k] = -(b * sumW);
      else { let s = 0; for (let c = 0; c < C; c++) s += -(b * w[c]); ss[k] = s; } // keeps inf·0 = NaN per class
    }
    if (f.z && terms.zlse) zt[k] = f.z(ti) * (2 * terms.zlse[ti]);
  }
  return { gy, bs, ss, zt };
}

/**
 * Backward of one column block: x holds logits [n, cb] (row-major) of classes c0 … c0+cb−1 for the
 * rows tOff … tOff+n−1; overwrites it in place with their gradient (the same formulas as
 * backwardRows, logits mode).
 */
export function backwardBlock(x: FloatArray, n: number, cb: number, c0: number, spec: ClassSpec, t: Int32Array, tOff: number,
  terms: RowTerms, k: RowConstants, termOff = tOff): void {
  const { weight: w, ignoreIndex, eps } = spec;
  const withZ = terms.zlse !== null;
  for (let r = 0; r < n; r++) {
    const ti = termOff + r;
    const L = terms.lse[ti];
    const y = t[tOff + r];
    const gy = k.gy[r], sn = gy, bs = k.bs[r], ss = k.ss[r], zt = k.zt[r];
    const zl = withZ ? terms.zlse![ti] : 0;
    const yj = y !== ignoreIndex && y >= c0 && y < c0 + cb ? y - c0 : -1;
    const o = r * cb;
    for (let j = 0; j < cb; j++) {
      const v = x[o + j];
      const p = Math.exp(v - L);
      let d = (j === yj ? gy : 0) - p * sn;
      if (eps > 0) d += -(bs * (w ? w[c0 + j] : 1)) - p * ss;
      if (withZ) d += zt * (zl === L ? p : Math.exp(v - zl));
      x[o + j] = d;
    }
  }
}
