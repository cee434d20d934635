// Reference scaled dot-product attention (clear before fast): one score row at a time (memory O(s)
// per row), masks decided per (i, j) by `visible`, RoPE applied to per-head copies of q and k.
import type { FloatArray, LowpDtype } from '../backend.js';
import { castFromLowp } from './lowp.js';

/** What the kernels share: sizes, masks and RoPE tables (see Backend.attention). */
interface Problem {
  t: number; s: number; d: number; heads: number; causal: boolean; window: number;
  keyPad: FloatArray | null; cos: FloatArray | null; sin: FloatArray | null;
}

/** Whether query i of head h sees key j. */
function visible(p: Problem, h: number, i: number, j: number): boolean {
  const a = i + p.s - p.t;
  if (p.causal && j > a) return false;
  if (p.window > 0 && j <= a - p.window) return false;
  return !(p.keyPad && p.keyPad[Math.floor(h / p.heads) * p.s + j] !== 0);
}

/** Rows [0, n) of x (row length d, starting at off) rotated by RoPE rows pos0 + r (a copy; x itself when no RoPE). */
function rotated(p: Problem, x: FloatArray, off: number, n: number, pos0: number): { a: ArrayLike<number>; o: number } {
  if (!p.cos || !p.sin) return { a: x, o: off };
  const d = p.d, hd = d / 2, out = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < hd; c++) {
      const cs = p.cos[(pos0 + r) * hd + c], sn = p.sin[(pos0 + r) * hd + c];
      const x1 = x[off + r * d + c], x2 = x[off + r * d + c + hd];
      out[r * d + c] = x1 * cs - x2 * sn;
      out[r * d + c + hd] = x2 * cs + x1 * sn;
    }
  }
  return { a: out, o: 0 };
}

/** dst[off + r·d + c] = (Rᵀ g_r)[c] (g [n, d], RoPE rows pos0 + r), or g itself without RoPE. */
function unrotate(p: Problem, g: Float64Array, n: number, pos0: number, dst: FloatArray, off: number): void {
  const d = p.d, hd = d / 2;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < d; c++) {
      if (!p.cos || !p.sin) { dst[off + r * d + c] = g[r * d + c]; continue; }
      const cc = c < hd ? c : c - hd;
      const cs = p.cos[(pos0 + r) * hd + cc], sn = p.sin[(pos0 + r) * hd + cc];
      dst[off + r * d + c] = c < hd ? g[r * d + c] * cs + g[r * d + c + hd] * sn : g[r * d + c] * cs - g[r * d + c - hd] * sn;
    }
  }
}

export function attention(q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, lse: FloatArray,
  keyPad: FloatArray | null, ropeCos: FloatArray | null, ropeSin: FloatArray | null,
  bh: number, t: number, s: number, d: number, heads: number, scale: number, causal: boolean, window: number): void {
  const p: Problem = { t, s, d, heads: heads > 0 ? heads : 1, causal, window, keyPad: heads > 0 ? keyPad : null, cos: ropeCos, sin: ropeSin };
  const row = new Float64Array(s);
  const acc = new Float64Array(d);
  for (let h = 0; h < bh; h++) {
    const Q = rotated(p, q, h * t * d, t, s - t), K = rotated(p, k, h * s * d, s, 0), vo = h * s * d;
    for (let i = 0; i < t; i++) {
      let mx = -Infinity;
      for (let j = 0; j < s; j++) {
        if (!visible(p, h, i, j)) { row[j] = -Infinity; continue; }
        let dot = 0;
        for (let c = 0; c < d; c++) dot += Q.a[Q.o + i * d + c] * K.a[K.o + j * d + c];
        row[j] = dot * scale;
        if (row[j] > mx) mx = row[j];
      }
      const o = h * t * d + i * d;
      if (mx === -Infinity) { // no visible key
        for (let c = 0; c < d; c++) out[o + c] = 0;
        lse[h * t + i] = -Infinity;
        continue;
      }
      let sum = 0;
      acc.fill(0);
      for (let j = 0; j < s; j++) {
        if (row[j] === -Infinity) continue;
        const e = Math.exp(row[j] - mx);
        sum += e;
        for (let c = 0; c < d; c++) acc[c] += e * v[vo + j * d + c];
      }
      for (let c = 0; c < d; c++) out[o + c] = acc[c] / sum;
      lse[h * t + i] = mx + Math.log(sum);
    }
  }
}

