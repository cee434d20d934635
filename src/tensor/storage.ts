/**
 * Tensor storage, the buffer pool and allocation scopes (DESIGN.md "Memory").
 *
 * JavaScript has no deterministic destructors, and fresh pages cost page faults on every step, so
 * buffers are pooled (buffer-pool.ts) and a training step runs inside `scope(fn)`: every storage
 * allocated inside it goes back to the pool when it ends, except storages of the returned value and
 * of tensors marked with `keep()` (parameters, gradients, optimiser state). A released storage can
 * never be read again: its accessor throws, so a use-after-release is an error, not silent corruption.
 */
import { AutogradError } from '../errors.js';
import { clearPool, givePooled, newPoolable, pooledBytes, takePooled } from './buffer-pool.js';
import { type DType, itemSize, type StorageArray } from './dtype.js';

let liveBuffers = 0;
let liveBytes = 0;
/** Highest liveBytes since the last resetPeakMemoryStats() (PyTorch's max_memory_allocated). */
let peakLiveBytes = 0;
let peakReservedBytes = 0;
/** Highest liveBytes since the start (never reset): sizes the pool's budget. */
let maxLiveBytes = 0;
/** The pool keeps at most this many times the most bytes ever live at once. */
const POOL_BUDGET_OF_LIVE = 2;

const scopes: Set<Storage>[] = [];
let serials = 0;

/** The serial number the next storage will get (storages are numbered in allocation order). */
export function nextStorageSerial(): number {
  return serials;
}

// Safety net only: a storage that is garbage-collected without release leaves the live counts.
// A released storage leaves the registry at once (unregister), so the registry holds only storages
// still live: its cells do not pile up between garbage collections, whose cleanup callbacks run only
// when the event loop turns (DESIGN.md "Memory").
interface Ledger { bytes: number; done: boolean }
let registered = 0;
const finalizer = new FinalizationRegistry<Ledger>((l) => {
  registered--;
  if (!l.done) { liveBuffers--; liveBytes -= l.bytes; }
});

export class Storage {
  private buf: StorageArray | null;
  /** The pooled buffer whose first `buf.length` elements `buf` is (`buf` itself when not pooled). */
  private backing: StorageArray | null;
  /** Never released by a scope. */
  kept = false;
  /**
   * A backward function of the graph may read this buffer (set by `record` for the tensors an op
   * saves for backward; never cleared): it must stay until the scope ends.
   */
  savedForBackward = false;
  readonly bytes: number;
  private readonly ledger: Ledger;
  /** Allocation order: tells storages created after a point (e.g. during a backward pass) apart. */
  readonly serial = serials++;

  constructor(readonly dtype: DType, buf: StorageArray, readonly pooled: boolean, backing: StorageArray = buf) {
    this.buf = buf;
    this.backing = backing;
    this.bytes = buf.length * itemSize(dtype);
    this.ledger = { bytes: this.bytes, done: false };
    finalizer.register(this, this.ledger, this);
    registered++;
    liveBuffers++;
    liveBytes += this.bytes;
    if (liveBytes > peakLiveBytes) peakLiveBytes = liveBytes;
    if (liveBytes > maxLiveBytes) maxLiveBytes = liveBytes;
    if (liveBytes + pooledBytes() > peakReservedBytes) peakReservedBytes = liveBytes + pooledBytes();
    const top = scopes[scopes.length - 1];
    if (top && pooled) top.add(this);
  }

  get data(): StorageArray {
    if (this.buf === null) {
      throw new AutogradError('tensor used after its scope ended: its buffer was returned to the pool (keep() it or return it from the scope)');
    }
    return this.buf;
  }

  get released(): boolean {
    return this.buf === null;
  }

  get length(): number {
    return this.data.length;
  }

  /** Returns the buffer to the pool even if kept (the owner guarantees no other reader). */
  free(): void {
    this.kept = false;
    this.release();
  }

  release(): void {
    if (this.buf === null || this.kept) return;
    const b = this.backing!;
    this.buf = null;
    this.backing = null;
    this.ledger.done = true;
    if (finalizer.unregister(this)) registered--;
    liveBuffers--;
    liveBytes -= this.bytes;
    if (this.pooled) givePooled(this.dtype, b, POOL_BUDGET_OF_LIVE * maxLiveBytes);
  }
}

/** A storage of `n` elements; contents are zero when `zero`, otherwise unspecified (kernels overwrite). */
export function allocStorage(dtype: DType, n: number, zero = false): Storage {
  const reused = takePooled(dtype, n);
  const backing = reused ?? newPoolable(dtype, n);
  const view = backing.length === n ? backing : backing.subarray(0, n);
  if (reused && zero) view.fill(0);
  return new Storage(dtype, view, true, backing);
}

/** Wraps a caller's array without copying; it is never pooled (the caller may still hold it). */
export function wrapStorage(dtype: DType, buf: StorageArray): Storage {
  return new Storage(dtype, buf, false);
}

/**
 * Runs `fn` in an allocation scope: storages allocated inside it are released when it returns, except
 * those of the returned value (tensors, or arrays / plain objects of tensors, one level deep), which
 * move to the enclosing scope, and those marked kept. `fn` must be synchronous.
 */
export function scope<T>(fn: () => T): T {
  const own = new Set<Storage>();
  scopes.push(own);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const s of own) s.release();
    throw e;
  }
  scopes.pop();
  const survivors = new Set<Storage>();
  collectStorages(result, survivors, 0);
  const parent = scopes[scopes.length - 1];
  for (const s of own) {
    if (survivors.has(s)) { if (parent) parent.add(s); } else s.release();
  }
  return result;
}

interface HasStorage { storage: Storage }

function collectStorages(v: unknown, out: Set<Storage>, depth: number): void {
  if (v === null || typeof v !== 'object' || depth > 2) return;
  const st = (v as HasStorage).storage;
  if (st instanceof Storage) { out.add(st); return; }
  if (Array.isArray(v)) { for (const x of v) collectStorages(x, out, depth + 1); return; }
  if (Object.getPrototypeOf(v) === Object.prototype || v instanceof Map) {
    const vals = v instanceof Map ? [...v.values()] : Object.values(v);
    for (const x of vals) collectStorages(x, out, depth + 1);
  }
}

/** Marks a storage as kept: no scope will release it (parameters, gradients, optimiser state). */
export function keepStorage(s: Storage): void {
  s.kept = true;
  for (const sc of scopes) sc.delete(s);
}

/**
 * Live (unreleased) buffers and bytes, bytes waiting in the pool, and storages the garbage-collection
 * safety net still tracks (`registered`: live ones plus collected ones whose cleanup has not run yet):
 * for leak tests and benchmarks. `peakLiveBytes` is the high-water mark of `liveBytes` and
 * `peakReservedBytes` that of live plus pooled bytes (what the pool holds from the allocator), both
 * since the start or the last {@link resetPeakMemoryStats} (PyTorch's max_memory_allocated /
 * max_memory_reserved).
 */
export function memoryStats(): { liveBuffers: number; liveBytes: number; pooledBytes: number; registered: number;
  peakLiveBytes: number; peakReservedBytes: number } {
  return { liveBuffers, liveBytes, pooledBytes: pooledBytes(), registered, peakLiveBytes, peakReservedBytes };
}

/** Starts the peaks of {@link memoryStats} again from the current live and reserved bytes. */
export function resetPeakMemoryStats(): void {
  peakLiveBytes = liveBytes;
  peakReservedBytes = liveBytes + pooledBytes();
}

/** Drops every pooled buffer (for the GC). */
export function emptyPool(): void {
  clearPool();
}
