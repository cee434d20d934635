/**
 * The `native` backend: the C++17 N-API addon of `native/` (OpenBLAS `cblas_sgemm` for matrix
 * products, fused multi-threaded kernels for the rest), wrapped as a `Backend`.
 *
 * Float32 arrays go to the addon, which works on their `ArrayBuffer` memory in place (nothing is
 * copied). Float64 arrays (finite-difference checks) go to the `js` backend. The wrapper allocates
 * nothing per call: op names map to codes through constant tables and shapes travel in one reused
 * `Float64Array`.
 *
 * Threads: the addon's pool uses every core the process may run on (`TRAINFORMER_NUM_THREADS=n`
 * overrides). Matrix products are split across that pool into single-threaded `cblas_sgemm` calls,
 * so OpenBLAS's own threads stay idle whichever OpenBLAS build is loaded;
 * `TRAINFORMER_BLAS_THREADS=n` (n > 1) lets OpenBLAS thread the products itself instead.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnyArray, Backend, BinaryOp, FloatArray, LowpArray, LowpDtype, ReduceOp, UnaryOp } from '../backend.js';
import { jsBackend } from '../js/index.js';

/** What OpenBLAS reports about itself (`openblas_get_config` and friends). */
export interface BlasInfo {
  config: string;
  corename: string;
  threads: number;
  /** 0 sequential, 1 pthreads, 2 OpenMP */
  parallel: number;
}

/** The raw addon (argument order in native/src/addon.cc). */
export interface NativeAddon {
  unary(op: number, x: Float32Array, out: Float32Array, n: number, p0: number, p1: number): void;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, meta: Float64Array, nd: number): void;
  copyStrided(src: AnyArray, srcOffset: number, meta: Float64Array, nd: number, out: AnyArray): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, len: number, inner: number, argOut?: Int32Array): void;
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number, alpha: number, beta: number): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number, log: boolean): void;
  softmaxBackward(y: Float32Array, g: Float32Array, dx: Float32Array, rows: number, cols: number, log: boolean): void;
  crossEntropy(x: Float32Array, target: Int32Array, weight: Float32Array | null, loss: Float32Array, lse: Float32Array,
    wy: Float32Array, rowMax: Float32Array, logSum: Float32Array, rows: number, cols: number, ignoreIndex: number, labelSmoothing: number): void;
  crossEntropyBackward(x: Float32Array, target: Int32Array, weight: Float32Array | null, rowMax: Float32Array,
    logSum: Float32Array, gLoss: Float32Array, gLse: Float32Array | null, dx: Float32Array, rows: number, cols: number, ignoreIndex: number,
    labelSmoothing: number): void;
  layerNorm(x: Float32Array, w: Float32Array | null, b: Float32Array | null, out: Float32Array, mean: Float32Array,
    rstd: Float32Array, rows: number, cols: number, eps: number): void;
  layerNormBackward(x: Float32Array, w: Float32Array | null, mean: Float32Array, rstd: Float32Array, g: Float32Array,
    dx: Float32Array, dw: Float32Array | null, db: Float32Array | null, rows: number, cols: number): void;
  gather(x: Float32Array, idx: Int32Array, out: Float32Array, outer: number, len: number, inner: number, idxLen: number): void;
  scatterAdd(out: Float32Array, idx: Int32Array, src: Float32Array, outer: number, len: number, inner: number, idxLen: number): void;
  indexSelect(table: Float32Array, idx: Int32Array, out: Float32Array, n: number, cols: number): void;
  indexAdd(dTable: Float32Array, idx: Int32Array, g: Float32Array, n: number, cols: number): void;
  sumSquares(x: Float32Array, n: number): number;
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, b1: number,
    b2: number, eps: number, wd: number, bc1: number, bc2: number): void;
  attention(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array, bh: number,
    t: number, s: number, d: number, scale: number, causal: boolean): void;
  attentionBackward(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
    g: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array, bh: number, t: number, s: number, d: number,
    scale: number, causal: boolean): void;
  /** Threads of the kernel pool (the calling thread included). */
  numThreads(): number;
  /** Sets the kernel pool to n threads and, when given, OpenBLAS's own thread count. */
  setNumThreads(n: number, blasThreads?: number): void;
  blasInfo(): BlasInfo;
  /** dtype: 0 bfloat16, 1 float16 (native/src/bf16-gemm.h). */
  matmulLowp(dtype: number, a: LowpArray, b: LowpArray, c: Float32Array, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number, alpha: number, beta: number): void;
  castToLowp(dtype: number, x: Float32Array, out: Uint16Array, n: number): void;
  castFromLowp(dtype: number, x: Uint16Array, out: Float32Array, n: number): void;
  /** Which bf16 GEMM runs (after selecting `impl` when given; throws when that one is not available). */
  bf16GemmInfo(impl?: Bf16GemmImpl): Bf16GemmInfo;
}

