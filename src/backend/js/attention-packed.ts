// The reference of `attentionLowpPacked` / `attentionLowpPackedBackward`: the heads of the packed
// projection gathered into dense planes [b·h, t, d] (widened to float32, exact), the reference
// kernels of ./attention.ts on those, the results scattered back into the packed layouts; the
// 16-bit variants (`attentionLowpPacked16`, `…16Backward`) widen out and g and round what they write.
import type { FloatArray, LowpDtype } from '../backend.js';
import { attentionLowp, attentionLowpBackward } from './attention.js';
import { castFromLowp, castToLowp } from './lowp.js';

/** Plane p (0 q, 1 k, 2 v; 3 planes) of x [b, t, planes, h, d] as dense [b·h, t, d] (an element copy). */
function gatherPlane<A extends Uint16Array | Float32Array>(x: A, out: A, p: number, planes: number, b: number, t: number, h: number, d: number): A {
  let o = 0;
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      for (let ti = 0; ti < t; ti++) {
        const at = ((bi * t + ti) * planes + p) * h * d + hi * d;
        for (let x0 = 0; x0 < d; x0++) out[o++] = x[at + x0]!;
      }
    }
  }
  return out;
}

/** The inverse of gatherPlane: dense [b·h, t, d] into plane p of out [b, t, planes, h, d]. */
function scatterPlane(src: Float32Array, out: Float32Array, p: number, planes: number, b: number, t: number, h: number, d: number): void {
  let o = 0;
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      for (let ti = 0; ti < t; ti++) {
        const at = ((bi * t + ti) * planes + p) * h * d + hi * d;
        for (let x0 = 0; x0 < d; x0++) out[at + x0] = src[o++]!;
      }
    }
  }
}

/** `attentionLowp` of the heads of qkv [b, t, 3, h, d] → out [b, t, h, d], lse [b·h, t] (see Backend.attentionLowpPacked). */
export function attentionLowpPacked(dtype: LowpDtype, qkv: Uint16Array, out: Float32Array, lse: Float32Array,
  keyPad: FloatArray | null, ropeCos: FloatArray | null, ropeSin: FloatArray | null,
  b: number, t: number, h: number, d: number, scale: number, causal: boolean, window: number): void {
  const n = b * h * t * d;
  if (n === 0) return;
  const plane = (p: number): Uint16Array => gatherPlane(qkv, new Uint16Array(n), p, 3, b, t, h, d);
  const o = new Float32Array(n);
  attentionLowp(dtype, plane(0), plane(1), plane(2), o, lse, keyPad, ropeCos, ropeSin, b * h, t, t, d, h, scale, causal, window);
  scatterPlane(o, out, 0, 1, b, t, h, d);
}

/** Backward of attentionLowpPacked: out, g [b, t, h, d] → dqkv [b, t, 3, h, d]. */
export function attentionLowpPackedBackward(dtype: LowpDtype, qkv: Uint16Array, out: Float32Array, lse: Float32Array, g: Float32Array,
  dqkv: Float32Array, keyPad: FloatArray | null, ropeCos: FloatArray | null, ropeSin: FloatArray | null,
  b: number, t: number, h: number, d: number, scale: number, causal: boolean, window: number): void {
  const n = b * h * t * d;
  if (n === 0) return;
  const plane = (p: number): Uint16Array => gatherPlane(qkv, new Uint16Array(n), p, 3, b, t, h, d);
  const merged = (x: Float32Array): Float32Array => gatherPlane(x, new Float32Array(n), 0, 1, b, t, h, d);
  const dq = new Float32Array(n), dk = new Float32Array(n), dv = new Float32Array(n);
  attentionLowpBackward(dtype, plane(0), plane(1), plane(2), merged(out), lse, merged(g), dq, dk, dv, keyPad, ropeCos, ropeSin,
    b * h, t, t, d, h, scale, causal, window);
  scatterPlane(dq, dqkv, 0, 3, b, t, h, d);
  scatterPlane(dk, dqkv, 1, 3, b, t, h, d);
  scatterPlane(dv, dqkv, 2, 3, b, t, h, d);
}

function widened(dtype: LowpDtype, x: Uint16Array, n: number): Float32Array {
  const out = new Float32Array(n);
  castFromLowp(dtype, x, out, n);
  return out;
}

/** attentionLowpPacked with out [b, t, h, d] as `dtype` bits (the float32 values rounded). */
export function attentionLowpPacked16(dtype: LowpDtype, qkv: Uint16Array, out: Uint16Array, lse: Float32Array,
  keyPad: FloatArray | null, ropeCos: FloatArray | null, ropeSin: FloatArray | null,
  b: number, t: number, h: number, d: number, scale: number, causal: boolean, window: number): void {
  const n = b * h * t * d;
  if (n === 0) return;
  const o = new Float32Array(n);
  attentionLowpPacked(dtype, qkv, o, lse, keyPad, ropeCos, ropeSin, b, t, h, d, scale, causal, window);
  castToLowp(dtype, o, out, n);
}

/** Backward of attentionLowpPacked16: out, g, dqkv as `dtype` bits. */
export function attentionLowpPacked16Backward(dtype: LowpDtype, qkv: Uint16Array, out: Uint16Array, lse: Float32Array, g: Uint16Array,
  dqkv: Uint16Array, keyPad: FloatArray | null, ropeCos: FloatArray | null, ropeSin: FloatArray | null,
  b: number, t: number, h: number, d: number, scale: number, causal: boolean, window: number): void {
  const n = b * h * t * d;
  if (n === 0) return;
  const d32 = new Float32Array(3 * n);
  attentionLowpPackedBackward(dtype, qkv, widened(dtype, out, n), lse, widened(dtype, g, n), d32, keyPad, ropeCos, ropeSin,
    b, t, h, d, scale, causal, window);
  castToLowp(dtype, d32, dqkv, 3 * n);
}
