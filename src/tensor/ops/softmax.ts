// softmax and logSoftmax along a dimension (row kernels of the backend), forward and backward.
import { getBackend } from '../../backend/index.js';
import type { FloatArray } from '../../backend/backend.js';
import { record } from '../autograd.js';
import { empty, normDim, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { contiguous, transpose } from './views.js';

registerOp('softmax', ['softmax', 'logSoftmax']);

function rowOp(x: Tensor, dim: number, log: boolean): Tensor {
  const d = normDim(dim, x.ndim);
  if (d !== x.ndim - 1) return transpose(rowOp(transpose(x, d, -1), -1, log), d, -1);
  const xc = contiguous(x);
  const cols = x.ndim === 0 ? 1 : x.shape[x.ndim - 1];
  const rows = cols === 0 ? 0 : x.numel() / cols;
  const out = empty(x.shape, x.dtype === 'float64' ? 'float64' : 'float32');
  const od = out.storage.data as FloatArray;
  getBackend().softmax(xc.data() as FloatArray, od, rows, cols, log);
  return record(log ? 'logSoftmax' : 'softmax', out, [x], (g) => {
    const dx = empty(x.shape, out.dtype);
    getBackend().softmaxBackward(od, contiguous(g).data() as FloatArray, dx.storage.data as FloatArray, rows, cols, log);
    return [dx];
  });
}

/** softmax along `dim` (default last). -inf entries get 0; a slice of all -inf gives NaN (as PyTorch). */
export const softmax = (x: Tensor, dim = -1): Tensor => rowOp(x, dim, false);
/** log-softmax along `dim` (default last), computed as x - max - log(sum(exp(x - max))). */
export const logSoftmax = (x: Tensor, dim = -1): Tensor => rowOp(x, dim, true);
