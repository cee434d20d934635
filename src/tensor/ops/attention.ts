// Fused scaled dot-product attention (Vaswani et al. 2017), causal or full, forward and backward in
// backend kernels that keep only the output and the row log-sum-exp (flash-attention style memory).
import { ShapeError, fmtShape } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import { jsBackend } from '../../backend/js/index.js';
import { record } from '../autograd.js';
import { empty, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { contiguous } from './views.js';

registerOp('attention', ['scaledDotProductAttention']);

/**
 * softmax(q kᵀ · scale [+ causal mask]) v per head. q [..., T, D], k and v [..., S, D] with equal
 * leading dims; returns [..., T, D]. `scale` defaults to 1/√D. With `causal`, query i attends to
 * keys j ≤ i + (S - T). float64 inputs run the float64 js reference kernels (for gradient checks).
 * @throws ShapeError when the shapes disagree.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: { causal?: boolean; scale?: number } = {}): Tensor {
  const nd = q.ndim;
  if (nd < 2 || k.ndim !== nd || v.ndim !== nd || k.shape.some((s, i) => s !== v.shape[i])
    || q.shape.slice(0, -2).some((s, i) => s !== k.shape[i]) || q.shape[nd - 1] !== k.shape[nd - 1]) {
    throw new ShapeError(`scaledDotProductAttention: q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)} do not fit ([..., T, D], [..., S, D], [..., S, D])`);
  }
  const T = q.shape[nd - 2], S = k.shape[nd - 2], D = q.shape[nd - 1];
  const bh = T === 0 ? 0 : q.numel() / (T * D);
  const causal = opts.causal ?? false;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const f64 = q.dtype === 'float64';
  // float64 (gradient checks) runs the float64-capable js kernels; float32 the current backend.
  const be = f64 ? jsBackend : getBackend();
  const as = (t: Tensor): Float32Array => contiguous(t).data() as Float32Array;
  const qd = as(q), kd = as(k), vd = as(v);
  const out = empty(q.shape, q.dtype);
  const lse = empty([bh, T], q.dtype);
  be.attention(qd, kd, vd, out.storage.data as Float32Array, lse.storage.data as Float32Array, bh, T, S, D, scale, causal);
  return record('scaledDotProductAttention', out, [q, k, v], (g) => {
    const dq = empty(q.shape, q.dtype), dk = empty(k.shape, q.dtype), dv = empty(v.shape, q.dtype);
    be.attentionBackward(qd, kd, vd, out.storage.data as Float32Array, lse.storage.data as Float32Array, as(g),
      dq.storage.data as Float32Array, dk.storage.data as Float32Array, dv.storage.data as Float32Array, bh, T, S, D, scale, causal);
    return [dq, dk, dv];
  });
}
