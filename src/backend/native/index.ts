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
 * `TRAINFORMER_OPENMP_POOL=1` (builds with oneDNN) runs the pool's jobs on libgomp's threads, with
 * spinning idle threads: about 6% faster bf16 steps on a machine nothing else uses, much slower on
 * one with more runnable threads than cores (native/src/pool.cc).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnyArray, Backend, BinaryOp, FloatArray, LowpArray, LowpDtype } from '../backend.js';
import { ENUMS, KERNELS, type KernelName, type KernelSpec } from '../spec.js';
import { jsBackend } from '../js/index.js';

/** What OpenBLAS reports about itself (`openblas_get_config` and friends). */
export interface BlasInfo {
  config: string;
  corename: string;
  threads: number;
  /** 0 sequential, 1 pthreads, 2 OpenMP */
  parallel: number;
}

/** A Backend method as the addon takes it: op names (string enums) as their codes. */
type Raw<F> = F extends (...args: infer P) => infer R ? (...args: { [I in keyof P]: P[I] extends string ? number : P[I] }) => R : never;
/** The spec rows whose unpacking is hand-written (spec.ts `native: 'manual'`). */
type ManualKernel = 'binary' | 'copyStrided' | 'matmulLowp' | 'linearLowp' | 'castToLowp' | 'castToLowpColumnSums' | 'castFromLowp'
  | 'attentionLowp' | 'attentionLowpBackward';

/** The raw addon: every generated kernel of spec.ts in its row's argument order, and the manual ones below. */
export interface NativeAddon extends Readonly<{ [K in Exclude<KernelName, ManualKernel>]: Raw<Backend[K]> }> {
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, meta: Float64Array, nd: number): void;
  copyStrided(src: AnyArray, srcOffset: number, meta: Float64Array, nd: number, out: AnyArray): void;
  /** Threads of the kernel pool (the calling thread included). */
  numThreads(): number;
  /** Sets the kernel pool to n threads and, when given, OpenBLAS's own thread count. */
  setNumThreads(n: number, blasThreads?: number): void;
  blasInfo(): BlasInfo;
  /** dtype: 0 bfloat16, 1 float16 (native/src/bf16-gemm.h). */
  matmulLowp(dtype: number, a: LowpArray, b: LowpArray, c: LowpArray, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number, alpha: number, beta: number): void;
  linearLowp(dtype: number, x: LowpArray, weight: LowpArray, bias: Float32Array | null, out: LowpArray, rows: number,
    outFeatures: number, inFeatures: number): void;
  castToLowp(dtype: number, x: Float32Array, out: Uint16Array, n: number): void;
  castToLowpColumnSums(dtype: number, x: Float32Array, out: Uint16Array, sums: Float32Array, rows: number, cols: number): void;
  castFromLowp(dtype: number, x: Uint16Array, out: Float32Array, n: number): void;
  /** Which bf16 GEMM runs (after selecting `impl` when given; throws when that one is not available). */
  bf16GemmInfo(impl?: Bf16GemmImpl): Bf16GemmInfo;
  /** attentionLowp with dtype as its code (native/src/attention-lowp.cc). */
  attentionLowp(dtype: number, q: Uint16Array, k: Uint16Array, v: Uint16Array, out: Float32Array, lse: Float32Array,
    keyPad: Float32Array | null, ropeCos: Float32Array | null, ropeSin: Float32Array | null,
    bh: number, t: number, s: number, d: number, heads: number, scale: number, causal: boolean, window: number): void;
  attentionLowpBackward(dtype: number, q: Uint16Array, k: Uint16Array, v: Uint16Array, out: Float32Array, lse: Float32Array,
    g: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array,
    keyPad: Float32Array | null, ropeCos: Float32Array | null, ropeSin: Float32Array | null,
    bh: number, t: number, s: number, d: number, heads: number, scale: number, causal: boolean, window: number): void;
  /** Which bf16 attention runs (after selecting `impl` when given; throws when that one is not available). */
  attentionLowpInfo(impl?: AttentionLowpImpl): AttentionLowpInfo;
  /** Bytes from the start of `buffer` to its first 64-byte boundary (native/src/aligned-buffer.cc). */
  alignOffset(buffer: ArrayBuffer): number;
}