/** The bf16 GEMM implementations of the addon: oneDNN's matmul, the own vdpbf16ps kernel, or rounding + sgemm. */
export type Bf16GemmImpl = 'dnnl' | 'own' | 'emulate';
export interface Bf16GemmInfo {
  impl: Bf16GemmImpl;
  /** The CPU has AVX512_BF16. */
  cpuBf16: boolean;
  /** The addon was built with oneDNN (libdnnl-dev). */
  dnnl: boolean;
}

const ADDON_FILE = path.join('build', 'Release', 'trainformer_native.node');

// Codes in the order of the C++ enums (native/src/kernels.h).
const UNARY: Readonly<Record<UnaryOp, number>> = {
  neg: 0, exp: 1, log: 2, log1p: 3, sqrt: 4, rsqrt: 5, abs: 6, sign: 7, tanh: 8, sigmoid: 9, relu: 10, gelu: 11,
  geluTanh: 12, silu: 13, square: 14, reciprocal: 15, powScalar: 16, clamp: 17, addScalar: 18, mulScalar: 19,
  rsubScalar: 20, heaviside: 21, geluDerivative: 22, geluTanhDerivative: 23,
};
const BINARY: Readonly<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6 };
const REDUCE: Readonly<Record<ReduceOp, number>> = { sum: 0, max: 1, min: 2 };
const MAX_DIMS = 16;
const LOWP: Readonly<Record<LowpDtype, number>> = { bfloat16: 0, float16: 1 };

let cached: NativeAddon | null | undefined;

