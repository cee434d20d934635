// The float64 reference of bf16 attention (attentionLowp, attentionLowpPacked) for the kernel tests
// (test/backend/attention-lowp.test.ts, attention-packed.test.ts): the attention of the same bf16
// values in float64 (masks, RoPE tables and softmax written out here), with error bounds derived per element:
// - float32 sums, exp and rescaling: f = 4·(s + d)·2^-24 of the magnitude sums below (all paths);
// - the bf16 tile kernel only (AMX or AVX512_BF16; u = 2^-8, bf16's unit roundoff): P is rounded before P·V and before Pᵀ·dO, dO before
//   dO·Vᵀ and Pᵀ·dO, dS before dS·K and dSᵀ·Q, RoPE-rotated q and k once after rotation (so scores
//   carry eS = 2u·scale·Σ|q||k| and P a relative error eP = e^(2·eS) - 1). Then, per element:
//   out_i: (u + eP + f)·Σ_j P_ij |v_j|;  dV_j: (2u + eP + f)·Σ_i P_ij |dO_i|;
//   dS_ij: P_ij·[(u + f)(Σ|dO_i||v_j| + Σ|dO_i||O_i|) + (u + eP + f)|dP_ij - δ_i|] + |dO_i|·tol(out_i) P_ij;
//   dQ_i: scale·Σ_j (err dS_ij |k_j| + |dS_ij| u_rope |k_j|), dK_j likewise with q; (with RoPE the
//   bound of a rotated pair x, x + d/2 is the sum of both, as the rotation back mixes them),
//   all times 1.5 for second-order terms. A wrong tile, mask or layout errs by O(1), far above them.
import assert from 'node:assert/strict';
import { fromBfloat16Bits, toBfloat16Bits } from '../../src/amp/cast.js';
import { rng } from './rng.js';

export function randn(r: () => number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

export interface Case { bh: number; t: number; s: number; d: number; heads: number; causal: boolean; window: number; pad: 'none' | 'quarter' | 'all'; rope: boolean }

export interface Inputs { q: Uint16Array; k: Uint16Array; v: Uint16Array; g: Float32Array; keyPad: Float32Array | null; cos: Float32Array | null; sin: Float32Array | null; scale: number }

export function inputs(c: Case, seed: number): Inputs {
  const r = rng(seed);
  const bits = (n: number): Uint16Array => Uint16Array.from(randn(r, n), (x) => toBfloat16Bits(x));
  const q = bits(c.bh * c.t * c.d), k = bits(c.bh * c.s * c.d), v = bits(c.bh * c.s * c.d);
  const g = randn(r, c.bh * c.t * c.d);
  let keyPad: Float32Array | null = null;
  if (c.pad !== 'none') {
    const B = c.bh / c.heads;
    keyPad = new Float32Array(B * c.s);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < c.s; j++) keyPad[b * c.s + j] = c.pad === 'all' && b === B - 1 ? 1 : j >= Math.ceil(0.75 * c.s) ? 1 : 0;
    }
  }
  let cos: Float32Array | null = null, sin: Float32Array | null = null;
  if (c.rope) {
    const hd = c.d / 2;
    cos = new Float32Array(c.s * hd);
    sin = new Float32Array(c.s * hd);
    for (let p = 0; p < c.s; p++) {
      for (let x = 0; x < hd; x++) {
        const a = p * 10000 ** (-x / hd);
        cos[p * hd + x] = Math.cos(a);
        sin[p * hd + x] = Math.sin(a);
      }
    }
  }
  return { q, k, v, g, keyPad, cos, sin, scale: 1 / Math.sqrt(c.d) };
}

export interface Ref { out: Float64Array; lse: Float64Array; dq: Float64Array; dk: Float64Array; dv: Float64Array; tol: { out: Float64Array; lse: Float64Array; dq: Float64Array; dk: Float64Array; dv: Float64Array } }