/**
 * The bf16 attention implementations of the addon: the bf16 tile kernel with its products on AMX tiles
 * or on AVX512_BF16's vdpbf16ps (same roundings), or q, k, v widened to float32 and the float32 kernel.
 */
export type AttentionLowpImpl = 'amx' | 'avx512bf16' | 'emulate';
export interface AttentionLowpInfo {
  impl: AttentionLowpImpl;
  /** The CPU has AMX-BF16 and the OS lets this process use it. */
  amx: boolean;
  /** The CPU has AVX512_BF16 (and AVX512BW) and the OS saves the AVX-512 registers. */
  avx512bf16: boolean;
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

// Codes of the op names: their index in spec.ts's lists (the generated C++ enums follow them).
const codes = <T extends string>(names: readonly T[]): Readonly<Record<T, number>> =>
  Object.fromEntries(names.map((n, i) => [n, i])) as Record<T, number>;
const BINARY = codes<BinaryOp>(ENUMS.binaryOp);
const MAX_DIMS = 16;
const LOWP = codes<LowpDtype>(ENUMS.lowpDtype);

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
    // reads this when the addon loads it (its constructor, run by dlopen); a value the user set is kept.
    // The setting is for this process only: it is taken back once the addon is loaded, so that
    // processes started from here (PyTorch reference runs, mpirun and its ranks) get the environment
    // the user gave, and spin or not as their own defaults say.
    // With TRAINFORMER_OPENMP_POOL=1 the addon's jobs run on libgomp's threads too (native/src/pool.cc):
    // no second set of threads competes for the cores, and idle threads spin (GOMP_SPINCOUNT 100000,
    // a few milliseconds) so that the next kernel finds them awake; a GOMP_SPINCOUNT the user set is kept.
    const userWaitPolicy = process.env.OMP_WAIT_POLICY, userSpinCount = process.env.GOMP_SPINCOUNT;
    const openmpPool = process.env.TRAINFORMER_OPENMP_POOL === '1';
    if (openmpPool && userWaitPolicy === undefined) process.env.GOMP_SPINCOUNT ??= '100000';
    process.env.OMP_WAIT_POLICY ??= 'passive';
    try {
      cached = createRequire(import.meta.url)(file) as NativeAddon;
    } catch {
      cached = null;
    } finally {
      if (userWaitPolicy === undefined) delete process.env.OMP_WAIT_POLICY;
      if (userSpinCount === undefined) delete process.env.GOMP_SPINCOUNT;
    }
  }
  return cached;
}

const isF32 = (a: FloatArray): a is Float32Array => a instanceof Float32Array;
const f32OrNull = (a: FloatArray | null): a is Float32Array | null => a === null || a instanceof Float32Array;

/**
 * One Backend method from its spec row: float64 (or other non-float32) arrays send the call to js,
 * op names become codes, everything else goes to the addon as it is.
 */