/** Finds build/Release/trainformer_native.node in the folders above this module (src or dist layout). */
function findAddon(): string | null {
  const override = process.env.TRAINFORMER_NATIVE_ADDON;
  if (override) return existsSync(override) ? override : null;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, ADDON_FILE);
    if (existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

/**
 * Loads the compiled addon once. Returns null (never throws) when it is not built or cannot be
 * loaded (for instance when libopenblas.so.0 is missing at run time).
 */
export function loadNativeAddon(): NativeAddon | null {
  if (cached !== undefined) return cached;
  cached = null;
  const file = findAddon();
  if (file) {
    // oneDNN (bf16 products) runs on libgomp, whose idle threads spin by default; they would take
    // the cores from the addon's own pool that runs the next kernel (measured on `tiny` under bf16
    // autocast: 1,605 tok/s spinning, 4,774 passive, float32 2,461, loaded 2-core machine). libgomp
    // reads this when the addon loads it; a value the user set is kept.
    process.env.OMP_WAIT_POLICY ??= 'passive';
    try {
      cached = createRequire(import.meta.url)(file) as NativeAddon;
    } catch {
      cached = null;
    }
  }
  return cached;
}

const isF32 = (a: FloatArray): a is Float32Array => a instanceof Float32Array;

/** Wraps a loaded addon as a `Backend` (float64 calls go to `js`). */
export function wrapNativeAddon(addon: NativeAddon): Backend {
  const js = jsBackend;
  // Shapes and strides travel in this reused buffer: [shape, stridesA, stridesB].
  const meta = new Float64Array(3 * MAX_DIMS);

  return {
    name: 'native',

    unary(op: UnaryOp, x: FloatArray, out: FloatArray, n: number, p0 = 0, p1 = 0): void {
      if (isF32(x) && isF32(out)) addon.unary(UNARY[op], x, out, n, p0, p1);
      else js.unary(op, x, out, n, p0, p1);
    },


    binary(op: BinaryOp, a: FloatArray, aStrides: readonly number[], b: FloatArray, bStrides: readonly number[],
      out: FloatArray, shape: readonly number[]): void {
      const nd = shape.length;
      if (!isF32(a) || !isF32(b) || !isF32(out) || nd > MAX_DIMS) {
        js.binary(op, a, aStrides, b, bStrides, out, shape);
        return;
      }
      for (let i = 0; i < nd; i++) {
        meta[i] = shape[i];
        meta[nd + i] = aStrides[i];
        meta[2 * nd + i] = bStrides[i];
      }
      addon.binary(BINARY[op], a, b, out, meta, nd);
    },

    copyStrided(src: AnyArray, srcOffset: number, shape: readonly number[], strides: readonly number[], out: AnyArray): void {
      const nd = shape.length;
      if (nd > MAX_DIMS || src.constructor !== out.constructor) {
        js.copyStrided(src, srcOffset, shape, strides, out);
        return;
      }
      for (let i = 0; i < nd; i++) {
        meta[i] = shape[i];
        meta[nd + i] = strides[i];
      }
      addon.copyStrided(src, srcOffset, meta, nd, out);
    },

    reduce(op: ReduceOp, x: FloatArray, out: FloatArray, outer: number, len: number, inner: number, argOut?: Int32Array): void {
      if (isF32(x) && isF32(out)) addon.reduce(REDUCE[op], x, out, outer, len, inner, argOut);
      else js.reduce(op, x, out, outer, len, inner, argOut);
    },

    matmul(a: FloatArray, b: FloatArray, c: FloatArray, batch: number, m: number, n: number, k: number,
      transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number, alpha: number, beta: number): void {
      if (isF32(a) && isF32(b) && isF32(c)) addon.matmul(a, b, c, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, beta);
      else js.matmul(a, b, c, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, beta);
    },

    matmulLowp(dtype: LowpDtype, a: LowpArray, b: LowpArray, c: Float32Array, batch: number, m: number, n: number,
      k: number, transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number, alpha: number, beta: number): void {
      addon.matmulLowp(LOWP[dtype], a, b, c, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, beta);
    },

    castToLowp(dtype: LowpDtype, x: Float32Array, out: Uint16Array, n: number): void {
      addon.castToLowp(LOWP[dtype], x, out, n);
    },

    castFromLowp(dtype: LowpDtype, x: Uint16Array, out: Float32Array, n: number): void {
      addon.castFromLowp(LOWP[dtype], x, out, n);
    },

    softmax(x: FloatArray, out: FloatArray, rows: number, cols: number, log: boolean): void {
      if (isF32(x) && isF32(out)) addon.softmax(x, out, rows, cols, log);
      else js.softmax(x, out, rows, cols, log);
    },

    softmaxBackward(y: FloatArray, g: FloatArray, dx: FloatArray, rows: number, cols: number, log: boolean): void {
      if (isF32(y) && isF32(g) && isF32(dx)) addon.softmaxBackward(y, g, dx, rows, cols, log);
      else js.softmaxBackward(y, g, dx, rows, cols, log);
    },

    crossEntropy(x: FloatArray, target: Int32Array, weight: FloatArray | null, loss: FloatArray, lse: FloatArray,
      wy: FloatArray, rowMax: FloatArray, logSum: FloatArray, rows: number, cols: number, ignoreIndex: number, labelSmoothing: number): void {
      if (isF32(x) && (weight === null || isF32(weight)) && isF32(loss) && isF32(lse) && isF32(wy) && isF32(rowMax) && isF32(logSum)) {
        addon.crossEntropy(x, target, weight, loss, lse, wy, rowMax, logSum, rows, cols, ignoreIndex, labelSmoothing);
      } else js.crossEntropy(x, target, weight, loss, lse, wy, rowMax, logSum, rows, cols, ignoreIndex, labelSmoothing);
    },

    crossEntropyBackward(x: FloatArray, target: Int32Array, weight: FloatArray | null, rowMax: FloatArray, logSum: FloatArray, gLoss: FloatArray,
      gLse: FloatArray | null, dx: FloatArray, rows: number, cols: number, ignoreIndex: number, labelSmoothing: number): void {
      if (isF32(x) && (weight === null || isF32(weight)) && isF32(rowMax) && isF32(logSum) && isF32(gLoss) && (gLse === null || isF32(gLse)) && isF32(dx)) {
        addon.crossEntropyBackward(x, target, weight, rowMax, logSum, gLoss, gLse, dx, rows, cols, ignoreIndex, labelSmoothing);
      } else js.crossEntropyBackward(x, target, weight, rowMax, logSum, gLoss, gLse, dx, rows, cols, ignoreIndex, labelSmoothing);
    },

    layerNorm(x: FloatArray, w: FloatArray | null, b: FloatArray | null, out: FloatArray, mean: FloatArray,
      rstd: FloatArray, rows: number, cols: number, eps: number): void {
      if (isF32(x) && (w === null || isF32(w)) && (b === null || isF32(b)) && isF32(out) && isF32(mean) && isF32(rstd)) {
        addon.layerNorm(x, w, b, out, mean, rstd, rows, cols, eps);
      } else {
        js.layerNorm(x, w, b, out, mean, rstd, rows, cols, eps);
      }
    },

    layerNormBackward(x: FloatArray, w: FloatArray | null, mean: FloatArray, rstd: FloatArray, g: FloatArray,
      dx: FloatArray, dw: FloatArray | null, db: FloatArray | null, rows: number, cols: number): void {
      if (isF32(x) && (w === null || isF32(w)) && isF32(mean) && isF32(rstd) && isF32(g) && isF32(dx) &&
        (dw === null || isF32(dw)) && (db === null || isF32(db))) {
        addon.layerNormBackward(x, w, mean, rstd, g, dx, dw, db, rows, cols);
      } else {
        js.layerNormBackward(x, w, mean, rstd, g, dx, dw, db, rows, cols);
      }
    },

    gather(x: FloatArray, idx: Int32Array, out: FloatArray, outer: number, len: number, inner: number, idxLen: number): void {
      if (isF32(x) && isF32(out)) addon.gather(x, idx, out, outer, len, inner, idxLen);
      else js.gather(x, idx, out, outer, len, inner, idxLen);
    },

    scatterAdd(out: FloatArray, idx: Int32Array, src: FloatArray, outer: number, len: number, inner: number, idxLen: number): void {
      if (isF32(out) && isF32(src)) addon.scatterAdd(out, idx, src, outer, len, inner, idxLen);
      else js.scatterAdd(out, idx, src, outer, len, inner, idxLen);
    },

    indexSelect(table: FloatArray, idx: Int32Array, out: FloatArray, n: number, cols: number): void {
      if (isF32(table) && isF32(out)) addon.indexSelect(table, idx, out, n, cols);
      else js.indexSelect(table, idx, out, n, cols);
    },

    indexAdd(dTable: FloatArray, idx: Int32Array, g: FloatArray, n: number, cols: number): void {
      if (isF32(dTable) && isF32(g)) addon.indexAdd(dTable, idx, g, n, cols);
      else js.indexAdd(dTable, idx, g, n, cols);
    },

    sumSquares(x: FloatArray, n: number): number {
      return isF32(x) ? addon.sumSquares(x, n) : js.sumSquares(x, n);
    },

    adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, b1: number,
      b2: number, eps: number, wd: number, bc1: number, bc2: number): void {
      addon.adamw(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2);
    },

    attention(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array, bh: number,
      t: number, s: number, d: number, scale: number, causal: boolean): void {
      addon.attention(q, k, v, out, lse, bh, t, s, d, scale, causal);
    },

    attentionBackward(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
      g: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array, bh: number, t: number, s: number, d: number,
      scale: number, causal: boolean): void {
      addon.attentionBackward(q, k, v, out, lse, g, dq, dk, dv, bh, t, s, d, scale, causal);
    },
  };
}

let backend: Backend | null | undefined;

/**
 * The native backend, or null when the addon is not built (or cannot load). Never throws; the
 * same object is returned on every call.
 */
export function loadNativeBackend(): Backend | null {
  if (backend !== undefined) return backend;
  const addon = loadNativeAddon();
  backend = addon ? wrapNativeAddon(addon) : null;
  return backend;
}
