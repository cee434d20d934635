// The reference mixed-precision kernels: operands rounded to bfloat16 / float16 (round to nearest
// even, the rules of ../lowp-cast.ts) into float32 copies, then the float32 product of matmul.ts.
import type { LowpArray, LowpDtype } from '../backend.js';
import {
  bfloat16BitsFromFloat32Bits, float16BitsFromFloat32Bits, float32BitsFromBfloat16Bits, float32BitsFromFloat16Bits,
} from '../lowp-cast.js';
import { matmul } from './matmul.js';

function toBits(dtype: LowpDtype): (u: number) => number {
  return dtype === 'bfloat16' ? bfloat16BitsFromFloat32Bits : float16BitsFromFloat32Bits;
}
function fromBits(dtype: LowpDtype): (h: number) => number {
  return dtype === 'bfloat16' ? float32BitsFromBfloat16Bits : float32BitsFromFloat16Bits;
}

/** float32 values of the operand's elements [0, n) rounded to `dtype`. */
function rounded(dtype: LowpDtype, x: LowpArray, n: number): Float32Array {
  const out = new Float32Array(n);
  const o = new Uint32Array(out.buffer);
  const from = fromBits(dtype);
  if (x instanceof Uint16Array) {
    for (let i = 0; i < n; i++) o[i] = from(x[i]!);
    return out;
  }
  const u = new Uint32Array(x.buffer, x.byteOffset, n);
  const to = toBits(dtype);
  for (let i = 0; i < n; i++) o[i] = from(to(u[i]!));
  return out;
}

export function matmulLowp(dtype: LowpDtype, a: LowpArray, b: LowpArray, c: Float32Array, batch: number, m: number,
  n: number, k: number, transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number, alpha: number,
  beta: number): void {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  const aLen = k === 0 ? 0 : (batch - 1) * aBatchStride + m * k, bLen = k === 0 ? 0 : (batch - 1) * bBatchStride + k * n;
  matmul(rounded(dtype, a, aLen), rounded(dtype, b, bLen), c, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, beta);
}

export function castToLowp(dtype: LowpDtype, x: Float32Array, out: Uint16Array, n: number): void {
  const u = new Uint32Array(x.buffer, x.byteOffset, n);
  const to = toBits(dtype);
  for (let i = 0; i < n; i++) out[i] = to(u[i]!);
}

export function castFromLowp(dtype: LowpDtype, x: Uint16Array, out: Float32Array, n: number): void {
  const o = new Uint32Array(out.buffer, out.byteOffset, n);
  const from = fromBits(dtype);
  for (let i = 0; i < n; i++) o[i] = from(x[i]!);
}
