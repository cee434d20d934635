/**
 * The pool of released tensor buffers (DESIGN.md "Memory"), by dtype and size class.
 *
 * Fresh pages cost page faults on every step, so released buffers are kept for reuse. Batches whose
 * shapes change from step to step (length-grouped or padded-to-longest text) need buffers of ever
 * new lengths; pooled by exact length, each length left its own buffers behind and the pool grew
 * towards its cap: examples/eng-fra.json's resident size climbed 1.5 → 3.5 GB over 800 steps while
 * live tensors never exceeded 180 MB. So lengths are rounded up to size classes, and a request no
 * buffer of its class can serve takes the smallest pooled buffer of a class up to twice as long — a
 * best fit, as caching allocators do — so that the pool converges to the buffers of the largest
 * batch instead of one set per shape.
 */
import { getBackend } from '../backend/index.js';
import { type DType, itemSize, newArray, type StorageArray } from './dtype.js';

/** Buffers above this many pooled bytes are dropped for the GC instead of pooled. */
const MAX_POOLED_BYTES = 4 * 1024 ** 3;
/** The pool may always hold this much, whatever the budget a release passes. */
const MIN_POOL_BUDGET = 256 * 1024 ** 2;
/** A pooled buffer serves requests of at least 1/MAX_FIT_RATIO of its length. */
const MAX_FIT_RATIO = 2;

/** dtype → size class → released buffers of exactly that length. */
const pool = new Map<DType, Map<number, StorageArray[]>>();
/** dtype → the size classes present in `pool` (ascending; a class's list may be empty). */
const classes = new Map<DType, number[]>();
let pooled = 0;

/**
 * The size class of an n-element buffer: n itself up to 4096 elements, above that n rounded up to
 * the next of sixteen steps per power of two (at most 6.25% more elements).
 */
export function poolSizeClass(n: number): number {
  if (n <= 4096) return n;
  const step = 2 ** (Math.floor(Math.log2(n)) - 4);
  return Math.ceil(n / step) * step;
}

/**
 * A pooled buffer of `dtype` holding at least `n` elements (at most MAX_FIT_RATIO × its class), or
 * undefined when none fits. Its contents are whatever its last user left.
 */
export function takePooled(dtype: DType, n: number): StorageArray | undefined {
  const byClass = pool.get(dtype);
  if (!byClass) return undefined;
  const cls = poolSizeClass(n);
  let b = byClass.get(cls)?.pop();
  if (!b) {
    const sorted = classes.get(dtype)!;
    let lo = 0, hi = sorted.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (sorted[m]! <= cls) lo = m + 1; else hi = m; }
    for (let i = lo; i < sorted.length && sorted[i]! <= MAX_FIT_RATIO * cls && !b; i++) b = byClass.get(sorted[i]!)!.pop();
  }
  if (b) pooled -= b.length * itemSize(dtype);
  return b;
}

/**
 * Buffers of at least this many bytes start on a 64-byte cache-line boundary when the backend can
 * tell where that is (`alignOffset`): kernels run on them row by row, and rows that start mid cache
 * line cost up to 2.7x in oneDNN's bf16 products (backend.ts `alignOffset`). Node's ArrayBuffers of
 * this size start 16 bytes past a line, so the buffer is allocated 64 bytes longer and viewed from its
 * first boundary. Smaller buffers are left as they come.
 */
const ALIGNED_MIN_BYTES = 64 * 1024;
const CACHE_LINE = 64;

/** A new zero-filled buffer of `n`'s size class (its first n elements are the caller's). */
export function newPoolable(dtype: DType, n: number): StorageArray {
  const len = poolSizeClass(n);
  const bytes = len * itemSize(dtype);
  const alignOffset = getBackend().alignOffset;
  if (bytes < ALIGNED_MIN_BYTES || !alignOffset) return newArray(dtype, len);
  const ab = new ArrayBuffer(bytes + CACHE_LINE);
  const off = alignOffset(ab);
  switch (dtype) {
    case 'float32': return new Float32Array(ab, off, len);
    case 'float64': return new Float64Array(ab, off, len);
    case 'int32': return new Int32Array(ab, off, len);
    default: return new Uint16Array(ab, off, len);
  }
}

/**
 * Puts a buffer from {@link takePooled} or {@link newPoolable} back; it is dropped for the GC instead
 * when the pool would then hold more than `budget` bytes (at least MIN_POOL_BUDGET, at most
 * MAX_POOLED_BYTES) — the caller passes a multiple of the most bytes ever live at once, so that
 * buffers left over from other shapes cannot pile up beyond what a step could use.
 */
export function givePooled(dtype: DType, b: StorageArray, budget = MAX_POOLED_BYTES): void {
  const bytes = b.length * itemSize(dtype);
  if (pooled + bytes > Math.min(MAX_POOLED_BYTES, Math.max(MIN_POOL_BUDGET, budget))) return;
  let byClass = pool.get(dtype);
  if (!byClass) { pool.set(dtype, (byClass = new Map())); classes.set(dtype, []); }
  let list = byClass.get(b.length);
  if (!list) {
    byClass.set(b.length, (list = []));
    const sorted = classes.get(dtype)!;
    sorted.push(b.length);
    sorted.sort((x, y) => x - y);
  }
  list.push(b);
  pooled += bytes;
}

/** Bytes held by pooled buffers. */
export function pooledBytes(): number {
  return pooled;
}

/** Drops every pooled buffer (for the GC). */
export function clearPool(): void {
  pool.clear();
  classes.clear();
  pooled = 0;
}
