// Matrix product with batching, broadcast batch dimensions and transposed operands read in place.
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import type { FloatArray, LowpDtype } from '../../backend/backend.js';
import { record } from '../autograd.js';
import { lowpFor } from '../precision.js';
import { broadcastShapes } from '../shape.js';
import { wrapStorage } from '../storage.js';
import { contiguousStrides, empty, numel, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { expand, sumToShape } from './broadcast.js';
import { contiguous, reshape, transpose } from './views.js';

registerOp('matmul', ['matmul']);
registerOp('matmul', ['addmmInPlace', 'toLowp'], false);

interface Operand { data: FloatArray | Uint16Array; trans: boolean; batchStride: number }

/**
 * Reads the last two dims of t (batch dims already collapsed to `batch`) as a GEMM operand without a
 * copy when they are row-major or column-major and the batch has one uniform stride.
 */
function operand(t: Tensor, batch: number): Operand {
  const nd = t.ndim;
  const r = t.shape[nd - 2], c = t.shape[nd - 1];
  const sr = t.strides[nd - 2], sc = t.strides[nd - 1];
  let trans: boolean | null = null;
  if ((sc === 1 || c === 1) && (sr === c || r === 1)) trans = false;
  else if ((sr === 1 || r === 1) && (sc === r || c === 1)) trans = true;
  let batchStride = 0;
  let ok = trans !== null;
  if (ok && batch > 1) {
    // Batch dims must collapse to one stride: either all 0 (broadcast) or packed.
    const bs = t.shape.slice(0, nd - 2), bst = t.strides.slice(0, nd - 2);
    if (bst.every((s) => s === 0)) batchStride = 0;
    else {
      let expect = r * c;
      for (let i = bs.length - 1; i >= 0; i--) {
        if (bs[i] !== 1 && bst[i] !== expect) { ok = false; break; }
        expect *= bs[i];
      }
      batchStride = r * c;
    }
  }
  if (!ok) {
    const cc = contiguous(t);
    return { data: (cc.storage.data as FloatArray | Uint16Array).subarray(cc.offset), trans: false, batchStride: batch > 1 ? r * c : 0 };
  }
  return { data: (t.storage.data as FloatArray | Uint16Array).subarray(t.offset), trans: trans as boolean, batchStride };
}

/**
 * One GEMM call: float32, or with 16-bit operands (float32 sums) when `lowp` is set; then A and B may
 * each be float32 (rounded by the kernel) or already hold `lowp` bit patterns (Uint16Array).
 */
function gemm(lowp: LowpDtype | null, A: FloatArray | Uint16Array, B: FloatArray | Uint16Array, C: FloatArray, batch: number,
  m: number, n: number, k: number, transA: boolean, transB: boolean, aStride: number, bStride: number, beta = 0): void {
  const be = getBackend();
  if (lowp && !(A instanceof Float64Array) && !(B instanceof Float64Array) && C instanceof Float32Array) {
    be.matmulLowp(lowp, A, B, C, batch, m, n, k, transA, transB, aStride, bStride, 1, beta);
  } else {
    be.matmul(A as FloatArray, B as FloatArray, C, batch, m, n, k, transA, transB, aStride, bStride, 1, beta);
  }
}

/**
 * No autograd: a contiguous copy of the float32 tensor t in the 16-bit `dtype` (round to nearest
 * even, NaN stays NaN, overflow → ±inf), for a product operand used several times: `addmmInPlace`
 * reads it as it is instead of rounding t again for every product (the fused LM head's weight).
 * With `out` (a contiguous `dtype` tensor of t's element count, e.g. a `narrow` of a larger 16-bit
 * buffer along dim 0) the rounded values are written there and `out` is returned.
 * @throws ValueError when t is not float32, or out is not a contiguous `dtype` tensor of t's size.
 */
export function toLowp(t: Tensor, dtype: LowpDtype, out?: Tensor): Tensor {
  if (t.dtype !== 'float32') throw new ValueError(`toLowp: expected a float32 tensor, got ${t.dtype}`);
  if (out && (out.dtype !== dtype || !out.isContiguous() || out.numel() !== t.numel())) {
    throw new ValueError(`toLowp: out must be a contiguous ${dtype} tensor of ${t.numel()} elements, got ${out.dtype} ${fmtShape(out.shape)}${out.isContiguous() ? '' : ' (not contiguous)'}`);
  }
  const c = contiguous(t);
  const o = out ?? empty(t.shape, dtype);
  const n = o.numel();
  if (n > 0) {
    getBackend().castToLowp(dtype, (c.storage.data as Float32Array).subarray(c.offset, c.offset + n),
      (o.storage.data as Uint16Array).subarray(o.offset, o.offset + n), n);
  }
  return o;
}

/**
 * No autograd: contiguous 16-bit `dtype` tensors of the given shapes, laid one after another in the
 * bytes of the float32 tensor `host`, so that short-lived 16-bit operands borrow a float32 buffer
 * instead of holding 16-bit buffers of their own (the fused LM head writes W's 16-bit copy into the
 * first half of the precomputed dW, whose single product is the last to read it). The views are valid while host is; each counts in memoryStats beside host until
 * its storage is freed, and freeing a view never hands host's buffer back.
 * @throws ValueError when host is not a contiguous float32 tensor with room for all the views.
 */
export function lowpViewsOf(host: Tensor, dtype: LowpDtype, shapes: readonly (readonly number[])[]): Tensor[] {
  if (host.dtype !== 'float32' || !host.isContiguous()) {
    throw new ValueError(`lowpViewsOf: host must be a contiguous float32 tensor, got ${host.dtype}${host.isContiguous() ? '' : ' (not contiguous)'}`);
  }
  const total = shapes.reduce((s, sh) => s + numel(sh), 0);
  if (total > 2 * host.numel()) throw new ValueError(`lowpViewsOf: ${total} ${dtype} elements do not fit in ${host.numel()} float32 elements`);
  const f = host.data() as Float32Array;
  const bits = new Uint16Array(f.buffer, f.byteOffset, 2 * host.numel());
  let start = 0;
  return shapes.map((sh) => {
    const n = numel(sh);
    const t = new Tensor(wrapStorage(dtype, bits.subarray(start, start + n)), [...sh], contiguousStrides(sh), 0, dtype);
    start += n;
    return t;
  });
}

/**
 * Matrix product with PyTorch `matmul` semantics: a [..., m, k] @ b [..., k, n] → [..., m, n], batch
 * dims broadcast; a 1-D operand is treated as a row (a) or column (b) vector and that dim is dropped.
 * Under autocast (src/amp) float32 operands are rounded to its 16-bit dtype and summed in float32;
 * the backward products use the forward's dtype. `lowp` overrides the policy (internal).
 * @throws ShapeError naming both shapes when the inner sizes differ or the batches do not broadcast.
 */
export function matmul(a: Tensor, b: Tensor, lowp?: LowpDtype | null): Tensor {
  if (lowp === undefined) lowp = a.dtype === 'float32' && b.dtype === 'float32' ? lowpFor('matmul') : null;
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError(`matmul: both operands need at least 1 dimension, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (a.ndim === 1) return reshape(matmul(reshape(a, [1, a.shape[0]]), b, lowp), dropDim(b.ndim === 1 ? [1, 1] : [...b.shape.slice(0, -2), 1, b.shape[b.ndim - 1]], -2, b.ndim === 1));
  if (b.ndim === 1) return reshape(matmul(a, reshape(b, [b.shape[0], 1]), lowp), a.shape.slice(0, -1));
  const m = a.shape[a.ndim - 2], k = a.shape[a.ndim - 1];
  const k2 = b.shape[b.ndim - 2], n = b.shape[b.ndim - 1];
  if (k !== k2) throw new ShapeError(`matmul: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} cannot be multiplied (${k} vs ${k2})`);
  const batchShape = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), `matmul ${fmtShape(a.shape)} @ ${fmtShape(b.shape)}`);
  const batch = numel(batchShape);
  const outShape = [...batchShape, m, n];
  const dt = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32';
  const out = empty(outShape, dt);
  if (b.ndim === 2 && a.isContiguous() && batch > 1) {
    // [..., m, k] @ [k, n]: one GEMM over all rows, the shape BLAS is fastest at.
    const B = operand(b, 1);
    gemm(lowp, (a.storage.data as FloatArray).subarray(a.offset), B.data, out.storage.data as FloatArray, 1, batch * m, n, k,
      false, B.trans, 0, 0);
  } else {
    const ae = a.ndim - 2 === batchShape.length && a.shape.slice(0, -2).every((s, i) => s === batchShape[i]) ? a : expand(a, [...batchShape, m, k]);
    const bex = b.ndim - 2 === batchShape.length && b.shape.slice(0, -2).every((s, i) => s === batchShape[i]) ? b : expand(b, [...batchShape, k, n]);
    const A = operand(ae, batch), B = operand(bex, batch);
    gemm(lowp, A.data, B.data, out.storage.data as FloatArray, batch, m, n, k, A.trans, B.trans, A.batchStride, B.batchStride);
  }
  return record('matmul', out, [a, b], (g) => [
    a.requiresGrad ? sumToShape(matmul(g, transpose(b, -1, -2), lowp), a.shape) : null,
    b.requiresGrad ? gradB(a, g, b, lowp) : null,
  ], [a, b]);
}

/**
 * dB = Aᵀ g, summed over broadcast batch dims; a 2-D b against a batched a is one GEMM. A 2-D b that
 * is a transposed view (linear's weightᵀ) gets its gradient as the transposed view of (gᵀ A), so the
 * gradient reaching the weight through the transpose is a whole contiguous buffer that autograd can
 * keep as .grad without a copy.
 */
function gradB(a: Tensor, g: Tensor, b: Tensor, lowp: LowpDtype | null): Tensor {
  const bShape = b.shape;
  if (bShape.length === 2 && bShape[0] > 1 && bShape[1] > 1 && b.strides[0] === 1 && b.strides[1] === bShape[0]) {
    const k = a.shape[a.ndim - 1], n = g.shape[g.ndim - 1];
    const a2 = a.ndim === 2 ? a : reshape(a, [-1, k]), g2 = g.ndim === 2 ? g : reshape(g, [-1, n]);
    return transpose(matmul(transpose(g2, 0, 1), a2, lowp), 0, 1);
  }
  if (bShape.length === 2 && a.ndim > 2) {
    const k = a.shape[a.ndim - 1], n = g.shape[g.ndim - 1];
    return matmul(transpose(reshape(a, [-1, k]), 0, 1), reshape(g, [-1, n]), lowp);
  }
  return sumToShape(matmul(transpose(a, -1, -2), g, lowp), bShape);
}

function dropDim(shape: number[], d: number, both: boolean): number[] {
  const s = [...shape];
  if (both) return [];
  s.splice(s.length + d, 1);
  return s;
}

/**
 * In place, no autograd: out = beta·out + a @ b for 2-D a [m, k] and b [k, n] (row-major or
 * transposed views, read in place) and a contiguous out [m, n] of the same float dtype
 * (torch.addmm(out, a, b, beta=beta, out=out)); beta = 0 ignores out's old contents, even NaN.
 * For loops that accumulate a gradient block by block (the fused LM head). Under autocast (src/amp)
 * a and b are rounded to its 16-bit dtype, out stays float32. An operand made by `toLowp` (bfloat16
 * or float16) makes the product a 16-bit one in that dtype whatever the policy; the other operand is
 * then float32 (rounded) or a `toLowp` tensor of the same dtype, and out is float32.
 * @throws ShapeError for shapes that do not fit or a non-contiguous out; ValueError for 16-bit
 *   operands of two different dtypes or with a float64 operand or out.
 */
export function addmmInPlace(out: Tensor, a: Tensor, b: Tensor, beta = 1): Tensor {
  if (a.ndim !== 2 || b.ndim !== 2 || out.ndim !== 2 || a.shape[1] !== b.shape[0] || out.shape[0] !== a.shape[0] || out.shape[1] !== b.shape[1]) {
    throw new ShapeError(`addmmInPlace: out ${fmtShape(out.shape)} = a ${fmtShape(a.shape)} @ b ${fmtShape(b.shape)} does not fit`);
  }
  if (!out.isContiguous()) throw new ShapeError('addmmInPlace: out must be contiguous');
  const [m, k] = a.shape, n = b.shape[1];
  const is16 = (t: Tensor): boolean => t.dtype === 'bfloat16' || t.dtype === 'float16';
  let lowp: LowpDtype | null;
  if (is16(a) || is16(b)) {
    const d16 = (is16(a) ? a.dtype : b.dtype) as LowpDtype;
    const other = is16(a) ? b : a;
    if ((is16(other) && other.dtype !== d16) || (!is16(other) && other.dtype !== 'float32') || out.dtype !== 'float32') {
      throw new ValueError(`addmmInPlace: a 16-bit operand (${d16}) needs the other operand float32 or ${d16} and out float32, got a ${a.dtype}, b ${b.dtype}, out ${out.dtype}`);
    }
    lowp = d16;
  } else {
    lowp = a.dtype === 'float32' && b.dtype === 'float32' && out.dtype === 'float32' ? lowpFor('matmul') : null;
  }
  const A = operand(a, 1), B = operand(b, 1);
  gemm(lowp, A.data, B.data, (out.storage.data as FloatArray).subarray(out.offset), 1, m, n, k, A.trans, B.trans, 0, 0, beta);
  return out;
}
