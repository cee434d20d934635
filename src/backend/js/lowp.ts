// The reference mixed-precision kernels: operands rounded to bfloat16 / float16 (round to nearest
// even, the rules of ../lowp-cast.ts) into float32 copies, then the float32 product of matmul.ts.
import type { FloatArray, LowpArray, LowpDtype } from '../backend.js';
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

export function matmulLowp(dtype: LowpDtype, a: LowpArray, b: LowpArray, c: LowpArray, batch: number, m: number,
  n: number, k: number, transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number, alpha: number,
  beta: number): void {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  if (c instanceof Uint16Array) {
    // The float32 product, then rounded to dtype.
    if (beta !== 0) throw new RangeError('matmulLowp: a 16-bit c needs beta 0');
    const f = new Float32Array(batch * m * n);
    matmulLowp(dtype, a, b, f, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, 0);
    castToLowp(dtype, f, c, batch * m * n);
    return;
  }
  const aLen = k === 0 ? 0 : (batch - 1) * aBatchStride + m * k, bLen = k === 0 ? 0 : (batch - 1) * bBatchStride + k * n;
  matmul(rounded(dtype, a, aLen), rounded(dtype, b, bLen), c, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, beta);
}

export function linearLowp(dtype: LowpDtype, x: LowpArray, weight: LowpArray, bias: FloatArray | null, out: LowpArray,
  rows: number, outFeatures: number, inFeatures: number): void {
  if (rows <= 0 || outFeatures <= 0) return;
  if (out instanceof Uint16Array) {
    // The float32 output, then rounded to dtype.
    const f = new Float32Array(rows * outFeatures);
    linearLowp(dtype, x, weight, bias, f, rows, outFeatures, inFeatures);
    castToLowp(dtype, f, out, rows * outFeatures);
    return;
  }
  matmulLowp(dtype, x, weight, out, 1, rows, outFeatures, inFeatures, false, true, 0, 0, 1, 0);
  if (!bias) return;
  for (let i = 0; i < rows; i++) {
    const o = i * outFeatures;
    for (let j = 0; j < outFeatures; j++) out[o + j] = Math.fround(out[o + j]! + bias[j]!);
  }
}

/** castToLowpColumnSums sums blocks of this many rows, then the blocks (native/src/bf16-gemm.cc's order). */
const COLUMN_SUM_ROWS = 256;

export function castToLowpColumnSums(dtype: LowpDtype, x: Float32Array, out: Uint16Array, sums: Float32Array, rows: number,
  cols: number): void {
  castToLowp(dtype, x, out, rows * cols);
  const block = new Float32Array(cols);
  for (let r0 = 0; r0 < rows; r0 += COLUMN_SUM_ROWS) {
    block.fill(0);
    for (let i = r0; i < Math.min(rows, r0 + COLUMN_SUM_ROWS); i++) {
      const o = i * cols;
      for (let j = 0; j < cols; j++) block[j] = block[j]! + x[o + j]!;
    }
    for (let j = 0; j < cols; j++) sums[j] = r0 === 0 ? block[j]! : sums[j]! + block[j]!;
  }
}

export function columnSumsBf16(x: Uint16Array, sums: Float32Array, rows: number, cols: number): void {
  if (rows <= 0 || cols <= 0) return;
  const v = castFromBf16(x, rows * cols);
  const block = new Float32Array(cols);
  for (let r0 = 0; r0 < rows; r0 += COLUMN_SUM_ROWS) {
    block.fill(0);
    for (let i = r0; i < Math.min(rows, r0 + COLUMN_SUM_ROWS); i++) {
      const o = i * cols;
      for (let j = 0; j < cols; j++) block[j] = block[j]! + v[o + j]!;
    }
    for (let j = 0; j < cols; j++) sums[j] = r0 === 0 ? block[j]! : sums[j]! + block[j]!;
  }
}

function castFromBf16(x: Uint16Array, n: number): Float32Array {
  const out = new Float32Array(n);
  castFromLowp('bfloat16', x, out, n);
  return out;
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
