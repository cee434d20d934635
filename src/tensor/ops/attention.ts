// Fused scaled dot-product attention (Vaswani et al. 2017), causal or full, forward and backward in
// backend kernels that keep only the output and the row log-sum-exp (flash-attention style memory).
import { ShapeError, fmtShape } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import { jsBackend } from '../../backend/js/index.js';
import { record } from '../autograd.js';
import { lowpFor, type LowpDtype } from '../precision.js';
import { empty, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { contiguous } from './views.js';

registerOp('attention', ['scaledDotProductAttention']);

/**
 * softmax(q kᵀ · scale [+ causal mask]) v per head. q [..., T, D], k and v [..., S, D] with equal
 * leading dims; returns [..., T, D]. `scale` defaults to 1/√D. With `causal`, query i attends to
 * keys j ≤ i + (S - T). float64 inputs run the float64 js reference kernels (for gradient checks).
 * Under autocast (src/amp) q, k and v are rounded to its 16-bit dtype (float16: q is scaled first, so
 * q·k cannot overflow where the scaled scores fit) and kept in 16 bits for backward; scores,
 * softmax and sums stay float32, so masked keys stay masked and rows stay finite.
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
  const lowp = q.dtype === 'float32' && k.dtype === 'float32' && v.dtype === 'float32' ? lowpFor('attention') : null;
  if (lowp) return attentionLowp(q, k, v, lowp, bh, T, S, D, scale, causal);
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

/**
 * The 16-bit path of scaledDotProductAttention (see there): rounded operands, float32 kernels. Only
 * the 16-bit q, k, v stay allocated until backward; the float32 buffers the kernels read are this
 * function's own and go back to the pool as soon as a kernel is done with them.
 */
function attentionLowp(q: Tensor, k: Tensor, v: Tensor, lowp: LowpDtype, bh: number, T: number, S: number, D: number,
  scale: number, causal: boolean): Tensor {
  const be = getBackend();
  // float16 scales q before rounding (and the kernel by 1); bfloat16 has float32's range and scales in the kernel.
  const pre = lowp === 'float16' ? scale : 1;
  /** 16-bit bits of t·mul, and an owned float32 tensor holding their values. */
  const prep = (t: Tensor, mul: number): { bits: Tensor; vals: Tensor } => {
    const copy = t.isContiguous() ? null : contiguous(t); // a fresh buffer of our own when t is a view
    const src = (copy ?? t).data() as Float32Array;
    const vals = copy ?? empty(t.shape, 'float32');
    const vd = vals.data() as Float32Array;
    const n = vd.length;
    if (mul !== 1) be.unary('mulScalar', src, vd, n, mul);
    const bits = empty(t.shape, lowp);
    be.castToLowp(lowp, mul !== 1 ? vd : src, bits.storage.data as Uint16Array, n);
    be.castFromLowp(lowp, bits.storage.data as Uint16Array, vd, n);
    return { bits, vals };
  };
  const values = (b: Tensor): Tensor => {
    const x = empty(b.shape, 'float32');
    be.castFromLowp(lowp, b.storage.data as Uint16Array, x.storage.data as Float32Array, b.numel());
    return x;
  };
  const f32 = (t: Tensor): Float32Array => t.storage.data as Float32Array;
  const Q = prep(q, pre), K = prep(k, 1), V = prep(v, 1);
  const out = empty(q.shape, 'float32');
  const lse = empty([bh, T], 'float32');
  const kScale = scale / pre;
  be.attention(f32(Q.vals), f32(K.vals), f32(V.vals), f32(out), f32(lse), bh, T, S, D, kScale, causal);
  for (const x of [Q, K, V]) x.vals.storage.free();
  const q16 = Q.bits, k16 = K.bits, v16 = V.bits;
  return record('scaledDotProductAttention', out, [q, k, v], (g) => {
    const dq = empty(q.shape, 'float32'), dk = empty(k.shape, 'float32'), dv = empty(v.shape, 'float32');
    const qv = values(q16), kv = values(k16), vv = values(v16);
    be.attentionBackward(f32(qv), f32(kv), f32(vv), f32(out), f32(lse), contiguous(g).data() as Float32Array,
      f32(dq), f32(dk), f32(dv), bh, T, S, D, kScale, causal);
    for (const x of [qv, kv, vv]) x.storage.free();
    if (pre !== 1) be.unary('mulScalar', f32(dq), f32(dq), dq.numel(), pre); // d(q·pre)/dq
    return [dq, dk, dv];
  });
}
