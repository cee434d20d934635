/**
 * Norms and finiteness checks on raw float buffers, accumulated in float64 so that a float32
 * gradient with large (finite) elements does not overflow the sum of squares: a float32 value is
 * at most 3.4e38, its square 1.2e77, far inside float64's range. A result is non-finite exactly
 * when some element is NaN or ±Inf.
 */
import type { Tensor } from '../../tensor/index.js';

/** Σ x² over a buffer (float64 accumulation); NaN / Infinity when an element is NaN / ±Inf. */
export function sumSquares(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** Σ (a - b)² over two buffers of the same length (float64 accumulation). */
export function sumSquaredDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

/** Whether every element is finite. */
export function allFinite(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/** The elements of a tensor as a contiguous float array (a view when contiguous, else a copy). */
export function floatData(t: Tensor): Float32Array | Float64Array {
  return t.data() as Float32Array | Float64Array;
}

/**
 * The global L2 norm of the gradients of `params` (those whose `grad` is null count as zero):
 * sqrt(Σ_p Σ_i g_pi²), what `clipGradNorm` computes. NaN or Infinity when a gradient holds NaN / Inf.
 */
export function globalGradNorm(params: Iterable<Tensor>): number {
  let s = 0;
  for (const p of params) if (p.grad !== null) s += sumSquares(floatData(p.grad));
  return Math.sqrt(s);
}
