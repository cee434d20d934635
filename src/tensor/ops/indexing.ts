// Index ops: gather, scatterAdd, indexSelect and embedding lookup, forward and backward.
import { IndexError, ShapeError, ValueError, fmtShape } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import type { FloatArray } from '../../backend/backend.js';
import { record } from '../autograd.js';
import { empty, normDim, type RowsGradient, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { contiguous, reshape } from './views.js';

registerOp('indexing', ['gather', 'scatterAdd', 'indexSelect', 'embedding']);

function indexData(index: Tensor, op: string): Int32Array {
  if (index.dtype !== 'int32') throw new ValueError(`${op}: index must have dtype int32, got ${index.dtype}`);
  return contiguous(index).data() as Int32Array;
}

function checkRange(idx: Int32Array, size: number, op: string, dim: number): void {
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i];
    if (v < 0 || v >= size) throw new IndexError(`${op}: index ${v} (at flat position ${i}) is out of range for dimension ${dim} of size ${size}`);
  }
}

function split3(shape: readonly number[], d: number): [number, number] {
  let outer = 1, inner = 1;
  for (let i = 0; i < d; i++) outer *= shape[i];
  for (let i = d + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, inner];
}

/**
 * out[i][j][k] = x[i][index[i][j][k]][k] for dim = 1 (PyTorch `gather`). `index` has x's shape except
 * along `dim` (this implementation needs the other dims equal).
 * @throws IndexError naming the index and the dimension size when an index is out of range.
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normDim(dim, x.ndim);
  if (index.ndim !== x.ndim || index.shape.some((s, i) => i !== d && s !== x.shape[i])) {
    throw new ShapeError(`gather: index shape ${fmtShape(index.shape)} must match input shape ${fmtShape(x.shape)} except in dimension ${d}`);
  }
  const idx = indexData(index, 'gather');
  checkRange(idx, x.shape[d], 'gather', d);
  const [outer, inner] = split3(x.shape, d);
  const out = empty(index.shape, x.dtype === 'float64' ? 'float64' : 'float32');
  getBackend().gather(contiguous(x).data() as FloatArray, idx, out.storage.data as FloatArray, outer, x.shape[d], inner, index.shape[d]);
  return record('gather', out, [x], (g) => {
    const dx = empty(x.shape, g.dtype, true);
    getBackend().scatterAdd(dx.storage.data as FloatArray, idx, contiguous(g).data() as FloatArray, outer, x.shape[d], inner, index.shape[d]);
    return [dx];
  });
}

/** Returns x with src added at `index` along `dim` (out-of-place `scatter_add`). */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = normDim(dim, x.ndim);
  if (index.ndim !== x.ndim || index.shape.some((s, i) => i !== d && s !== x.shape[i]) || src.shape.some((s, i) => s !== index.shape[i]) || src.ndim !== index.ndim) {
    throw new ShapeError(`scatterAdd: index ${fmtShape(index.shape)} and src ${fmtShape(src.shape)} must match input ${fmtShape(x.shape)} except in dimension ${d}`);
  }
  const idx = indexData(index, 'scatterAdd');
  checkRange(idx, x.shape[d], 'scatterAdd', d);
  const [outer, inner] = split3(x.shape, d);
  const out = empty(x.shape, x.dtype === 'float64' ? 'float64' : 'float32');
  (out.storage.data as FloatArray).set(contiguous(x).data() as FloatArray);
  getBackend().scatterAdd(out.storage.data as FloatArray, idx, contiguous(src).data() as FloatArray, outer, x.shape[d], inner, index.shape[d]);
  return record('scatterAdd', out, [x, src], (g) => [g, src.requiresGrad ? gather(g, d, index) : null]);
}

/** Rows of `x` along dim 0 picked by a 1-D int32 `index`: [n, ...rest]. */
export function indexSelect(x: Tensor, index: Tensor): Tensor {
  if (index.ndim !== 1) throw new ShapeError(`indexSelect: index must be 1-D, got ${fmtShape(index.shape)}`);
  const rest = x.shape.slice(1);
  const flat = embedding(reshape(x, [x.shape[0], -1]), index);
  return reshape(flat, [index.shape[0], ...rest]);
}

/**
 * Embedding lookup: weight [V, C], ids int32 [...] → [..., C]. Backward hands back rows (a
 * RowsGradient): autograd adds g's row i into row ids[i] of the weight's gradient, in the order of
 * ids, straight into what is there — a tied LM head's pending dW (dW + row 0 + row 1 + …; the old
 * dense path summed the rows into zeros first: dW + (0 + row 0 + …), equal for a row used once,
 * within float32 rounding otherwise) or an accumulated .grad — with no [V, C] temporary (as PyTorch's
 * embedding_dense_backward accumulating into .grad). Where nothing exists, zeros plus the rows.
 * @throws IndexError naming the id and V when an id is outside [0, V).
 */
export function embedding(weight: Tensor, ids: Tensor): Tensor {
  if (weight.ndim !== 2) throw new ShapeError(`embedding: weight must be [V, C], got ${fmtShape(weight.shape)}`);
  const idx = indexData(ids, 'embedding');
  const [V, C] = weight.shape;
  checkRange(idx, V, 'embedding', 0);
  const out = empty([...ids.shape, C], weight.dtype === 'float64' ? 'float64' : 'float32');
  getBackend().indexSelect(contiguous(weight).data() as FloatArray, idx, out.storage.data as FloatArray, idx.length, C);
  // The gradient goes back as rows (see RowsGradient): backward adds them into the weight's pending
  // gradient (a tied LM head's dW) or its .grad, in the order of ids, after what is already there.
  return record('embedding', out, [weight], (g) => [{ kind: 'rows', shape: weight.shape, idx, rows: contiguous(g) } satisfies RowsGradient]);
}
