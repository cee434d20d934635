// The linear layer y = x Wᵀ + b as one op: one GEMM into the output and the bias added in place, so
// no [..., out] temporary is left holding the product before the bias sum. Under autocast the
// backward keeps the 16-bit copy of x the product was computed from, not x itself (what PyTorch's
// autocast saves), so a float32 x that nothing else reads can go back to the pool at once; the bias
// is added inside the product (linearLowp) and its gradient is summed while g is rounded.
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
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
 * bfloat16 tensors, as PyTorch's CPU autocast passes them from op to op (its linear returns bf16):
 * - `opts.lowpOutput`: under bfloat16 autocast (float32 weight and bias, in > 0) the output is
 *   returned as a bfloat16 tensor, the float32 sums plus bias rounded to nearest even as they are
 *   stored (the values castToLowp gives of the float32 output; oneDNN flushes sums below 2^-126 to ±0).
 *   Its gradient may come back float32 (rounded to bf16 once for both products, the bias gradient
 *   summed from the float32 values) or bfloat16 (read as it is, the bias gradient = float32 column
 *   sums of the bf16 values, in castToLowpColumnSums's order), whichever the consumer returns.
 * - a bfloat16 x (a bf16 activation, or another linear's lowpOutput) is taken as it is under
 *   bfloat16 autocast (no cast, saved as it is for backward), and its gradient dx is bfloat16 (the
 *   float32 sums of g·W rounded to nearest even as oneDNN stores them), as PyTorch's autocast gives it.
 * Otherwise (no autocast, float16, float64) the output and gradients are float32 as usual.
 * Source: torch.nn.functional.linear; torch.autocast('cpu', dtype=torch.bfloat16) (linear in its
 * lower-precision op list: bf16 operands and output).
 * @throws ShapeError when weight is not 2-D, the last dim of x is not `in`, or bias is not [out];
 *   ValueError for a bfloat16 x outside bfloat16 autocast or with a weight that is not float32.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: { lowpOutput?: boolean } = {}): Tensor {
  if (weight.ndim !== 2 || x.ndim < 1 || x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new ShapeError(`linear: input ${fmtShape(x.shape)} does not end in in_features ${weight.shape[1]} of weight ${fmtShape(weight.shape)}`);
  }
  const [outF, inF] = weight.shape;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF)) {
    throw new ShapeError(`linear: bias must be [${outF}] for weight ${fmtShape(weight.shape)}, got ${fmtShape(bias.shape)}`);
  }
  const x16In = x.dtype === 'bfloat16';
  if (x16In && (lowpFor('matmul') !== 'bfloat16' || weight.dtype !== 'float32' || (bias && bias.dtype !== 'float32'))) {
    throw new ValueError(`linear: a bfloat16 input needs bfloat16 autocast and a float32 weight and bias (got weight ${weight.dtype}${bias ? `, bias ${bias.dtype}` : ''}${lowpFor('matmul') === 'bfloat16' ? '' : ', outside bfloat16 autocast'})`);
  }
  const dt = x16In ? 'float32' : x.dtype;
  if ((dt !== 'float32' && dt !== 'float64') || weight.dtype !== dt || (bias && bias.dtype !== dt)) {
    const y = matmul(x, transpose(weight, 0, 1));
    return bias ? add(y, bias) : y;
  }
  const be = getBackend();
  const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const lowp = dt === 'float32' ? lowpFor('matmul') : null;
  const xc = contiguous(x), wc = contiguous(weight);
  const xd = xc.data() as FloatArray | Uint16Array, wd = wc.data() as FloatArray;
  const out16 = !!opts.lowpOutput && lowp === 'bfloat16' && rows > 0 && outF > 0 && inF > 0;
  const out = empty([...x.shape.slice(0, -1), outF], out16 ? 'bfloat16' : dt);
  const od = out.storage.data as FloatArray;
  let x16: Tensor | null = x16In ? xc : null;
  if (rows > 0 && outF > 0) {
    if (inF === 0) od.fill(0);
    else if (lowp) {
      if (!x16) {
        x16 = empty(xc.shape, lowp);
        be.castToLowp(lowp, xd as Float32Array, x16.storage.data as Uint16Array, rows * inF);
      }
      // The bias joins the product's float32 sums as they are stored (oneDNN's bias argument): one pass
      // over the output fewer than a product followed by an add.
      be.linearLowp(lowp, x16.storage.data as Uint16Array, wd as Float32Array, bias ? contiguous(bias).data() as FloatArray : null,
        out16 ? out.storage.data as Uint16Array : od as Float32Array, rows, outF, inF);
    } else be.matmul(xd as FloatArray, wd, od, 1, rows, outF, inF, false, true, 0, 0, 1, 0);
    if (bias && !(lowp && inF > 0)) {
      const bc = contiguous(bias);
      be.binary('add', od, contiguousStrides(out.shape), bc.data() as FloatArray, broadcastStrides(bc.shape, bc.strides, out.shape), od, out.shape);
    }
  }
  const saved = x16 ?? xc;
  return record('linear', out, [x, weight, bias], (g) => {
    const gc = contiguous(g);
    const gd = gc.data() as Float32Array | Uint16Array;
    const g16In = g.dtype === 'bfloat16';
    if (g16In && lowp !== 'bfloat16') throw new ValueError(`linear: a bfloat16 gradient reached a linear layer run ${lowp ? `under ${lowp} autocast` : 'in float32'}`);
    const sd = saved.data();
    // Both gradient products read g: a float32 g is rounded to 16 bits once for the two of them, and
    // the bias gradient (g's column sums) comes from the same read; a bfloat16 g is read as it is.
    let g16: Tensor | null = null, db: Tensor | null = null;
    const wantDb = !!bias && bias.requiresGrad;
    if (g16In) {
      if (wantDb) {
        db = empty([outF], dt);
        if (rows > 0 && outF > 0) be.columnSumsBf16(gd as Uint16Array, db.storage.data as Float32Array, rows, outF);
        else db.storage.data.fill(0);
      }
    } else if (lowp && x.requiresGrad && weight.requiresGrad && rows > 0 && inF > 0 && outF > 0) {
      g16 = empty(g.shape, lowp);
      if (wantDb) {
        db = empty([outF], dt);
        be.castToLowpColumnSums(lowp, gd as Float32Array, g16.storage.data as Uint16Array, db.storage.data as Float32Array, rows, outF);
      } else be.castToLowp(lowp, gd as Float32Array, g16.storage.data as Uint16Array, rows * outF);
    }
    const ga = (g16?.storage.data ?? gd) as Float32Array | Uint16Array;
    let dx: Tensor | null = null, dw: Tensor | null = null;
    if (x.requiresGrad) {
      // A bfloat16 x gets a bfloat16 gradient, written as such by the product.
      dx = empty(x.shape, x16In ? 'bfloat16' : dt);
      const dxd = dx.storage.data as FloatArray | Uint16Array;
      if (rows === 0 || inF === 0) { /* empty */ } else if (outF === 0) dxd.fill(0);
      else if (lowp) be.matmulLowp(lowp, ga, wd as Float32Array, dxd as Float32Array | Uint16Array, 1, rows, inF, outF, false, false, 0, 0, 1, 0);
      else be.matmul(gd as FloatArray, wd, dxd as FloatArray, 1, rows, inF, outF, false, false, 0, 0, 1, 0);
    }
    if (weight.requiresGrad) {
      dw = empty([outF, inF], dt);
      const dwd = dw.storage.data as FloatArray;
      if (outF === 0 || inF === 0) { /* empty */ } else if (rows === 0) dwd.fill(0);
      else if (lowp) be.matmulLowp(lowp, ga, sd as Uint16Array, dwd as Float32Array, 1, outF, inF, rows, true, false, 0, 0, 1, 0);
      else be.matmul(gd as FloatArray, sd as FloatArray, dwd, 1, outF, inF, rows, true, false, 0, 0, 1, 0);
    }
    g16?.storage.free();
    return [dx, dw, wantDb ? db ?? sumToShape(g, bias!.shape) : null];
  }, [saved, wc]);
}