/** The float64 attention of the bf16 values and the per-element error bounds of the header (tiles: the tile kernel's roundings). */
export function reference(c: Case, x: Inputs, tiles: boolean): Ref {
  const { bh, t, s, d, heads } = c;
  const off = s - t, hd = d / 2, scale = x.scale;
  const u = tiles ? 2 ** -8 : 0, uRope = tiles && c.rope ? 2 ** -8 : 0, f = 4 * (s + d) * 2 ** -24;
  const val = (b: Uint16Array): Float64Array => Float64Array.from(b, (h) => fromBfloat16Bits(h));
  const Q = val(x.q), K = val(x.k), V = val(x.v);
  const out = new Float64Array(bh * t * d), lse = new Float64Array(bh * t), dq = new Float64Array(bh * t * d);
  const dk = new Float64Array(bh * s * d), dv = new Float64Array(bh * s * d);
  const tol = { out: new Float64Array(bh * t * d), lse: new Float64Array(bh * t), dq: new Float64Array(bh * t * d), dk: new Float64Array(bh * s * d), dv: new Float64Array(bh * s * d) };
  const rot = (a: Float64Array, o: number, n: number, pos0: number): Float64Array => {
    const r = a.slice(o, o + n * d);
    if (!c.rope) return r;
    for (let i = 0; i < n; i++) {
      for (let xx = 0; xx < hd; xx++) {
        const cs = x.cos![(pos0 + i) * hd + xx]!, sn = x.sin![(pos0 + i) * hd + xx]!;
        const lo = a[o + i * d + xx]!, hi = a[o + i * d + xx + hd]!;
        r[i * d + xx] = lo * cs - hi * sn;
        r[i * d + xx + hd] = hi * cs + lo * sn;
      }
    }
    return r;
  };
  const visible = (h: number, i: number, j: number): boolean => {
    if (c.causal && j > i + off) return false;
    if (c.window > 0 && j <= i + off - c.window) return false;
    if (x.keyPad && x.keyPad[Math.floor(h / heads) * s + j] !== 0) return false;
    return true;
  };
  for (let h = 0; h < bh; h++) {
    const qr = rot(Q, h * t * d, t, off), kr = rot(K, h * s * d, s, 0);
    const vo = h * s * d;
    const P = new Float64Array(t * s), dS = new Float64Array(t * s), errS = new Float64Array(t * s);
    const gqr = new Float64Array(t * d), gkr = new Float64Array(s * d), tq = new Float64Array(t * d), tk = new Float64Array(s * d);
    for (let i = 0; i < t; i++) {
      const io = (h * t + i) * d;
      let m = -Infinity, maxDot = 0;
      const sc = new Float64Array(s);
      for (let j = 0; j < s; j++) {
        if (!visible(h, i, j)) { sc[j] = -Infinity; continue; }
        let dot = 0, mag = 0;
        for (let xx = 0; xx < d; xx++) { dot += qr[i * d + xx]! * kr[j * d + xx]!; mag += Math.abs(qr[i * d + xx]! * kr[j * d + xx]!); }
        sc[j] = dot * scale;
        m = Math.max(m, sc[j]!);
        maxDot = Math.max(maxDot, mag * scale);
      }
      if (m === -Infinity) { lse[h * t + i] = -Infinity; continue; }
      let l = 0;
      for (let j = 0; j < s; j++) l += Math.exp(sc[j]! - m);
      lse[h * t + i] = m + Math.log(l);
      tol.lse[h * t + i] = 1.5 * (2 * uRope + f) * maxDot + 1e-5 * (1 + Math.abs(lse[h * t + i]!));
      const eP = Math.expm1(2 * (2 * uRope + f) * maxDot);
      for (let j = 0; j < s; j++) P[i * s + j] = Math.exp(sc[j]! - m) / l;
      for (let xx = 0; xx < d; xx++) {
        let o = 0, mag = 0;
        for (let j = 0; j < s; j++) { o += P[i * s + j]! * V[vo + j * d + xx]!; mag += P[i * s + j]! * Math.abs(V[vo + j * d + xx]!); }
        out[io + xx] = o;
        tol.out[io + xx] = 1.5 * (u + eP + f) * mag + 1e-7;
      }
      // backward of row i
      let delta = 0, dMag = 0, dTol = 0;
      for (let xx = 0; xx < d; xx++) {
        delta += x.g[io + xx]! * out[io + xx]!;
        dMag += Math.abs(x.g[io + xx]! * out[io + xx]!);
        dTol += Math.abs(x.g[io + xx]!) * tol.out[io + xx]!;
      }
      for (let j = 0; j < s; j++) {
        const p = P[i * s + j]!;
        if (p === 0) continue;
        let dp = 0, aMag = 0;
        for (let xx = 0; xx < d; xx++) { dp += x.g[io + xx]! * V[vo + j * d + xx]!; aMag += Math.abs(x.g[io + xx]! * V[vo + j * d + xx]!); }
        dS[i * s + j] = p * (dp - delta);
        errS[i * s + j] = p * ((u + f) * (aMag + dMag) + (u + eP + f) * Math.abs(dp - delta) + dTol);
        for (let xx = 0; xx < d; xx++) {
          dv[vo + j * d + xx] += p * x.g[io + xx]!;
          tol.dv[vo + j * d + xx] += 1.5 * (2 * u + eP + f) * p * Math.abs(x.g[io + xx]!);
        }
      }
    }
    for (let i = 0; i < t; i++) {
      for (let j = 0; j < s; j++) {
        const ds = dS[i * s + j]!, es = errS[i * s + j]!;
        if (ds === 0 && es === 0) continue;
        for (let xx = 0; xx < d; xx++) {
          gqr[i * d + xx] += scale * ds * kr[j * d + xx]!;
          gkr[j * d + xx] += scale * ds * qr[i * d + xx]!;
          tq[i * d + xx] += 1.5 * scale * (es + Math.abs(ds) * uRope) * Math.abs(kr[j * d + xx]!);
          tk[j * d + xx] += 1.5 * scale * (es + Math.abs(ds) * uRope) * Math.abs(qr[i * d + xx]!);
        }
      }
    }
    // back to the unrotated q, k (Rᵀ), bounds of a pair summed
    const unrot = (gr: Float64Array, tr: Float64Array, n: number, pos0: number, dst: Float64Array, tdst: Float64Array, o: number): void => {
      for (let i = 0; i < n; i++) {
        for (let xx = 0; xx < d; xx++) {
          if (!c.rope) { dst[o + i * d + xx] = gr[i * d + xx]!; tdst[o + i * d + xx] = tr[i * d + xx]! + 1e-7; continue; }
          const xa = xx < hd ? xx : xx - hd;
          const cs = x.cos![(pos0 + i) * hd + xa]!, sn = x.sin![(pos0 + i) * hd + xa]!;
          const lo = gr[i * d + xa]!, hi = gr[i * d + xa + hd]!;
          dst[o + i * d + xx] = xx < hd ? lo * cs + hi * sn : hi * cs - lo * sn;
          tdst[o + i * d + xx] = tr[i * d + xa]! + tr[i * d + xa + hd]! + 1e-7;
        }
      }
    };
    unrot(gqr, tq, t, off, dq, tol.dq, h * t * d);
    unrot(gkr, tk, s, 0, dk, tol.dk, h * s * d);
    for (let j = 0; j < s * d; j++) tol.dv[vo + j] += 1e-7;
  }
  return { out, lse, dq, dk, dv, tol };
}

export function within(got: Float32Array, want: Float64Array, tol: Float64Array, what: string): void {
  let worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    assert.ok(Number.isFinite(got[i]!), `${what}[${i}] is ${got[i]}`);
    const e = Math.abs(got[i]! - want[i]!);
    if (!(e <= tol[i]!) && (at < 0 || e / tol[i]! > worst)) { worst = e / tol[i]!; at = i; }
  }
  assert.ok(at < 0, `${what}[${at}]: ${got[at]} vs ${want[at]} (bound ${tol[at]}, ${worst.toFixed(1)}× over)`);
}
