// Self-attention straight from GPT-2's packed projection: qkv [B, T, 3C] in, heads merged [B, T, C]
// out, so the q/k/v head split and the head merge are one strided copy each way instead of three
// views made contiguous one by one (forward) and, in backward, three zero-filled [B, T, 3C] narrow
// gradients summed into the projection's gradient. Same values as the composed path
// (narrow/permute views → scaledDotProductAttention → transpose/reshape).
import { ShapeError, fmtShape } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import { jsBackend } from '../../backend/js/index.js';
import { record } from '../autograd.js';
import { lowpFor } from '../precision.js';
import { empty, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { type AttentionOptions, attentionExtras } from './attention.js';
import { contiguous } from './views.js';

registerOp('attention', ['packedSelfAttention']);

/** The strides of the [3, B, H, T, D] view of a contiguous [B, T, 3, H, D] buffer (q, k, v planes of heads). */
function planeStrides(T: number, H: number, D: number): number[] {
  const C = H * D;
  return [C, T * 3 * C, D, 3 * C, 1];
}

/**
 * softmax(q kᵀ · scale + masks) v for every head of a packed projection (GPT-2's `c_attn` output):
 * qkv [B, T, 3·C] with q, k, v in channels [0, C), [C, 2C), [2C, 3C) and head h in channels
 * [h·D, (h+1)·D) of each (C = numHeads·D) → y [B, T, C], the heads merged back in that order.
 * Options as {@link scaledDotProductAttention} (keys are the T positions, so RoPE tables are [T, D/2]),
 * also under autocast, where q, k, v are rounded to 16 bits in the same pass that splits the heads
 * and kept that way for backward. float32 (float64 runs the js reference kernels, for gradient checks);
 * under bfloat16 autocast qkv may be bfloat16 already (linear's lowpOutput), y and its gradient float32.
 * @throws ShapeError when qkv is not [B, T, 3·C] with C divisible by numHeads; ValueError as
 *   scaledDotProductAttention for masks, window and RoPE.
 */
export function packedSelfAttention(qkv: Tensor, numHeads: number, opts: AttentionOptions = {}): Tensor {
  const H = numHeads;
  const bits = qkv.dtype === 'bfloat16' && lowpFor('attention') === 'bfloat16';
  if (qkv.ndim !== 3 || !Number.isInteger(H) || H <= 0 || qkv.shape[2] % (3 * H) !== 0 || (qkv.dtype !== 'float32' && qkv.dtype !== 'float64' && !bits)) {
    throw new ShapeError(`packedSelfAttention: qkv must be a float [B, T, 3·C] tensor (bfloat16 only under bfloat16 autocast) with C divisible by numHeads ${H}, got ${qkv.dtype} ${fmtShape(qkv.shape)}`);
  }
  const [B, Tn, C3] = qkv.shape;
  const C = C3 / 3, D = C / H, bh = B * H, n = bh * Tn * D;
  const f64 = qkv.dtype === 'float64';
  const dt = f64 ? 'float64' : 'float32'; // of the output and the gradient (also for bfloat16 qkv)
  const causal = opts.causal ?? false;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const x = attentionExtras(qkv, Tn, Tn, D, bh, opts, f64);
  const lowp = f64 ? null : lowpFor('attention');
  const be = f64 ? jsBackend : getBackend();
  const src = contiguous(qkv);
  const planes = [3, B, H, Tn, D], pStrides = planeStrides(Tn, H, D);
  // float16 scales q before rounding (and the kernel by 1); bfloat16 has float32's range and scales in the kernel.
  const pre = lowp === 'float16' ? scale : 1;
  // The q, k, v planes [3, B·H, T, D] the kernels read (16-bit under autocast; float32 otherwise).
  let kept: Tensor;
  if (bits) {
    // Already rounded (linear's lowpOutput): the heads gathered as 16-bit values.
    kept = empty(planes, 'bfloat16');
    be.copyStrided(src.storage.data, src.offset, planes, pStrides, kept.storage.data);
  } else if (lowp && pre === 1) {
    // Gathered and rounded in one pass.
    kept = empty(planes, lowp);
    be.splitHeadsLowp(lowp, (src.storage.data as Float32Array).subarray(src.offset), kept.storage.data as Uint16Array, B, Tn, H, D);
  } else {
    kept = empty(planes, qkv.dtype);
    be.copyStrided(src.storage.data, src.offset, planes, pStrides, kept.storage.data);
    if (lowp) {
      const sd = kept.storage.data as Float32Array;
      be.unary('mulScalar', sd, sd, n, pre);
      const split = kept;
      kept = empty(planes, lowp);
      be.castToLowp(lowp, sd, kept.storage.data as Uint16Array, 3 * n);
      split.storage.free();
    }
  }
  // Plane i (q, k, v) of a [3, B, H, T, D] buffer.
  const part = (t: Tensor, i: number): Float32Array => (t.storage.data as Float32Array).subarray(i * n, (i + 1) * n);
  const part16 = (t: Tensor, i: number): Uint16Array => (t.storage.data as Uint16Array).subarray(i * n, (i + 1) * n);
  const out = empty([B, H, Tn, D], dt);
  const lse = empty([bh, Tn], dt);
  const od = out.storage.data as Float32Array, ld = lse.storage.data as Float32Array;
  const kScale = scale / pre;
  if (lowp) be.attentionLowp(lowp, part16(kept, 0), part16(kept, 1), part16(kept, 2), od, ld, x.keyPad, x.cos, x.sin, bh, Tn, Tn, D, x.heads, kScale, causal, x.window);
  else be.attention(part(kept, 0), part(kept, 1), part(kept, 2), od, ld, x.keyPad, x.cos, x.sin, bh, Tn, Tn, D, x.heads, scale, causal, x.window);
  // [B, H, T, D] → [B, T, H, D] = [B, T, C].
  const y = empty([B, Tn, C], dt);
  be.copyStrided(od, 0, [B, Tn, H, D], [H * Tn * D, D, Tn * D, 1], y.storage.data);
  return record('packedSelfAttention', y, [qkv], (gy) => {
    const gc = contiguous(gy);
    // dy [B, T, H, D] → [B, H, T, D], the layout of the kernel's output.
    const g = empty([B, H, Tn, D], dt);
    be.copyStrided(gc.storage.data, gc.offset, [B, H, Tn, D], [Tn * C, D, C, 1], g.storage.data);
    const d = empty(planes, dt);
    const gd = g.storage.data as Float32Array;
    if (lowp) {
      be.attentionLowpBackward(lowp, part16(kept, 0), part16(kept, 1), part16(kept, 2), od, ld, gd, part(d, 0), part(d, 1), part(d, 2),
        x.keyPad, x.cos, x.sin, bh, Tn, Tn, D, x.heads, kScale, causal, x.window);
      if (pre !== 1) be.unary('mulScalar', part(d, 0), part(d, 0), n, pre); // d(q·pre)/dq
    } else {
      be.attentionBackward(part(kept, 0), part(kept, 1), part(kept, 2), od, ld, gd, part(d, 0), part(d, 1), part(d, 2),
        x.keyPad, x.cos, x.sin, bh, Tn, Tn, D, x.heads, scale, causal, x.window);
    }
    g.storage.free();
    // The planes [3, B, H, T, D] back to the packed layout [B, T, 3, H, D].
    const dqkv = empty([B, Tn, C3], dt);
    be.copyStrided(d.storage.data, 0, [B, Tn, 3, H, D], [H * Tn * D, D, bh * Tn * D, Tn * D, 1], dqkv.storage.data);
    d.storage.free();
    return [dqkv];
  }, [kept, out, lse, ...x.tensors]);
}
