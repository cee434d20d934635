// Fused scaled dot-product attention (Vaswani et al. 2017) with causal, key-padding and sliding-window
// masks and RoPE inside the kernel: forward and backward keep only the output and the row
// log-sum-exp (flash-attention style memory, linear in the sequence length).
import { ShapeError, ValueError, fmtShape } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import { jsBackend } from '../../backend/js/index.js';
import { record } from '../autograd.js';
import { lowpFor, type LowpDtype } from '../precision.js';
import { empty, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { contiguous } from './views.js';

registerOp('attention', ['scaledDotProductAttention']);

/** Masks and position handling of {@link scaledDotProductAttention}. */
export interface AttentionOptions {
  /** Query i sees keys j ≤ i + (S - T) only. Default false. */
  causal?: boolean;
  /** Score scale, default 1/√D. */
  scale?: number;
  /**
   * [B, S] with B = q's first dim (PyTorch's `key_padding_mask`): non-zero = the key is ignored by
   * every query and head of that batch row. Any dtype; never expanded to [B, H, T, S].
   */
  keyPaddingMask?: Tensor | null;
  /**
   * Sliding window (Mistral): query i sees only keys j > i + (S - T) - window, i.e. with `causal` the
   * last `window` positions up to and including its own. Key tiles outside the window are skipped.
   * 0 or undefined = no window.
   */
  window?: number;
  /**
   * Rotary position embedding applied inside the kernel (rotate-half layout, as RotaryEmbedding):
   * cos / sin tables [S, D/2] (D even, S ≥ T); key j is rotated by row j, query i by row i + S - T.
   * Gradients flow to the unrotated q and k; no rotated copy is kept.
   */
  rope?: { cos: Tensor; sin: Tensor } | null;
}

/** A contiguous typed array of t's values in the given float dtype (a copy only when needed). */
function floatsOf(t: Tensor, f64: boolean): Float32Array | Float64Array {
  const d = contiguous(t).data();
  if (f64 ? d instanceof Float64Array : d instanceof Float32Array) return d as Float32Array | Float64Array;
  return f64 ? Float64Array.from(d as ArrayLike<number>) : Float32Array.from(d as ArrayLike<number>);
}

/** Extra kernel arguments: key padding, RoPE tables, heads per batch row, window. */
export interface Extras {
  keyPad: Float32Array | null; cos: Float32Array | null; sin: Float32Array | null; heads: number; window: number;
  /** The tensors those arrays were read from (backward reads them too). */
  tensors: (Tensor | null | undefined)[];
}

/**
 * Validates the masks and RoPE options against q [..., T, D] (its first dim is B), k [..., S, D],
 * and returns the kernels' extra arguments (internal: the attention ops share it).
 */
export function attentionExtras(q: Tensor, T: number, S: number, D: number, bh: number, opts: AttentionOptions, f64: boolean): Extras {
  const w = opts.window ?? 0;
  if (!Number.isInteger(w) || w < 0) throw new ValueError(`scaledDotProductAttention: window must be an integer >= 0 (0 = none), got ${w}`);
  let keyPad: Float32Array | null = null, heads = 1;
  const m = opts.keyPaddingMask;
  if (m) {
    const B = q.shape[0];
    if (q.ndim < 3 || m.ndim !== 2 || m.shape[0] !== B || m.shape[1] !== S) {
      throw new ShapeError(`scaledDotProductAttention: keyPaddingMask must be [B, S] = [${q.ndim < 3 ? '?' : B}, ${S}] for q ${fmtShape(q.shape)}, got ${fmtShape(m.shape)}`);
    }
    heads = B === 0 ? 1 : bh / B;
    keyPad = floatsOf(m, f64) as Float32Array;
  }
  let cos: Float32Array | null = null, sin: Float32Array | null = null;
  if (opts.rope) {
    const { cos: c, sin: s } = opts.rope;
    if (D % 2 !== 0 || S < T) throw new ValueError(`scaledDotProductAttention: rope needs an even head size and S >= T, got D = ${D}, T = ${T}, S = ${S}`);
    for (const [name, x] of [['cos', c], ['sin', s]] as const) {
      if (x.ndim !== 2 || x.shape[0] !== S || x.shape[1] !== D / 2) {
        throw new ShapeError(`scaledDotProductAttention: rope.${name} must be [S, D/2] = [${S}, ${D / 2}], got ${fmtShape(x.shape)}`);
      }
    }
    cos = floatsOf(c, f64) as Float32Array;
    sin = floatsOf(s, f64) as Float32Array;
  }
  return { keyPad, cos, sin, heads, window: w, tensors: [m, opts.rope?.cos, opts.rope?.sin] };
}

/**
 * softmax(q kᵀ · scale + masks) v per head. q [..., T, D], k and v [..., S, D] with equal leading
 * dims; returns [..., T, D]. Masks (causal, key padding, sliding window) and RoPE are applied inside
 * the kernel, tile by tile (see {@link AttentionOptions}): memory is linear in T and S, nothing of
 * size [T, S] is allocated. A query that sees no key (all its keys padded, or causal with S < T)
 * gets output 0 and no gradient. float64 inputs run the float64 js reference kernels (for gradient
 * checks). Under autocast (src/amp) q, k and v are rounded to its 16-bit dtype (float16: q is scaled
 * first, so q·k cannot overflow where the scaled scores fit) and kept in 16 bits for backward;
 * scores, softmax and sums stay float32, so masked keys stay masked and rows stay finite.
 * @throws ShapeError when the shapes disagree; ValueError for a bad window or RoPE without even D / S ≥ T.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
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
  const x = attentionExtras(q, T, S, D, bh, opts, f64);
  const lowp = q.dtype === 'float32' && k.dtype === 'float32' && v.dtype === 'float32' ? lowpFor('attention') : null;
  if (lowp) return attentionLowp(q, k, v, lowp, bh, T, S, D, scale, causal, x);
  // float64 (gradient checks) runs the float64-capable js kernels; float32 the current backend.
  const be = f64 ? jsBackend : getBackend();
  const as = (t: Tensor): Float32Array => contiguous(t).data() as Float32Array;
  const qc = contiguous(q), kc = contiguous(k), vc = contiguous(v);
  const qd = qc.data() as Float32Array, kd = kc.data() as Float32Array, vd = vc.data() as Float32Array;
  const out = empty(q.shape, q.dtype);
  const lse = empty([bh, T], q.dtype);
  be.attention(qd, kd, vd, out.storage.data as Float32Array, lse.storage.data as Float32Array, x.keyPad, x.cos, x.sin,
    bh, T, S, D, x.heads, scale, causal, x.window);
  return record('scaledDotProductAttention', out, [q, k, v], (g) => {
    const dq = empty(q.shape, q.dtype), dk = empty(k.shape, q.dtype), dv = empty(v.shape, q.dtype);
    be.attentionBackward(qd, kd, vd, out.storage.data as Float32Array, lse.storage.data as Float32Array, as(g),
      dq.storage.data as Float32Array, dk.storage.data as Float32Array, dv.storage.data as Float32Array,
      x.keyPad, x.cos, x.sin, bh, T, S, D, x.heads, scale, causal, x.window);
    return [dq, dk, dv];
  }, [qc, kc, vc, out, lse, ...x.tensors]);
}

/**
 * The 16-bit path of scaledDotProductAttention (see there): q, k, v rounded to 16 bits once and handed
 * to the kernel as bit patterns (the native backend multiplies bf16 on AMX tiles where it can, else
 * widens them and runs the float32 kernel). Only the 16-bit q, k, v stay allocated until backward.
 */
function attentionLowp(q: Tensor, k: Tensor, v: Tensor, lowp: LowpDtype, bh: number, T: number, S: number, D: number,
  scale: number, causal: boolean, x: Extras): Tensor {
  const be = getBackend();
  // float16 scales q before rounding (and the kernel by 1); bfloat16 has float32's range and scales in the kernel.
  const pre = lowp === 'float16' ? scale : 1;
  /** 16-bit bits of t·mul (float32 temporaries go back to the pool at once). */
  const bitsOf = (t: Tensor, mul: number): Tensor => {
    const copy = t.isContiguous() ? null : contiguous(t); // a fresh buffer of our own when t is a view
    const src = (copy ?? t).data() as Float32Array;
    const n = t.numel();
    const bits = empty(t.shape, lowp);
    if (mul !== 1) {
      const scaled = copy ?? empty(t.shape, 'float32');
      be.unary('mulScalar', src, scaled.data() as Float32Array, n, mul);
      be.castToLowp(lowp, scaled.data() as Float32Array, bits.storage.data as Uint16Array, n);
      if (scaled !== copy) scaled.storage.free();
    } else {
      be.castToLowp(lowp, src, bits.storage.data as Uint16Array, n);
    }
    copy?.storage.free();
    return bits;
  };
  const f32 = (t: Tensor): Float32Array => t.storage.data as Float32Array;
  const u16 = (t: Tensor): Uint16Array => t.storage.data as Uint16Array;
  // float16 rounds q·scale: the rotation commutes with the scale, so RoPE in the kernel is unaffected.
  const q16 = bitsOf(q, pre), k16 = bitsOf(k, 1), v16 = bitsOf(v, 1);
  const out = empty(q.shape, 'float32');
  const lse = empty([bh, T], 'float32');
  const kScale = scale / pre;
  be.attentionLowp(lowp, u16(q16), u16(k16), u16(v16), f32(out), f32(lse), x.keyPad, x.cos, x.sin, bh, T, S, D, x.heads, kScale, causal, x.window);
  return record('scaledDotProductAttention', out, [q, k, v], (g) => {
    const dq = empty(q.shape, 'float32'), dk = empty(k.shape, 'float32'), dv = empty(v.shape, 'float32');
    be.attentionLowpBackward(lowp, u16(q16), u16(k16), u16(v16), f32(out), f32(lse), contiguous(g).data() as Float32Array,
      f32(dq), f32(dk), f32(dv), x.keyPad, x.cos, x.sin, bh, T, S, D, x.heads, kScale, causal, x.window);
    if (pre !== 1) be.unary('mulScalar', f32(dq), f32(dq), dq.numel(), pre); // d(q·pre)/dq
    return [dq, dk, dv];
  }, [q16, k16, v16, out, lse, ...x.tensors]);
}