export function attentionBackward(q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, lse: FloatArray,
  g: FloatArray, dq: FloatArray, dk: FloatArray, dv: FloatArray,
  keyPad: FloatArray | null, ropeCos: FloatArray | null, ropeSin: FloatArray | null,
  bh: number, t: number, s: number, d: number, heads: number, scale: number, causal: boolean, window: number): void {
  const p: Problem = { t, s, d, heads: heads > 0 ? heads : 1, causal, window, keyPad: heads > 0 ? keyPad : null, cos: ropeCos, sin: ropeSin };
  dv.fill(0, 0, bh * s * d);
  const pr = new Float64Array(s);
  for (let h = 0; h < bh; h++) {
    const qo = h * t * d, ko = h * s * d;
    const Q = rotated(p, q, qo, t, s - t), K = rotated(p, k, ko, s, 0);
    // Gradients w.r.t. the rotated q and k of this head; rotated back at the end.
    const gq = new Float64Array(t * d), gk = new Float64Array(s * d);
    for (let i = 0; i < t; i++) {
      const l = lse[h * t + i];
      if (l === -Infinity) continue; // saw no key: no gradient
      // delta_i = sum_c dO_ic * O_ic  (= sum_j P_ij dP_ij)
      let delta = 0;
      for (let c = 0; c < d; c++) delta += g[qo + i * d + c] * out[qo + i * d + c];
      for (let j = 0; j < s; j++) {
        if (!visible(p, h, i, j)) { pr[j] = 0; continue; }
        let dot = 0;
        for (let c = 0; c < d; c++) dot += Q.a[Q.o + i * d + c] * K.a[K.o + j * d + c];
        pr[j] = Math.exp(dot * scale - l);
      }
      for (let j = 0; j < s; j++) {
        if (pr[j] === 0) continue;
        let dp = 0;
        for (let c = 0; c < d; c++) {
          dp += g[qo + i * d + c] * v[ko + j * d + c];
          dv[ko + j * d + c] += pr[j] * g[qo + i * d + c];
        }
        const ds = pr[j] * (dp - delta) * scale;
        for (let c = 0; c < d; c++) {
          gq[i * d + c] += ds * K.a[K.o + j * d + c];
          gk[j * d + c] += ds * Q.a[Q.o + i * d + c];
        }
      }
    }
    unrotate(p, gq, t, s - t, dq, qo);
    unrotate(p, gk, s, 0, dk, ko);
  }
}

/** `attention` on 16-bit q, k, v: their values widened to float32 (exact), then the float32 reference kernel. */
export function attentionLowp(dtype: LowpDtype, q: Uint16Array, k: Uint16Array, v: Uint16Array, out: Float32Array, lse: Float32Array,
  keyPad: FloatArray | null, ropeCos: FloatArray | null, ropeSin: FloatArray | null,
  bh: number, t: number, s: number, d: number, heads: number, scale: number, causal: boolean, window: number): void {
  attention(widen(dtype, q, bh * t * d), widen(dtype, k, bh * s * d), widen(dtype, v, bh * s * d), out, lse, keyPad, ropeCos, ropeSin,
    bh, t, s, d, heads, scale, causal, window);
}

/** `attentionBackward` on 16-bit q, k, v (widened to float32, exact). */
export function attentionLowpBackward(dtype: LowpDtype, q: Uint16Array, k: Uint16Array, v: Uint16Array, out: Float32Array,
  lse: Float32Array, g: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array,
  keyPad: FloatArray | null, ropeCos: FloatArray | null, ropeSin: FloatArray | null,
  bh: number, t: number, s: number, d: number, heads: number, scale: number, causal: boolean, window: number): void {
  attentionBackward(widen(dtype, q, bh * t * d), widen(dtype, k, bh * s * d), widen(dtype, v, bh * s * d), out, lse, g, dq, dk, dv,
    keyPad, ropeCos, ropeSin, bh, t, s, d, heads, scale, causal, window);
}

function widen(dtype: LowpDtype, x: Uint16Array, n: number): Float32Array {
  const out = new Float32Array(n);
  castFromLowp(dtype, x, out, n);
  return out;
}
