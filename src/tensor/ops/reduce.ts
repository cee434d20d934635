// Reductions over dimensions: sum, mean, max, min, var, logsumexp (forward and backward).
import { ValueError } from '../../errors.js';
import { record } from '../autograd.js';
import { empty, normDim, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { expand, reduceDimRaw } from './broadcast.js';
import { contiguous, permute, reshape } from './views.js';
import { mulScalar, sub, square } from './elementwise.js';
import { ignoredTarget, logSoftmaxNll } from './cross-entropy.js';

registerOp('reduce', ['sum', 'mean', 'max', 'min', 'var', 'logsumexp']);

export type Dims = number | readonly number[] | undefined;

function normDims(x: Tensor, dims: Dims): number[] {
  if (dims === undefined) return [...Array(x.ndim).keys()];
  const list = typeof dims === 'number' ? [dims] : [...dims];
  const nd = list.map((d) => normDim(d, x.ndim));
  if (new Set(nd).size !== nd.length) throw new ValueError(`reduction dims ${JSON.stringify(dims)} repeat a dimension`);
  return nd.sort((a, b) => a - b);
}

function keptShape(x: Tensor, dims: readonly number[]): number[] {
  return x.shape.map((s, i) => (dims.includes(i) ? 1 : s));
}

function finalShape(x: Tensor, dims: readonly number[], keepdim: boolean): number[] {
  return keepdim ? keptShape(x, dims) : x.shape.filter((_, i) => !dims.includes(i));
}

/** Sum over `dims` (all when undefined). */
export function sum(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const ds = normDims(x, dims);
  let r = x;
  for (let k = ds.length - 1; k >= 0; k--) r = reduceDimRaw(r, ds[k]);
  if (ds.length === 0) r = contiguous(x) === x ? reshape(x.detach(), x.shape) : contiguous(x).detach();
  const out = reshape(r, finalShape(x, ds, keepdim));
  return record('sum', out, [x], (g) => [contiguous(expand(reshape(g, keptShape(x, ds)), x.shape))]);
}

/** Mean over `dims` (all when undefined). */
export function mean(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const ds = normDims(x, dims);
  const count = ds.reduce((a, d) => a * x.shape[d], 1);
  return mulScalar(sum(x, ds, keepdim), 1 / count);
}

function extreme(op: 'max' | 'min', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  if (dim === undefined) {
    const flat = reshape(x, [x.numel()]);
    return extreme(op, flat, 0, false);
  }
  const d = normDim(dim, x.ndim);
  if (x.shape[d] === 0) throw new ValueError(`${op}(): cannot reduce dimension ${d} of size 0`);
  const outer = x.shape.slice(0, d).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(d + 1).reduce((a, b) => a * b, 1);
  const arg = new Int32Array(outer * inner);
  const r = reduceDimRaw(x, d, op, arg);
  const out = reshape(r, finalShape(x, [d], keepdim));
  return record(op, out, [x], (g) => {
    const gc = contiguous(g).data();
    const dx = empty(x.shape, g.dtype, true);
    const dd = dx.storage.data;
    const len = x.shape[d];
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) dd[(o * len + arg[o * inner + i]) * inner + i] = gc[o * inner + i];
    }
    return [dx];
  });
}

/** Maximum over one dim (or all); the gradient goes to the first maximal element. */
export const max = (x: Tensor, dim?: number, keepdim = false): Tensor => extreme('max', x, dim, keepdim);
/** Minimum over one dim (or all); the gradient goes to the first minimal element. */
export const min = (x: Tensor, dim?: number, keepdim = false): Tensor => extreme('min', x, dim, keepdim);

/** Argmax along `dim` as int32 (no gradient). */
export function argmax(x: Tensor, dim: number, keepdim = false): Tensor {
  const d = normDim(dim, x.ndim);
  const outer = x.shape.slice(0, d).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(d + 1).reduce((a, b) => a * b, 1);
  const arg = new Int32Array(outer * inner);
  reduceDimRaw(x, d, 'max', arg);
  const sh = finalShape(x, [d], keepdim);
  const out = empty(sh, 'int32');
  (out.storage.data as Int32Array).set(arg);
  return out;
}

/** Variance over `dims` with Bessel's `correction` (1 = unbiased, PyTorch's default; 0 = biased). */
export function variance(x: Tensor, dims?: Dims, opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
  const ds = normDims(x, dims);
  const n = ds.reduce((a, d) => a * x.shape[d], 1);
  const c = opts.correction ?? 1;
  const m = mean(x, ds, true);
  const ss = sum(square(sub(x, m)), ds, opts.keepdim ?? false);
  return mulScalar(ss, 1 / Math.max(0, n - c));
}

/**
 * log(sum(exp(x))) over `dim`, max-shifted, by the fused log-softmax + NLL kernel (its log-sum-exp
 * row, every target ignored); a slice of all -inf gives -inf (as PyTorch), +inf gives +inf, NaN NaN.
 * Backward: g · softmax(x) (the op's lse row).
 */
export function logsumexp(x: Tensor, dim: number, keepdim = false): Tensor {
  const d = normDim(dim, x.ndim);
  const C = x.shape[d];
  const order = [...x.shape.keys()].filter((i) => i !== d);
  const rest = order.map((i) => x.shape[i]);
  const rows = rest.reduce((a, b) => a * b, 1);
  const x2 = reshape(d === x.ndim - 1 ? x : permute(x, [...order, d]), [rows, C]);
  const lse = logSoftmaxNll(x2, ignoredTarget(rows), { ignoreIndex: -1 }).lse;
  return reshape(lse, keepdim ? keptShape(x, [d]) : rest);
}
