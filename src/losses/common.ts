/**
 * Shared option checks and helpers of the loss functions: reductions, dtypes, shapes.
 * Every check throws a `TrainformerError` subclass whose message names the loss, the option or
 * argument, and the offending value or shapes.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';

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

/**
 * `t` (a float tensor: weight, posWeight) checked to broadcast to `shape` without growing it, and
 * cast to `dtype`. The result keeps its graph.
 * @throws ShapeError naming both shapes when `t` does not broadcast to `shape`.
 */
export function broadcastOperand(fn: string, arg: string, t: T.Tensor, shape: readonly number[], dtype: 'float32' | 'float64'): T.Tensor {
  checkFloat(fn, arg, t);
  const b = T.broadcastShapes(t.shape, shape, `${fn}: '${arg}'`);
  if (!T.sameShape(b, shape)) {
    throw new ShapeError(`${fn}: '${arg}' of shape ${fmtShape(t.shape)} does not broadcast to the input shape ${fmtShape(shape)}`);
  }
  return T.cast(t, dtype);
}

/**
 * Reduces per-element losses: 'none' as they are, 'sum' Σ, 'mean' Σ / count (NaN for none,
 * as PyTorch), 'batchmean' Σ / `batch`.
 */
export function reduceLoss(values: T.Tensor, reduction: Reduction | 'batchmean', batch = 1): T.Tensor {
  if (reduction === 'none') return values;
  const s = T.sum(values);
  if (reduction === 'mean') return T.div(s, values.numel());
  return reduction === 'batchmean' && batch !== 1 ? T.div(s, batch) : s;
}

/**
 * Elements where `x` is exactly 0 (±0), as a 0/1 mask of x's dtype, outside the graph; NaN is not 0.
 * heaviside(−|x|, 1): 1 at 0, 0 for x ≠ 0 and for NaN.
 */
export function isZero(x: T.Tensor): T.Tensor {
  return T.noGrad(() => T.heaviside(T.neg(T.abs(x.detach())), 1));
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
