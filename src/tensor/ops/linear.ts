// The linear layer y = x Wᵀ + b as one op: one GEMM into the output and the bias added in place, so
// no [..., out] temporary is left holding the product before the bias sum. Under autocast the
// backward keeps the 16-bit copy of x the product was computed from, not x itself (what PyTorch's
// autocast saves), so a float32 x that nothing else reads can go back to the pool at once; the bias
// is added inside the product (linearLowp) and its gradient is summed while g is rounded.
import { ShapeError, fmtShape } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import type { FloatArray } from '../../backend/backend.js';
import { record } from '../autograd.js';
import { lowpFor } from '../precision.js';
import { broadcastStrides } from '../shape.js';
import { contiguousStrides, empty, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { sumToShape } from './broadcast.js';
import { add } from './elementwise.js';
import { matmul } from './matmul.js';
import { contiguous, transpose } from './views.js';

registerOp('linear', ['linear']);

/**
 * y = x Wᵀ + b (PyTorch `F.linear`): x [..., in], weight [out, in], bias [out] or null → [..., out],
 * float32 (or float64 for gradient checks; mixed dtypes take the composed matmul + add).
 * Under autocast (src/amp) x and the weight are rounded to its 16-bit dtype and summed in float32;
 * backward keeps x's 16-bit copy (not x) and runs its products in the same dtype.
 * `opts.lowpOutput`: under bfloat16 autocast (float32 x, weight and bias, in > 0) the output is
 * returned as a bfloat16 tensor, the float32 sums plus bias rounded to nearest even as they are stored
 * (the values castToLowp gives of the float32 output; oneDNN flushes sums below 2^-126 to ±0), for a consumer that rounds it anyway
 * (packedSelfAttention); its gradient is float32. Otherwise (no autocast, float16, float64) the output is float32 as usual.
 * @throws ShapeError when weight is not 2-D, the last dim of x is not `in`, or bias is not [out].
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: { lowpOutput?: boolean } = {}): Tensor {
  if (weight.ndim !== 2 || x.ndim < 1 || x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new ShapeError(`linear: input ${fmtShape(x.shape)} does not end in in_features ${weight.shape[1]} of weight ${fmtShape(weight.shape)}`);
  }
  const [outF, inF] = weight.shape;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF)) {
    throw new ShapeError(`linear: bias must be [${outF}] for weight ${fmtShape(weight.shape)}, got ${fmtShape(bias.shape)}`);
  }
  const dt = x.dtype;
  if ((dt !== 'float32' && dt !== 'float64') || weight.dtype !== dt || (bias && bias.dtype !== dt)) {
    const y = matmul(x, transpose(weight, 0, 1));
    return bias ? add(y, bias) : y;
  }
  const be = getBackend();
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const lowp = dt === 'float32' ? lowpFor('matmul') : null;
  const xc = contiguous(x), wc = contiguous(weight);
  const xd = xc.data() as FloatArray, wd = wc.data() as FloatArray;
  const out16 = !!opts.lowpOutput && lowp === 'bfloat16' && rows > 0 && outF > 0 && inF > 0;
  const out = empty([...x.shape.slice(0, -1), outF], out16 ? lowp : dt);
  const od = out.storage.data as FloatArray;
  let x16: Tensor | null = null;
  if (rows > 0 && outF > 0) {
    if (inF === 0) od.fill(0);
    else if (lowp) {
      x16 = empty(xc.shape, lowp);
      be.castToLowp(lowp, xd as Float32Array, x16.storage.data as Uint16Array, rows * inF);
      // The bias joins the product's float32 sums as they are stored (oneDNN's bias argument): one pass
      // over the output fewer than a product followed by an add.
      be.linearLowp(lowp, x16.storage.data as Uint16Array, wd as Float32Array, bias ? contiguous(bias).data() as FloatArray : null,
        out16 ? out.storage.data as Uint16Array : od as Float32Array, rows, outF, inF);
    } else be.matmul(xd, wd, od, 1, rows, outF, inF, false, true, 0, 0, 1, 0);
    if (bias && !(lowp && inF > 0)) {
      const bc = contiguous(bias);
      be.binary('add', od, contiguousStrides(out.shape), bc.data() as FloatArray, broadcastStrides(bc.shape, bc.strides, out.shape), od, out.shape);
    }
  }
  const saved = x16 ?? xc;
  return record('linear', out, [x, weight, bias], (g) => {
    const gd = contiguous(g).data() as FloatArray;
    const sd = saved.storage.data;
    // Both gradient products read g: round it to 16 bits once for the two of them; the bias gradient
    // (g's column sums) comes from the same read of g.
    let g16: Tensor | null = null, db: Tensor | null = null;
    if (lowp && x.requiresGrad && weight.requiresGrad && rows > 0 && inF > 0 && outF > 0) {
      g16 = empty(g.shape, lowp);
      if (bias && bias.requiresGrad) {
        db = empty([outF], dt);
        be.castToLowpColumnSums(lowp, gd as Float32Array, g16.storage.data as Uint16Array, db.storage.data as Float32Array, rows, outF);
      } else be.castToLowp(lowp, gd as Float32Array, g16.storage.data as Uint16Array, rows * outF);
    }
    const ga = (g16?.storage.data ?? gd) as Float32Array | Uint16Array;
    let dx: Tensor | null = null, dw: Tensor | null = null;
    if (x.requiresGrad) {
      dx = empty(x.shape, dt);
      const dxd = dx.storage.data as FloatArray;
      if (rows === 0 || inF === 0) { /* empty */ } else if (outF === 0) dxd.fill(0);
      else if (lowp) be.matmulLowp(lowp, ga, wd as Float32Array, dxd as Float32Array, 1, rows, inF, outF, false, false, 0, 0, 1, 0);
      else be.matmul(gd, wd, dxd, 1, rows, inF, outF, false, false, 0, 0, 1, 0);
    }
    if (weight.requiresGrad) {
      dw = empty([outF, inF], dt);
      const dwd = dw.storage.data as FloatArray;
      if (outF === 0 || inF === 0) { /* empty */ } else if (rows === 0) dwd.fill(0);
      else if (lowp) be.matmulLowp(lowp, ga, sd as Uint16Array, dwd as Float32Array, 1, outF, inF, rows, true, false, 0, 0, 1, 0);
      else be.matmul(gd, sd as FloatArray, dwd, 1, outF, inF, rows, true, false, 0, 0, 1, 0);
    }
    g16?.storage.free();
    return [dx, dw, bias && bias.requiresGrad ? db ?? sumToShape(g, bias.shape) : null];
  }, [saved, wc]);
}
