/**
 * Gradient clipping, in place, with PyTorch 1.13 `torch.nn.utils.clip_grad_norm_` /
 * `clip_grad_value_` semantics.
 */
import { getBackend } from '../backend/index.js';
import { ValueError } from '../errors.js';
import { Tensor } from '../tensor/index.js';
import { type FloatBuf, updateInPlace } from './buffers.js';

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /** Order p of the norm: any number (2 default, 1, 3, ...), `Infinity` (max |g|) or `-Infinity` (min |g|). */
  normType?: number;
  /** Throw when the total norm is NaN or ±Infinity instead of clipping (default false). */
  errorIfNonfinite?: boolean;
  /**
   * An optimizer that takes the scale over (AdamW / Adam: `deferGradScale`): its next step() uses
   * every gradient times the clipping coefficient, with the same rounding, as it reads it, instead
   * of a pass over all gradients here (one read and one write of each fewer). The gradients then
   * keep their unclipped values; read them only after zeroGrad() and a new backward. When the
   * optimizer declines (a gradient that is not one of its parameters'), they are scaled here.
   */
  deferTo?: { deferGradScale(coef: number, grads: readonly Tensor[]): boolean };
}

const fround = Math.fround;

function gradsOf(params: Tensor | Iterable<Tensor>, where: string): Tensor[] {
  if (params instanceof Tensor) params = [params];
  if (params === null || typeof params !== 'object' || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new ValueError(`${where}: params must be a tensor or an iterable of tensors, got ${String(params)}`);
  }
  const out: Tensor[] = [];
  let i = 0;
  for (const p of params) {
    if (!(p instanceof Tensor)) throw new ValueError(`${where}: params[${i}] is not a Tensor`);
    if (p.grad !== null) {
      if (p.grad.dtype !== 'float32' && p.grad.dtype !== 'float64') throw new ValueError(`${where}: params[${i}].grad has dtype ${p.grad.dtype}, expected float32`);
      out.push(p.grad);
    }
    i++;
  }
  return out;
}

/**
 * The p-norm of a flat list of values, as `torch.norm(x, p)`: (Σ|x|^p)^(1/p) accumulated in
 * float64; max |x| for Infinity, min |x| for -Infinity, the count of non-zeros for p = 0.
 * NaN propagates.
 */
function vectorNorm(x: ArrayLike<number>, n: number, p: number): number {
  if (n === 0) return 0;
  if (p === Infinity || p === -Infinity) {
    let best = p === Infinity ? 0 : Infinity;
    for (let i = 0; i < n; i++) {
      const a = Math.abs(x[i]);
      if (a !== a) return NaN;
      if (p === Infinity ? a > best : a < best) best = a;
    }
    return best;
  }
  if (p === 0) {
    let c = 0;
    for (let i = 0; i < n; i++) { if (x[i] !== 0) c++; if (x[i] !== x[i]) return NaN; }
    return c;
  }
  if (p === 2 && (x instanceof Float32Array || x instanceof Float64Array)) return Math.sqrt(getBackend().sumSquares(x, n));
  let s = 0;
  if (p === 1) for (let i = 0; i < n; i++) s += Math.abs(x[i]);
  else for (let i = 0; i < n; i++) s += Math.pow(Math.abs(x[i]), p);
  return p === 1 ? s : Math.pow(s, 1 / p);
}

/**
 * Clips the gradients of `params` (those whose `grad` is not null) in place so that their total
 * norm is at most `maxNorm`, and returns the total norm before clipping.
 *
 * total = the `normType`-norm of the per-tensor norms (= the norm of all elements together), each
 * a float32 value as in PyTorch; 0 when no parameter has a gradient. Every gradient is multiplied
 * by coef = min(maxNorm / (total + 1e-6), 1), so non-finite values propagate by IEEE rules: a NaN
 * total makes every gradient NaN; an infinite total gives coef 0 (finite entries become 0, infinite
 * ones NaN). coef = 1 leaves the gradients as they are without a pass over them (PyTorch multiplies
 * by 1.0, which changes no value). The 2-norm uses the backend's `sumSquares`.
 * Source: PyTorch 1.13 `torch.nn.utils.clip_grad_norm_`.
 *
 * @param params a parameter or parameters (float32 gradients of any shape).
 * @param maxNorm the largest allowed total norm (not range-checked, like PyTorch).
 * @returns the total norm (a float32 value, as a number).
 * @throws ValueError for a non-numeric maxNorm / normType, or when `errorIfNonfinite` is set and
 *   the total norm is NaN or infinite.
 */
export function clipGradNorm(params: Tensor | Iterable<Tensor>, maxNorm: number, opts: ClipGradNormOptions = {}): number {
  const where = 'clipGradNorm';
  const normType = opts.normType ?? 2;
  if (typeof maxNorm !== 'number') throw new ValueError(`${where}: maxNorm must be a number, got ${String(maxNorm)}`);
  if (typeof normType !== 'number' || Number.isNaN(normType)) throw new ValueError(`${where}: normType must be a number or ±Infinity, got ${String(normType)}`);
  const grads = gradsOf(params, where);
  if (grads.length === 0) return 0;
  const norms = new Float32Array(grads.length);
  grads.forEach((g, i) => {
    const d = g.data() as FloatBuf;
    norms[i] = vectorNorm(d, d.length, normType);
  });
  const total = fround(vectorNorm(norms, norms.length, normType));
  if (opts.errorIfNonfinite && !Number.isFinite(total)) {
    throw new ValueError(`${where}: the total norm of order ${normType} for gradients is ${total} (non-finite), so it cannot be clipped; set errorIfNonfinite: false to clip anyway`);
  }
  const raw = fround(maxNorm / fround(total + 1e-6));
  // `raw > 1` is false for NaN, so NaN stays NaN (torch.clamp propagates it).
  const coef = raw > 1 ? 1 : raw;
  // x·1 is x for every float (NaN and ±inf included): skip the pass over all gradients (on gpt2,
  // 124M values) when nothing is clipped.
  if (coef === 1) return total;
  if (opts.deferTo && opts.deferTo.deferGradScale(coef, grads)) return total;
  // The backend's vectorised scale (float32: x·coef rounded once, as the JS loop).
  const be = getBackend();
  for (const g of grads) updateInPlace(g, (x) => be.unary('mulScalar', x, x, x.length, coef));
  return total;
}

/**
 * Clamps every gradient element of `params` into [-clipValue, clipValue] in place (NaN stays NaN).
 * Source: PyTorch `torch.nn.utils.clip_grad_value_`.
 * @throws ValueError when clipValue is not a number >= 0.
 */
export function clipGradValue(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  const where = 'clipGradValue';
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) throw new ValueError(`${where}: clipValue must be a number >= 0, got ${String(clipValue)}`);
  // The backend's clamp (lower bound p0, upper p1; NaN stays NaN).
  const be = getBackend();
  for (const g of gradsOf(params, where)) updateInPlace(g, (x) => be.unary('clamp', x, x, x.length, -clipValue, clipValue));
}
