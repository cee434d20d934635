// The reference of `splitHeadsLowp`: the q/k/v heads of a packed projection gathered into planes and
// rounded to 16 bits (the rules of ../lowp-cast.ts), in plain loops.
import type { LowpDtype } from '../backend.js';
import { bfloat16BitsFromFloat32Bits, float16BitsFromFloat32Bits } from '../lowp-cast.js';

/** qkv [b, t, 3, h, d] float32 → out [3, b, h, t, d], each element rounded to `dtype` (nearest even). */
export function splitHeadsLowp(dtype: LowpDtype, qkv: Float32Array, out: Uint16Array, b: number, t: number, h: number, d: number): void {
  const to = dtype === 'bfloat16' ? bfloat16BitsFromFloat32Bits : float16BitsFromFloat32Bits;
  const u = new Uint32Array(qkv.buffer, qkv.byteOffset, b * t * 3 * h * d);
  let o = 0;
  for (let p = 0; p < 3; p++) {
    for (let bi = 0; bi < b; bi++) {
      for (let hi = 0; hi < h; hi++) {
        for (let ti = 0; ti < t; ti++) {
          const s = (((bi * t + ti) * 3 + p) * h + hi) * d;
          for (let di = 0; di < d; di++) out[o++] = to(u[s + di]!);
        }
      }
    }
  }
}
