// Masking: maskedFill, where, tril / triu.
import { ShapeError, fmtShape } from '../../errors.js';
import { record } from '../autograd.js';
import { broadcastShapes } from '../shape.js';
import { empty, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { expand, sumToShape } from './broadcast.js';
import { contiguous } from './views.js';

registerOp('mask', ['maskedFill', 'where', 'tril', 'triu']);

/** Truthiness of each element of a (broadcast) mask: non-zero = true. */
function maskBits(mask: Tensor, shape: readonly number[]): ArrayLike<number> {
  return contiguous(expand(mask, shape)).data();
}

/** x with `value` where mask is true (mask broadcasts to x; any dtype, non-zero = true). Gradient 0 there. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  broadcastShapes(x.shape, mask.shape, 'maskedFill');
  if (mask.ndim > x.ndim || mask.shape.some((s, i) => s !== 1 && s !== x.shape[x.ndim - mask.ndim + i])) {
    throw new ShapeError(`maskedFill: mask ${fmtShape(mask.shape)} must broadcast to input ${fmtShape(x.shape)}`);
  }
  const m = maskBits(mask, x.shape);
  const xd = contiguous(x).data();
  const out = empty(x.shape, x.dtype);
  const od = out.storage.data;
  for (let i = 0; i < od.length; i++) od[i] = m[i] ? value : xd[i];
  return record('maskedFill', out, [x], (g) => {
    const gd = contiguous(g).data();
    const dx = empty(x.shape, g.dtype);
    const dd = dx.storage.data;
    for (let i = 0; i < dd.length; i++) dd[i] = m[i] ? 0 : gd[i];
    return [dx];
  });
}

/** cond ? a : b elementwise with broadcasting (cond non-zero = true). */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'where'), b.shape, 'where');
  const c = maskBits(cond, shape);
  const av = contiguous(expand(a, shape)).data(), bv = contiguous(expand(b, shape)).data();
  const dt = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : a.dtype;
  const out = empty(shape, dt);
  const od = out.storage.data;
  for (let i = 0; i < od.length; i++) od[i] = c[i] ? av[i] : bv[i];
  return record('where', out, [a, b], (g) => {
    const gd = contiguous(g).data();
    const ga = empty(shape, g.dtype), gb = empty(shape, g.dtype);
    const ad = ga.storage.data, bd = gb.storage.data;
    for (let i = 0; i < gd.length; i++) { ad[i] = c[i] ? gd[i] : 0; bd[i] = c[i] ? 0 : gd[i]; }
    return [a.requiresGrad ? sumToShape(ga, a.shape) : null, b.requiresGrad ? sumToShape(gb, b.shape) : null];
  });
}

function triangle(x: Tensor, diagonal: number, lower: boolean, name: string): Tensor {
  if (x.ndim < 2) throw new ShapeError(`${name}: needs at least 2 dimensions, got ${fmtShape(x.shape)}`);
  const r = x.shape[x.ndim - 2], c = x.shape[x.ndim - 1];
  const keep = (i: number, j: number): boolean => (lower ? j - i <= diagonal : j - i >= diagonal);
  const apply = (src: Tensor): Tensor => {
    const sd = contiguous(src).data();
    const out = empty(src.shape, src.dtype);
    const od = out.storage.data;
    for (let o = 0; o < sd.length; o += r * c) {
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) od[o + i * c + j] = keep(i, j) ? sd[o + i * c + j] : 0;
    }
    return out;
  };
  return record(name, apply(x), [x], (g) => [apply(g)]);
}

/** Lower triangle of the last two dims (j - i <= diagonal kept, rest 0). */
export const tril = (x: Tensor, diagonal = 0): Tensor => triangle(x, diagonal, true, 'tril');
/** Upper triangle of the last two dims (j - i >= diagonal kept, rest 0). */
export const triu = (x: Tensor, diagonal = 0): Tensor => triangle(x, diagonal, false, 'triu');
