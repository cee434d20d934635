/**
 * `Tensor`: a view (shape, strides, offset, dtype) on a backend-owned `Storage`, with autograd fields.
 * Views (reshape, transpose, permute, narrow, expand, squeeze, unsqueeze) share storage and copy
 * nothing; ops that need contiguous input call `contiguous()`.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { type DType, dtypeOfArray, newArray, type StorageArray } from './dtype.js';
import { allocStorage, keepStorage, type Storage, wrapStorage } from './storage.js';

/**
 * A gradient given as rows to add instead of a dense tensor: grad[idx[i]] += rows[i] for i < n, zero
 * elsewhere (the embedding's backward, PyTorch `embedding_dense_backward`). Backward adds the rows
 * straight into the input's pending gradient or the leaf's `.grad` (no [V, C] temporary, no dense
 * add); it makes the dense tensor only where nothing exists to add into.
 */
export interface RowsGradient {
  readonly kind: 'rows';
  /** Shape of the input: [V, C]. */
  readonly shape: readonly number[];
  readonly idx: Int32Array;
  /** Contiguous [n, C] rows, dtype of the gradient. */
  readonly rows: Tensor;
}

/** Autograd node attached to a tensor produced by a differentiable op. */
export interface GradNode {
  readonly name: string;
  readonly inputs: readonly (Tensor | null)[];
  /** Upstream gradient → one gradient per input (null / undefined where none flows). */
  backward: ((g: Tensor) => readonly (Tensor | RowsGradient | null | undefined)[]) | null;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) { st[d] = s; s *= shape[d]; }
  return st;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/**
 * The ops behind Tensor's view methods. tensor.ts sits below the op layer and cannot import it, so
 * ops/views.ts and ops/broadcast.ts provide them when they load (src/tensor/index.ts loads both).
 */
export interface TensorMethodOps {
  reshape(t: Tensor, shape: readonly number[]): Tensor;
  transpose(t: Tensor, d0: number, d1: number): Tensor;
  permute(t: Tensor, dims: readonly number[]): Tensor;
  narrow(t: Tensor, dim: number, start: number, length: number): Tensor;
  expand(t: Tensor, shape: readonly number[]): Tensor;
  squeeze(t: Tensor, dim?: number): Tensor;
  unsqueeze(t: Tensor, dim: number): Tensor;
  contiguous(t: Tensor): Tensor;
}

const methodOps: Partial<TensorMethodOps> = {};

/** Called by the op modules that implement Tensor's view methods (see TensorMethodOps). */
export function provideTensorMethods(ops: Partial<TensorMethodOps>): void { Object.assign(methodOps, ops); }

function op<K extends keyof TensorMethodOps>(name: K): TensorMethodOps[K] {
  const f = methodOps[name];
  if (!f) throw new Error(`internal: Tensor.${name}() is provided by src/tensor/ops, which was not loaded (import from src/tensor/index.js)`);
  return f as TensorMethodOps[K];
}

export class Tensor {
  requiresGrad = false;
  grad: Tensor | null = null;
  gradFn: GradNode | null = null;
  /** Optional name (parameters carry their dotted name). */
  name?: string;
  /** Hooks run after backward accumulated this leaf's gradient (see registerPostAccumulateGradHook). */
  postAccumulateGradHooks: ((t: Tensor) => void)[] | null = null;

  constructor(readonly storage: Storage, readonly shape: readonly number[], readonly strides: readonly number[],
    readonly offset: number, readonly dtype: DType) {}

  /** Number of dimensions (torch.Tensor.ndim). */
  get ndim(): number { return this.shape.length; }
  /** Number of dimensions (torch.Tensor.dim()). */
  dim(): number { return this.shape.length; }
  /** Number of elements: the product of the shape (torch.Tensor.numel()). */
  numel(): number { return numel(this.shape); }
  /** The shape, or with `d` the size of dimension d, negative counting from the end (torch.Tensor.size). */
  size(): readonly number[];
  size(d: number): number;
  size(d?: number): number | readonly number[] {
    return d === undefined ? this.shape : this.shape[normDim(d, this.ndim)];
  }

