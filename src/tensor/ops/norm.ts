// Fused layer normalisation (Ba et al. 2016): forward and backward in backend row kernels.
import { ShapeError, fmtShape } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import type { FloatArray } from '../../backend/backend.js';
import { record } from '../autograd.js';
import { empty, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { contiguous } from './views.js';

registerOp('norm', ['layerNorm']);

/**
 * y = (x - mean) / sqrt(var + eps) · weight + bias over the last dim (biased variance), as
 * `torch.nn.functional.layer_norm` with normalized_shape [D]. x [..., D]; weight, bias [D] or null.
 * @throws ShapeError when weight or bias is not [D].
 */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const D = x.shape[x.ndim - 1];
  for (const [n, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== D)) throw new ShapeError(`layerNorm: ${n} must be [${D}] for input ${fmtShape(x.shape)}, got ${fmtShape(t.shape)}`);
  }
  const rows = D === 0 ? 0 : x.numel() / D;
  const dt = x.dtype === 'float64' ? 'float64' : 'float32';
  const xc = contiguous(x), wc = weight ? contiguous(weight) : null;
  const xd = xc.data() as FloatArray;
  const wd = wc ? wc.data() as FloatArray : null;
  const bd = bias ? contiguous(bias).data() as FloatArray : null;
  const out = empty(x.shape, dt);
  const mean = empty([rows], dt), rstd = empty([rows], dt);
  getBackend().layerNorm(xd, wd, bd, out.storage.data as FloatArray, mean.storage.data as FloatArray, rstd.storage.data as FloatArray, rows, D, eps);
  return record('layerNorm', out, [x, weight, bias], (g) => {
    const dx = empty(x.shape, dt);
    const dw = weight ? empty([D], dt, true) : null;
    const db = bias ? empty([D], dt, true) : null;
    getBackend().layerNormBackward(xd, wd, mean.storage.data as FloatArray, rstd.storage.data as FloatArray, contiguous(g).data() as FloatArray,
      dx.storage.data as FloatArray, dw ? dw.storage.data as FloatArray : null, db ? db.storage.data as FloatArray : null, rows, D);
    return [dx, dw, db];
  }, [xc, wc, mean, rstd]);
}
