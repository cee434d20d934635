// Joining and splitting: concat, stack, split (views).
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { record } from '../autograd.js';
import { empty, normDim, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { narrow, unsqueeze, writeInto } from './views.js';

registerOp('combine', ['concat', 'stack', 'split']);

/** Joins tensors along an existing `dim`; all other sizes must agree. */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ValueError('concat: needs at least one tensor');
  const first = tensors[0];
  const d = normDim(dim, first.ndim);
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
      throw new ShapeError(`concat: shape ${fmtShape(t.shape)} does not match ${fmtShape(first.shape)} outside dimension ${d}`);
    }
  }
  const shape = [...first.shape];
  shape[d] = tensors.reduce((a, t) => a + t.shape[d], 0);
  const dt = tensors.some((t) => t.dtype === 'float64') ? 'float64' : first.dtype;
  const out = empty(shape, dt);
  const offsets: number[] = [];
  let at = 0;
  for (const t of tensors) {
    offsets.push(at);
    writeInto(new Tensor(out.storage, t.shape, out.strides, at * out.strides[d], dt), t);
    at += t.shape[d];
  }
  return record('concat', out, tensors, (g) => tensors.map((t, i) => (t.requiresGrad ? narrow(g, d, offsets[i], t.shape[d]) : null)));
}

/** Stacks equal-shaped tensors along a new `dim`. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ValueError('stack: needs at least one tensor');
  const nd = tensors[0].ndim;
  for (const t of tensors) {
    if (t.ndim !== nd || t.shape.some((s, i) => s !== tensors[0].shape[i])) {
      throw new ShapeError(`stack: shapes ${fmtShape(tensors[0].shape)} and ${fmtShape(t.shape)} differ`);
    }
  }
  const d = normDim(dim, nd + 1);
  return concat(tensors.map((t) => unsqueeze(t, d)), d);
}

/** Splits along `dim` into chunks of `size` (last may be smaller) or of the given sizes; views. */
export function split(x: Tensor, sizeOrSizes: number | readonly number[], dim = 0): Tensor[] {
  const d = normDim(dim, x.ndim);
  const n = x.shape[d];
  let sizes: number[];
  if (typeof sizeOrSizes === 'number') {
    if (!(sizeOrSizes > 0)) throw new ValueError(`split: size must be positive, got ${sizeOrSizes}`);
    sizes = [];
    for (let s = 0; s < n; s += sizeOrSizes) sizes.push(Math.min(sizeOrSizes, n - s));
  } else {
    sizes = [...sizeOrSizes];
    if (sizes.reduce((a, b) => a + b, 0) !== n) throw new ShapeError(`split: sizes ${fmtShape(sizes)} do not add up to dimension ${d} of size ${n}`);
  }
  const out: Tensor[] = [];
  let at = 0;
  for (const s of sizes) { out.push(narrow(x, d, at, s)); at += s; }
  return out;
}
