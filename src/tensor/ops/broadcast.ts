// Broadcasting and its adjoint, side by side: `expand` (a stride-0 view) and `sumToShape` (the sum
// that undoes it). Each is the other's backward, so they live in one file; every op that
// broadcasts imports them from here (DESIGN.md "One op table").
import { ShapeError, fmtShape } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import type { FloatArray } from '../../backend/backend.js';
import { record } from '../autograd.js';
import { sameShape } from '../shape.js';
import { contiguousStrides, empty, provideTensorMethods, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { contiguous } from './views.js';

registerOp('broadcast', ['expand', 'sumToShape']);

/**
 * Reduces dimension `d` of x with the backend's `reduce` kernel, keeping it as size 1 (no graph).
 * `arg` receives the index of the extreme for max/min. Output float32, or float64 for float64 input.
 */
export function reduceDimRaw(x: Tensor, d: number, op: 'sum' | 'max' | 'min' = 'sum', arg?: Int32Array): Tensor {
  const c = contiguous(x);
  const outer = x.shape.slice(0, d).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(d + 1).reduce((a, b) => a * b, 1);
  const sh = [...x.shape];
  sh[d] = 1;
  const out = empty(sh, x.dtype === 'float64' ? 'float64' : 'float32');
  getBackend().reduce(op, c.data() as FloatArray, out.storage.data as FloatArray, outer, x.shape[d], inner, arg);
  return out;
}

/**
 * Broadcasts `t` to `shape` (new leading dims allowed; size-1 dims stretch; -1 keeps a size) as a
 * stride-0 view, no copy (torch.Tensor.expand). Backward: `sumToShape`.
 * @throws ShapeError when a non-1 dimension would have to change size.
 */
export function expand(t: Tensor, shape: readonly number[]): Tensor {
  const n = shape.length, k = t.ndim;
  if (n < k) throw new ShapeError(`expand: cannot expand ${fmtShape(t.shape)} to fewer dimensions ${fmtShape(shape)}`);
  const sh = new Array<number>(n), st = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const j = i - (n - k);
    const want = shape[i];
    if (j < 0) { sh[i] = want; st[i] = 0; continue; }
    const have = t.shape[j];
    const w = want === -1 ? have : want;
    if (have !== w && have !== 1) throw new ShapeError(`expand: cannot expand ${fmtShape(t.shape)} to ${fmtShape(shape)} (dimension ${i}: ${have} vs ${w})`);
    sh[i] = w;
    st[i] = have === w ? t.strides[j] : 0;
  }
  const out = new Tensor(t.storage, sh, st, t.offset, t.dtype);
  return record('expand', out, [t], (g) => [sumToShape(g, t.shape)], []);
}

/**
 * Sums `g` down to `shape`, undoing broadcasting: leading dimensions and dimensions where `shape`
 * has 1 are summed. Returns `g` itself when the shapes already match. Backward: `expand`.
 */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  let r = g;
  for (let i = g.ndim - 1; i >= 0; i--) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) r = reduceDimRaw(r, i);
  }
  const c = contiguous(r);
  const out = new Tensor(c.storage, [...shape], contiguousStrides(shape), c.offset, c.dtype);
  const from = g.shape;
  return record('sumToShape', out, [g], (gg) => [contiguous(expand(gg, from))]);
}

provideTensorMethods({ expand });
