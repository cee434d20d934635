/**
 * Shared option checks and helpers of the loss functions: reductions, dtypes, shapes.
 * Every check throws a `TrainformerError` subclass whose message names the loss, the option or
 * argument, and the offending value or shapes.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';

/** The float arrays of float32 / float64 tensors' storage. */
export type FloatArray = Float32Array | Float64Array;

/** How a loss reduces its per-element values: PyTorch's `reduction` argument. */
export type Reduction = 'none' | 'mean' | 'sum';

/** Validates a reduction option (`allowed` lists the accepted names). @throws ValueError naming the option. */
export function checkReduction<R extends string = Reduction>(fn: string, value: unknown,
  allowed: readonly R[] = ['none', 'mean', 'sum'] as unknown as R[]): R {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ValueError(`${fn}: option 'reduction' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as R;
}

/** @throws ValueError unless `t` is float32 or float64. */
export function checkFloat(fn: string, arg: string, t: T.Tensor): void {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') {
    throw new ValueError(`${fn}: '${arg}' must be a float32 or float64 tensor, got dtype ${t.dtype}`);
  }
}

/** @throws ValueError unless `v` is a finite number (or, with `allowInf`, ±Infinity). */
export function checkNumber(fn: string, option: string, v: unknown, allowInf = false): number {
  if (typeof v !== 'number' || Number.isNaN(v) || (!allowInf && !Number.isFinite(v))) {
    throw new ValueError(`${fn}: option '${option}' must be a ${allowInf ? '' : 'finite '}number, got ${String(v)}`);
  }
  return v;
}

/** @throws ValueError unless `v` is an integer (ignoreIndex). */
export function checkInteger(fn: string, option: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ValueError(`${fn}: option '${option}' must be an integer, got ${String(v)}`);
  }
  return v;
}

/** The result dtype of float inputs: float64 when any is float64. */
export function resultDtype(...ts: readonly (T.Tensor | null | undefined)[]): 'float32' | 'float64' {
  return ts.some((t) => t && t.dtype === 'float64') ? 'float64' : 'float32';
}

/** The contiguous float data of `t` (no copy when already contiguous). */
export function floatData(t: T.Tensor): FloatArray {
  return T.contiguous(t.detach()).data() as FloatArray;
}

/**
 * `t` broadcast to `shape` and made contiguous (a copy only when needed), as raw data. No graph.
 * @throws ShapeError naming both shapes when `t` does not broadcast to `shape`.
 */
export function broadcastData(fn: string, arg: string, t: T.Tensor, shape: readonly number[]): FloatArray {
  const b = T.broadcastShapes(t.shape, shape, `${fn}: '${arg}'`);
  if (!T.sameShape(b, shape)) {
    throw new ShapeError(`${fn}: '${arg}' of shape ${fmtShape(t.shape)} does not broadcast to the input shape ${fmtShape(shape)}`);
  }
  const d = t.detach();
  const c = T.sameShape(d.shape, shape) ? T.contiguous(d) : T.contiguous(T.expand(d, [...shape]));
  return c.data() as FloatArray;
}

/** Integer index of flat position `i` in `shape`, for messages: `[1, 2]`. */
export function positionOf(i: number, shape: readonly number[]): string {
  if (shape.length === 0) return '[]';
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const s = shape[d] || 1;
    idx[d] = i % s;
    i = Math.floor(i / s);
  }
  return fmtShape(idx);
}

/** A fresh tensor of `shape` and `dtype` holding `values` (float64 numbers rounded on store). */
export function fromValues(shape: readonly number[], dtype: 'float32' | 'float64', values: ArrayLike<number>): T.Tensor {
  const t = T.empty(shape, dtype);
  (t.storage.data as FloatArray).set(values);
  return t;
}

/** A scalar tensor of `dtype` holding `v`. */
export function scalarOf(v: number, dtype: 'float32' | 'float64'): T.Tensor {
  return T.full([], v, dtype);
}