  /** Size of dimension `d` (negative counts from the end). */

  isContiguous(): boolean {
    let expect = 1;
    for (let d = this.ndim - 1; d >= 0; d--) {
      if (this.shape[d] !== 1 && this.strides[d] !== expect) return false;
      expect *= this.shape[d];
    }
    return true;
  }

  /**
   * The elements as a contiguous typed array of length `numel()`. For a contiguous tensor this is a
   * subarray view of the storage (no copy; writes go through); otherwise a fresh copy.
   */
  data(): StorageArray {
    const buf = this.storage.data;
    if (this.isContiguous()) return buf.subarray(this.offset, this.offset + this.numel()) as StorageArray;
    return op('contiguous')(this).data();
  }

  /** A plain JavaScript array of the elements (row-major). */
  toArray(): number[] { return Array.from(this.data()); }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.numel() !== 1) throw new ShapeError(`item() needs a tensor with one element, got shape ${fmtShape(this.shape)}`);
    return this.storage.data[this.offset];
  }

  // Views and layout (each differentiable, defined in ops/views.ts).
  reshape(...shape: number[]): Tensor { return op('reshape')(this, shape); }
  view(...shape: number[]): Tensor { return op('reshape')(this, shape); }
  transpose(d0: number, d1: number): Tensor { return op('transpose')(this, d0, d1); }
  permute(...dims: number[]): Tensor { return op('permute')(this, dims); }
  narrow(dim: number, start: number, length: number): Tensor { return op('narrow')(this, dim, start, length); }
  expand(...shape: number[]): Tensor { return op('expand')(this, shape); }
  squeeze(dim?: number): Tensor { return op('squeeze')(this, dim); }
  unsqueeze(dim: number): Tensor { return op('unsqueeze')(this, dim); }
  contiguous(): Tensor { return op('contiguous')(this); }
  flatten(): Tensor { return op('reshape')(this, [this.numel()]); }

  /** A tensor sharing storage, cut from the graph (no gradient flows through it). */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.strides, this.offset, this.dtype);
  }

  /**
   * Marks this tensor as a leaf that accumulates `.grad` in backward. Float dtypes only; a bfloat16
   * leaf (as PyTorch allows) gets bfloat16 gradients from the ops that read bf16 tensors (linear, GELU).
   */
  requiresGrad_(flag = true): this {
    if (flag && this.dtype !== 'float32' && this.dtype !== 'float64' && this.dtype !== 'bfloat16') {
      throw new ValueError(`requiresGrad needs a float tensor, got dtype ${this.dtype}`);
    }
    this.requiresGrad = flag;
    return this;
  }

  /**
   * Registers `hook(this)` to run each time a backward pass has finished accumulating this leaf's
   * gradient into `.grad` (PyTorch `Tensor.register_post_accumulate_grad_hook`). Backward visits a
   * leaf after every op that uses it, so `.grad` holds the whole gradient of that pass (plus what
   * earlier passes accumulated) when the hook runs: data-parallel training starts reducing a
   * bucket of gradients from here while the rest of backward runs.
   * @returns a handle whose `remove()` unregisters the hook.
   * @throws ValueError when this tensor is not a leaf that requires grad.
   */
  registerPostAccumulateGradHook(hook: (t: Tensor) => void): { remove(): void } {
    if (!this.requiresGrad || this.gradFn !== null) {
      throw new ValueError('registerPostAccumulateGradHook: only a leaf tensor that requires grad accumulates .grad');
    }
    (this.postAccumulateGradHooks ??= []).push(hook);
    return {
      remove: () => {
        const hooks = this.postAccumulateGradHooks;
        const i = hooks ? hooks.indexOf(hook) : -1;
        if (i >= 0) hooks!.splice(i, 1);
      },
    };
  }

  /** Keeps this tensor's storage out of every scope's release (see storage.ts). */
  keep(): this {
    keepStorage(this.storage);
    return this;
  }

  /**
   * Drops `.grad` and returns its buffer to the pool (like `zero_grad(set_to_none=True)`). Only for
   * gradients that autograd created: nothing else may hold a reference to them.
   */
  clearGrad(): void {
    if (this.grad && this.grad.storage !== this.storage) this.grad.storage.free();
    this.grad = null;
  }

  toString(): string {
    return `Tensor(shape=${fmtShape(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

export function normDim(d: number, ndim: number, name = 'dim'): number {
  const r = d < 0 ? d + ndim : d;
  if (!Number.isInteger(r) || r < 0 || r >= Math.max(ndim, 1)) {
    throw new ValueError(`${name} ${d} is out of range for a tensor with ${ndim} dimension(s)`);
  }
  return r;
}

/** A fresh contiguous tensor of `shape` (contents unspecified unless `zero`). */
export function empty(shape: readonly number[], dtype: DType = 'float32', zero = false): Tensor {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new ShapeError(`invalid shape ${fmtShape(shape)}: sizes must be non-negative integers`);
  }
  const st = allocStorage(dtype, numel(shape), zero);
  return new Tensor(st, [...shape], contiguousStrides(shape), 0, dtype);
}

/**
 * A tensor from data: a typed array (wrapped without copy when its length equals the size), a flat
 * number array, or a nested array (shape inferred).
 */
export function tensor(data: ArrayLike<number> | NestedArray, shape?: readonly number[], dtype?: DType): Tensor {
  if (ArrayBuffer.isView(data)) {
    const arr = data as unknown as StorageArray;
    const dt = dtype ?? dtypeOfArray(arr);
    const sh = shape ?? [arr.length];
    if (numel(sh) !== arr.length) {
      throw new ShapeError(`tensor(): data has ${arr.length} elements but shape ${fmtShape(sh)} needs ${numel(sh)}`);
    }
    if (dt === dtypeOfArray(arr) || (dt === 'float16' && arr instanceof Uint16Array)) {
      return new Tensor(wrapStorage(dt, arr), [...sh], contiguousStrides(sh), 0, dt);
    }
    const out = newArray(dt, arr.length);
    for (let i = 0; i < arr.length; i++) out[i] = arr[i];
    return new Tensor(wrapStorage(dt, out), [...sh], contiguousStrides(sh), 0, dt);
  }
  const flat: number[] = [];
  const inferred = flattenNested(data as NestedArray, flat);
  const sh = shape ?? inferred;
  if (numel(sh) !== flat.length) {
    throw new ShapeError(`tensor(): data has ${flat.length} elements but shape ${fmtShape(sh)} needs ${numel(sh)}`);
  }
  const dt = dtype ?? 'float32';
  const t = empty(sh, dt);
  const buf = t.storage.data;
  for (let i = 0; i < flat.length; i++) buf[i] = flat[i];
  return t;
}

export type NestedArray = number | readonly NestedArray[];

function flattenNested(v: NestedArray | ArrayLike<number>, out: number[]): number[] {
  if (typeof v === 'number') { out.push(v); return []; }
  const arr = v as readonly NestedArray[];
  if (arr.length === 0) return [0];
  let inner: number[] = [];
  for (let i = 0; i < arr.length; i++) {
    const sh = flattenNested(arr[i], out);
    if (i === 0) inner = sh;
    else if (sh.length !== inner.length || sh.some((s, k) => s !== inner[k])) {
      throw new ShapeError('tensor(): nested arrays are ragged');
    }
  }
  return [arr.length, ...inner];
}

export function full(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  const t = empty(shape, dtype);
  t.storage.data.fill(value);
  return t;
}

export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor { return empty(shape, dtype, true); }
export function ones(shape: readonly number[], dtype: DType = 'float32'): Tensor { return full(shape, 1, dtype); }
export function scalar(v: number, dtype: DType = 'float32'): Tensor { return full([], v, dtype); }

export function zerosLike(t: Tensor): Tensor { return zeros(t.shape, t.dtype); }

/** [start, end) with `step`, as int32 unless a dtype is given. */
export function arange(start: number, end?: number, step = 1, dtype: DType = 'int32'): Tensor {
  if (end === undefined) { end = start; start = 0; }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const t = empty([n], dtype);
  const b = t.storage.data;
  for (let i = 0; i < n; i++) b[i] = start + i * step;
  return t;
}
