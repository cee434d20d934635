// Self-attention straight from GPT-2's packed projection: qkv [B, T, 3C] in, heads merged [B, T, C]
// out. Under bfloat16 autocast the kernels read q, k, v from the packed rows and write y, read dy and
// write the packed gradient in place (attentionLowpPacked): no head split or merge copies. float32,
// float64 and float16 split the heads with one strided copy each way (instead of three views made
// contiguous one by one and, in backward, three zero-filled [B, T, 3C] narrow gradients summed).
// Same values as the composed path (narrow/permute views → scaledDotProductAttention → transpose/reshape).
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

/** {@link AttentionOptions}, and for packedSelfAttention: */
export interface PackedAttentionOptions extends AttentionOptions {
  /**
   * Under bfloat16 autocast, return y as bfloat16 (the float32 values rounded to nearest even, as
   * PyTorch's autocast returns attention's output), for a consumer that takes bf16 (a linear layer).
   * Its gradient may come back float32 (rounded to bf16 first) or bfloat16. Ignored otherwise.
   */
  lowpOutput?: boolean;
}

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
 * also under autocast, where q, k, v are rounded to 16 bits once and kept that way for backward
 * (bfloat16: qkv rounded whole, [B, T, 3C]; float16: q scaled first, the heads split). float32
 * (float64 runs the js reference kernels, for gradient checks); under bfloat16 autocast qkv may be
 * bfloat16 already (linear's lowpOutput); y is float32, or bfloat16 with `opts.lowpOutput`, when
 * qkv's gradient is bfloat16 for a bfloat16 qkv (float32, the bf16 values widened, for a float32 one).
 * @throws ShapeError when qkv is not [B, T, 3·C] with C divisible by numHeads; ValueError as
 *   scaledDotProductAttention for masks, window and RoPE.
 */
export function packedSelfAttention(qkv: Tensor, numHeads: number, opts: PackedAttentionOptions = {}): Tensor {
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
  if (lowp === 'bfloat16') return packedBf16(qkv, bits, !!opts.lowpOutput, B, Tn, H, D, scale, causal, x);
  const src = contiguous(qkv);
  const planes = [3, B, H, Tn, D], pStrides = planeStrides(Tn, H, D);
  // float16 scales q before rounding (and the kernel by 1); bfloat16 has float32's range and scales in the kernel.
  const pre = lowp === 'float16' ? scale : 1;
  // The q, k, v planes [3, B·H, T, D] the kernels read (16-bit under float16 autocast; float32 otherwise).
  let kept = empty(planes, qkv.dtype);
  be.copyStrided(src.storage.data, src.offset, planes, pStrides, kept.storage.data);
  if (lowp) {
    const sd = kept.storage.data as Float32Array;
    be.unary('mulScalar', sd, sd, n, pre);
    const split = kept;
    kept = empty(planes, lowp);
    be.castToLowp(lowp, sd, kept.storage.data as Uint16Array, 3 * n);
    split.storage.free();
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
      be.unary('mulScalar', part(d, 0), part(d, 0), n, pre); // d(q·pre)/dq
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

/**
 * The bfloat16 path: the kernels read q, k, v straight from the packed rows (bfloat16 qkv as it is;
 * float32 qkv rounded to bfloat16 in one contiguous pass) and write y [B, T, C] and, in backward, read
 * its gradient there and write the packed gradient [B, T, 3C]: no head split or merge copies.
 * out16 (lowpOutput): y is bfloat16, and so are dy (a float32 dy is rounded first) and dqkv as the
 * kernel writes them (PyTorch: the gradient of a bf16 tensor is bf16; a float32 qkv gets it widened,
 * as autocast's cast of qkv to bf16 hands its gradient back).
 */
function packedBf16(qkv: Tensor, bits: boolean, out16: boolean, B: number, Tn: number, H: number, D: number, scale: number,
  causal: boolean, x: ReturnType<typeof attentionExtras>): Tensor {
  const be = getBackend();
  const C = H * D, n = B * Tn * C;
  let kept: Tensor; // [B, T, 3C] bfloat16
  if (bits) {
    kept = contiguous(qkv);
  } else {
    const src = contiguous(qkv);
    kept = empty(qkv.shape, 'bfloat16');
    be.castToLowp('bfloat16', (src.storage.data as Float32Array).subarray(src.offset, src.offset + 3 * n), kept.storage.data as Uint16Array, 3 * n);
  }
  const kd = (kept.storage.data as Uint16Array).subarray(kept.offset, kept.offset + 3 * n);
  const y = empty([B, Tn, C], out16 ? 'bfloat16' : 'float32');
  const lse = empty([B * H, Tn], 'float32');
  const ld = lse.storage.data as Float32Array;
  if (out16) be.attentionLowpPacked16('bfloat16', kd, y.storage.data as Uint16Array, ld, x.keyPad, x.cos, x.sin, B, Tn, H, D, scale, causal, x.window);
  else be.attentionLowpPacked('bfloat16', kd, y.storage.data as Float32Array, ld, x.keyPad, x.cos, x.sin, B, Tn, H, D, scale, causal, x.window);
  return record('packedSelfAttention', y, [qkv], (gy) => {
    const gc = contiguous(gy);
    if (!out16) {
      const dqkv = empty([B, Tn, 3 * C], 'float32');
      be.attentionLowpPackedBackward('bfloat16', kd, y.storage.data as Float32Array, ld, (gc.storage.data as Float32Array).subarray(gc.offset, gc.offset + n),
        dqkv.storage.data as Float32Array, x.keyPad, x.cos, x.sin, B, Tn, H, D, scale, causal, x.window);
      return [dqkv];
    }
    let g16: Tensor = gc;
    if (gc.dtype !== 'bfloat16') {
      g16 = empty(gc.shape, 'bfloat16');
      be.castToLowp('bfloat16', (gc.storage.data as Float32Array).subarray(gc.offset, gc.offset + n), g16.storage.data as Uint16Array, n);
    }
    const d16 = empty([B, Tn, 3 * C], 'bfloat16');
    be.attentionLowpPacked16Backward('bfloat16', kd, y.storage.data as Uint16Array, ld, (g16.storage.data as Uint16Array).subarray(g16.offset, g16.offset + n),
      d16.storage.data as Uint16Array, x.keyPad, x.cos, x.sin, B, Tn, H, D, scale, causal, x.window);
    if (g16 !== gc) g16.storage.free();
    if (bits) return [d16];
    const dqkv = empty([B, Tn, 3 * C], 'float32');
    be.castFromLowp('bfloat16', d16.storage.data as Uint16Array, dqkv.storage.data as Float32Array, 3 * n);
    d16.storage.free();
    return [dqkv];
  }, [kept, y, lse, ...x.tensors]); // backward reads y (delta = Σ dy·y), as softmax reads its output
}
