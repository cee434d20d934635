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

/** The 16-bit path of scaledDotProductAttention (see there): rounded operands, float32 kernels. */
function attentionLowp(q: Tensor, k: Tensor, v: Tensor, lowp: LowpDtype, bh: number, T: number, S: number, D: number,
  scale: number, causal: boolean): Tensor {
  const be = getBackend();
  // float16 scales q before rounding (and the kernel by 1); bfloat16 has float32's range and scales in the kernel.
  const pre = lowp === 'float16' ? scale : 1;
  const bits = (t: Tensor, mul: number): Tensor => {
    let x = contiguous(t).data() as Float32Array;
    if (mul !== 1) {
      const y = new Float32Array(x.length);
      be.unary('mulScalar', x, y, x.length, mul);
      x = y;
    }
    const b = empty(t.shape, lowp);
    be.castToLowp(lowp, x, b.storage.data as Uint16Array, x.length);
    return b;
  };
  const values = (b: Tensor): Float32Array => {
    const x = empty(b.shape, 'float32');
    be.castFromLowp(lowp, b.storage.data as Uint16Array, x.storage.data as Float32Array, b.numel());
    return x.storage.data as Float32Array;
  };
  const q16 = bits(q, pre), k16 = bits(k, 1), v16 = bits(v, 1);
  const out = empty(q.shape, 'float32');
  const lse = empty([bh, T], 'float32');
  const kScale = scale / pre;
  be.attention(values(q16), values(k16), values(v16), out.storage.data as Float32Array, lse.storage.data as Float32Array,
    bh, T, S, D, kScale, causal);
  return record('scaledDotProductAttention', out, [q, k, v], (g) => {
    const dq = empty(q.shape, 'float32'), dk = empty(k.shape, 'float32'), dv = empty(v.shape, 'float32');
    const dqd = dq.storage.data as Float32Array;
    be.attentionBackward(values(q16), values(k16), values(v16), out.storage.data as Float32Array, lse.storage.data as Float32Array,
      contiguous(g).data() as Float32Array, dqd, dk.storage.data as Float32Array, dv.storage.data as Float32Array,
      bh, T, S, D, kScale, causal);
    if (pre !== 1) be.unary('mulScalar', dqd, dqd, dqd.length, pre); // d(q·pre)/dq
    return [dq, dk, dv];
  });
}