function wrapKernel(name: KernelName, spec: KernelSpec, addon: NativeAddon): (...args: unknown[]) => unknown {
  const floats: number[] = [];
  const enums: [number, Readonly<Record<string, number>>][] = [];
  spec.args.forEach(([, kind], i) => {
    if (kind === 'floats' || kind === 'floats?' || kind === 'f32') floats.push(i);
    else if (kind in ENUMS) enums.push([i, codes(ENUMS[kind as keyof typeof ENUMS])]);
  });
  const native = (addon as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
  const ref = (jsBackend as unknown as Record<string, (...a: unknown[]) => unknown>)[name];
  return (...args: unknown[]): unknown => {
    for (const i of floats) {
      const a = args[i];
      if (a !== null && a !== undefined && !(a instanceof Float32Array)) return ref(...args);
    }
    for (const [i, table] of enums) args[i] = table[args[i] as string];
    return native(...args);
  };
}

/** Wraps a loaded addon as a `Backend` (float64 calls go to `js`). */
export function wrapNativeAddon(addon: NativeAddon): Backend {
  const js = jsBackend;
  // Shapes and strides travel in this reused buffer: [shape, stridesA, stridesB].
  const meta = new Float64Array(3 * MAX_DIMS);
  const generated: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(KERNELS) as [KernelName, KernelSpec][]) {
    if (spec.native !== 'manual') generated[name] = wrapKernel(name, spec, addon);
  }

  return {
    ...(generated as unknown as Omit<Backend, 'name' | ManualKernel>),
    name: 'native',

    alignOffset(buffer: ArrayBuffer): number {
      return addon.alignOffset(buffer);
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

    matmulLowp(dtype: LowpDtype, a: LowpArray, b: LowpArray, c: LowpArray, batch: number, m: number, n: number,
      k: number, transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number, alpha: number, beta: number): void {
      addon.matmulLowp(LOWP[dtype], a, b, c, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, beta);
    },

    linearLowp(dtype: LowpDtype, x: LowpArray, weight: LowpArray, bias: FloatArray | null, out: LowpArray, rows: number,
      outFeatures: number, inFeatures: number): void {
      if (!f32OrNull(bias)) {
        js.linearLowp(dtype, x, weight, bias, out, rows, outFeatures, inFeatures);
        return;
      }
      addon.linearLowp(LOWP[dtype], x, weight, bias, out, rows, outFeatures, inFeatures);
    },

    castToLowp(dtype: LowpDtype, x: Float32Array, out: Uint16Array, n: number): void {
      addon.castToLowp(LOWP[dtype], x, out, n);
    },

    castToLowpColumnSums(dtype: LowpDtype, x: Float32Array, out: Uint16Array, sums: Float32Array, rows: number, cols: number): void {
      addon.castToLowpColumnSums(LOWP[dtype], x, out, sums, rows, cols);
    },

    castFromLowp(dtype: LowpDtype, x: Uint16Array, out: Float32Array, n: number): void {
      addon.castFromLowp(LOWP[dtype], x, out, n);
    },

    attentionLowp(dtype: LowpDtype, q: Uint16Array, k: Uint16Array, v: Uint16Array, out: Float32Array, lse: Float32Array,
      keyPad: FloatArray | null, ropeCos: FloatArray | null, ropeSin: FloatArray | null,
      bh: number, t: number, s: number, d: number, heads: number, scale: number, causal: boolean, window: number): void {
      if (!f32OrNull(keyPad) || !f32OrNull(ropeCos) || !f32OrNull(ropeSin)) {
        js.attentionLowp(dtype, q, k, v, out, lse, keyPad, ropeCos, ropeSin, bh, t, s, d, heads, scale, causal, window);
        return;
      }
      addon.attentionLowp(LOWP[dtype], q, k, v, out, lse, keyPad, ropeCos, ropeSin, bh, t, s, d, heads, scale, causal, window);
    },

    attentionLowpBackward(dtype: LowpDtype, q: Uint16Array, k: Uint16Array, v: Uint16Array, out: Float32Array, lse: Float32Array,
      g: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array,
      keyPad: FloatArray | null, ropeCos: FloatArray | null, ropeSin: FloatArray | null,
      bh: number, t: number, s: number, d: number, heads: number, scale: number, causal: boolean, window: number): void {
      if (!f32OrNull(keyPad) || !f32OrNull(ropeCos) || !f32OrNull(ropeSin)) {
        js.attentionLowpBackward(dtype, q, k, v, out, lse, g, dq, dk, dv, keyPad, ropeCos, ropeSin, bh, t, s, d, heads, scale, causal, window);
        return;
      }
      addon.attentionLowpBackward(LOWP[dtype], q, k, v, out, lse, g, dq, dk, dv, keyPad, ropeCos, ropeSin, bh, t, s, d, heads, scale,
        causal, window);
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
