/**
 * Multi-head attention (Vaswani et al. 2017, §3.2) with GPT-2's packed projection: self-attention
 * projects x [B, T, C] with `c_attn` (weight [3C, C]: rows [0, C) q, [C, 2C) k, [2C, 3C) v, head h
 * using channels [h·D, (h+1)·D) of each) and mixes heads back with `c_proj` [C, C]. Cross-attention
 * (as Hugging Face's GPT-2 cross-attention) projects queries with `q_attn` [C, C] and keys/values from
 * `memory` [B, S, Ckv] with `c_attn` [2C, Ckv].
 *
 * Two paths give the same values: the fused `scaledDotProductAttention` kernel, which applies the
 * causal, key-padding and sliding-window masks and RoPE tile by tile (memory linear in T, no
 * [B, H, T, S] scores), and a composed path (matmul, maskedFill, softmax, matmul) when an explicit
 * `attnMask` is given, attention dropout is active in training, or the weights are requested.
 * The composed path fills masked scores with the lowest finite float32 (not -inf), so a query whose
 * keys are all masked attends uniformly there; the kernel gives such a query output 0. Either way
 * the value stays finite, and only padded positions can be such queries.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { RotaryEmbedding, type RotaryOptions } from './positional.js';

/** Lowest finite float32: the fill value for masked scores. */
export const MASK_FILL = -3.4028234663852886e38;

/** Construction options of {@link MultiHeadAttention}. */
export interface MultiHeadAttentionOptions {
  /** C, the model width (queries and output). */
  embedDim: number;
  /** H; C must be divisible by H (head size D = C / H). */
  numHeads: number;
  /** Biases on the projections (default true). */
  bias?: boolean;
  /** Dropout probability on the attention probabilities in training (default 0). */
  dropout?: number;
  /** Query i sees keys j ≤ i + (S - T) only (decoder self-attention). Default false. */
  causal?: boolean;
  /** Keys and values come from `memory` (cross-attention). Default false. */
  crossAttention?: boolean;
  /** Width of `memory` for cross-attention (default embedDim). */
  kvDim?: number;
  /**
   * Rotary position embedding on q and k (self-attention only): `{ base, scaling }` set θ's base
   * (HF `rope_theta`, default 10000) and linear position interpolation (HF `rope_scaling`).
   */
  rope?: boolean | RotaryOptions;
  /**
   * Sliding-window attention (Mistral's `sliding_window`): query i sees keys j with
   * i + (S - T) - window < j (and j ≤ i + (S - T) when causal). Default none.
   */
  window?: number | null;
  /** Score scale (default 1/√D). */
  scale?: number;
  /** Generator of the attention dropout (models pass their own seeded one). */
  generator?: T.Generator;
}

/** Per-call options of {@link MultiHeadAttention.forward}. */
export interface AttentionCallOptions {
  /** [B, S, Ckv]: keys and values for cross-attention (required there, not allowed otherwise). */
  memory?: T.Tensor;
  /**
   * [B, S], PyTorch convention: non-zero = padding, the key is ignored. (Models take Hugging Face's
   * `attentionMask`, 1 = real token, and convert.)
   */
  keyPaddingMask?: T.Tensor | null;
  /** Extra mask [T, S] or broadcastable to [B, H, T, S]; non-zero = masked. */
  attnMask?: T.Tensor | null;
  /** Overrides the module's `causal`. */
  causal?: boolean;
  /** Position of the first query (RoPE), default 0. */
  positionOffset?: number;
  /**
   * Self-attention key/value cache for incremental decoding: the new keys and values [B, H, T, D] are
   * appended to `kvCache.k` / `kvCache.v` (when set) and the result is stored back, so queries attend
   * to every cached position too (causal with offset S - T). The caller owns the tensors' lifetime.
   */
  kvCache?: KVCache;
}

/** Keys and values of earlier positions, [B, H, S, D] each (null before the first call). */
export interface KVCache {
  k: T.Tensor | null;
  v: T.Tensor | null;
}

/** Multi-head attention module; see the file comment for layouts and paths. */
export class MultiHeadAttention extends Module {
  declare c_attn: Linear;
  declare q_attn: Linear | null;
  declare c_proj: Linear;
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly crossAttention: boolean;
  readonly dropoutP: number;
  readonly scale: number;
  readonly rotary: RotaryEmbedding | null;
  /** Sliding window (0 = none). */
  readonly window: number;
  generator: T.Generator;

  /** @throws ValueError when C is not divisible by H or an option is out of range. */
  constructor(opts: MultiHeadAttentionOptions) {
    super();
    const { embedDim: C, numHeads: H } = opts;
    if (!Number.isInteger(C) || C <= 0 || !Number.isInteger(H) || H <= 0 || C % H !== 0) {
      throw new ValueError(`MultiHeadAttention: embedDim (${C}) must be a positive multiple of numHeads (${H})`);
    }
    const p = opts.dropout ?? 0;
    if (!(p >= 0 && p <= 1)) throw new ValueError(`MultiHeadAttention: dropout must be in [0, 1], got ${p}`);
    this.embedDim = C;
    this.numHeads = H;
    this.headDim = C / H;
    this.causal = opts.causal ?? false;
    this.crossAttention = opts.crossAttention ?? false;
    this.dropoutP = p;
    this.scale = opts.scale ?? 1 / Math.sqrt(this.headDim);
    this.generator = opts.generator ?? T.defaultGenerator;
    const bias = opts.bias ?? true;
    const g = opts.generator;
    if (this.crossAttention) {
      this.registerModule('q_attn', new Linear(C, C, { bias, generator: g }));
      this.registerModule('c_attn', new Linear(opts.kvDim ?? C, 2 * C, { bias, generator: g }));
    } else {
      this.registerModule('c_attn', new Linear(C, 3 * C, { bias, generator: g }));
    }
    this.registerModule('c_proj', new Linear(C, C, { bias, generator: g }));
    if (opts.rope && this.crossAttention) throw new ValueError('MultiHeadAttention: rope applies to self-attention only');
    this.rotary = opts.rope ? new RotaryEmbedding(this.headDim, typeof opts.rope === 'object' ? opts.rope : {}) : null;
    const w = opts.window ?? 0;
    if (!Number.isInteger(w) || w < 0) throw new ValueError(`MultiHeadAttention: window must be a positive integer (or 0 / null for none), got ${w}`);
    this.window = w;
  }

  /**
   * q [B, H, T, D], k and v [B, H, S, D]; with RoPE, q and k are rotated here unless `ropeInKernel`
   * (then the caller hands the tables to the kernel).
   */
  private project(x: T.Tensor, memory: T.Tensor | undefined, offset: number, cache?: KVCache, ropeInKernel = false): { q: T.Tensor; k: T.Tensor; v: T.Tensor } {
    const H = this.numHeads, D = this.headDim, C = this.embedDim;
    if (x.ndim !== 3 || x.shape[2] !== C) throw new ShapeError(`MultiHeadAttention: x must be [B, T, ${C}], got ${fmtShape(x.shape)}`);
    const [B, Tn] = x.shape;
    let q: T.Tensor, k: T.Tensor, v: T.Tensor;
    const pick = (t: T.Tensor, i: number): T.Tensor => T.squeeze(T.narrow(t, 0, i, 1), 0);
    if (this.crossAttention) {
      if (!memory) throw new ValueError('MultiHeadAttention: cross-attention needs `memory` [B, S, Ckv]');
      const kvDim = this.c_attn.inFeatures;
      if (memory.ndim !== 3 || memory.shape[0] !== B || memory.shape[2] !== kvDim) {
        throw new ShapeError(`MultiHeadAttention: memory must be [${B}, S, ${kvDim}], got ${fmtShape(memory.shape)}`);
      }
      const S = memory.shape[1];
      q = T.transpose(T.reshape(this.q_attn!.forward(x), [B, Tn, H, D]), 1, 2);
      if (cache && cache.k && cache.v) {
        // Keys and values of the same memory, projected on an earlier call.
        k = cache.k;
        v = cache.v;
      } else {
        const kv = T.permute(T.reshape(this.c_attn.forward(memory), [B, S, 2, H, D]), [2, 0, 3, 1, 4]);
        k = pick(kv, 0).contiguous();
        v = pick(kv, 1).contiguous();
        if (cache) { cache.k = k; cache.v = v; }
      }
    } else {
      if (memory) throw new ValueError('MultiHeadAttention: `memory` given to a self-attention module (construct it with crossAttention: true)');
      if (cache && cache.k && (cache.k.shape[0] !== B || cache.k.shape[3] !== D)) {
        throw new ShapeError(`MultiHeadAttention: kvCache holds [${cache.k.shape.join(', ')}], not [${B}, ${H}, S, ${D}]`);
      }
      const qkv = T.permute(T.reshape(this.c_attn.forward(x), [B, Tn, 3, H, D]), [2, 0, 3, 1, 4]);
      q = pick(qkv, 0);
      k = pick(qkv, 1);
      v = pick(qkv, 2);
      if (this.rotary && !ropeInKernel) {
        q = this.rotary.forward(q, offset);
        k = this.rotary.forward(k, offset);
      }
      if (cache) {
        if (cache.k && cache.v) {
          k = T.concat([cache.k, k], 2);
          v = T.concat([cache.v, v], 2);
        }
        cache.k = k;
        cache.v = v;
      }
    }
    return { q, k, v };
  }

  /** [B, H, T, D] → [B, T, C] → c_proj. */
  private merge(y: T.Tensor): T.Tensor {
    const [B, , Tn] = y.shape;
    const merged = T.reshape(T.transpose(y, 1, 2), [B, Tn, this.embedDim]);
    const out = this.c_proj.forward(merged);
    T.releaseIfUnsaved(merged, y, out); // read by c_proj only (saved as 16 bits under autocast)
    return out;
  }

  /**
   * x [B, T, C] → [B, T, C]. See {@link AttentionCallOptions} for memory and masks.
   * @throws ShapeError for inputs or masks of the wrong shape; ValueError for memory misuse.
   */
  forward(x: T.Tensor, opts: AttentionCallOptions = {}): T.Tensor {
    const composed = !!opts.attnMask || (this.training && this.dropoutP > 0);
    if (composed) return this.forwardWithWeights(x, opts).y;
    // RoPE in the kernel, except with a key/value cache (it holds rotated keys of earlier calls).
    const ropeInKernel = !!this.rotary && !opts.kvCache;
    const offset = opts.positionOffset ?? 0;
    if (!this.crossAttention && !opts.memory && !opts.kvCache) return this.forwardPacked(x, offset, opts);
    const { q, k, v } = this.project(x, opts.memory, offset, opts.kvCache, ropeInKernel);
    const causal = opts.causal ?? this.causal;
    const keyPaddingMask = checkKeyPadding(opts.keyPaddingMask, q.shape[0], k.shape[2]);
    const rope = ropeInKernel ? this.rotary!.halfTables(k.shape[2], offset, q.dtype === 'float64' ? 'float64' : 'float32') : null;
    const y = T.scaledDotProductAttention(q, k, v, { causal, scale: this.scale, keyPaddingMask, window: this.window, rope });
    // The packed projection that q, k and v are views of is read by nothing after the attention
    // kernel (which keeps its own copies for backward), unless a cache holds k and v.
    if (!opts.kvCache) for (const t of [q, k, v]) T.releaseIfUnsaved(t, x, y);
    return this.merge(y);
  }

  /**
   * Self-attention without a cache: the fused kernel reads the heads from the packed projection and
   * writes them merged (T.packedSelfAttention), so no q/k/v views are copied one by one and backward
   * writes the projection's gradient in one pass.
   */
  private forwardPacked(x: T.Tensor, offset: number, opts: AttentionCallOptions): T.Tensor {
    const C = this.embedDim;
    if (x.ndim !== 3 || x.shape[2] !== C) throw new ShapeError(`MultiHeadAttention: x must be [B, T, ${C}], got ${fmtShape(x.shape)}`);
    const [B, Tn] = x.shape;
    const causal = opts.causal ?? this.causal;
    const keyPaddingMask = checkKeyPadding(opts.keyPaddingMask, B, Tn);
    const rope = this.rotary ? this.rotary.halfTables(Tn, offset, x.dtype === 'float64' ? 'float64' : 'float32') : null;
    // Under bf16 autocast the projection is written as bf16 (the values the op would round it to).
    const qkv = this.c_attn.constructor === Linear ? T.linear(x, this.c_attn.weight, this.c_attn.bias, { lowpOutput: true }) : this.c_attn.forward(x);
    // Under bf16 autocast y comes out as bf16 when c_proj is a plain linear layer, which reads it as it
    // is (PyTorch's autocast: attention's output is bf16, c_proj takes it without a cast).
    const lowpOutput = this.c_proj.constructor === Linear;
    const y = T.packedSelfAttention(qkv, this.numHeads, { causal, scale: this.scale, keyPaddingMask, window: this.window, rope, lowpOutput });
    // The projection is read by nothing after the op (which keeps its own copies for backward).
    T.releaseIfUnsaved(qkv, x, y);
    const out = this.c_proj.forward(y);
    T.releaseIfUnsaved(y, x, out); // read by c_proj only (saved as 16 bits under autocast)
    return out;
  }

  /**
   * The composed path, also returning the attention probabilities `att` [B, H, T, S] (after masking,
   * before dropout). Same arguments and errors as `forward`.
   */
  forwardWithWeights(x: T.Tensor, opts: AttentionCallOptions = {}): { y: T.Tensor; att: T.Tensor } {
    const { q, k, v } = this.project(x, opts.memory, opts.positionOffset ?? 0, opts.kvCache);
    const [B, , Tn] = q.shape;
    const S = k.shape[2];
    let scores = T.mulScalar(T.matmul(q, T.transpose(k, -1, -2)), this.scale);
    const causal = opts.causal ?? this.causal;
    if (causal || this.window > 0) scores = T.maskedFill(scores, causalMask(Tn, S, causal, this.window), MASK_FILL);
    const m = checkKeyPadding(opts.keyPaddingMask, B, S);
    if (m) scores = T.maskedFill(scores, T.reshape(m, [B, 1, 1, S]), MASK_FILL);
    if (opts.attnMask) scores = T.maskedFill(scores, opts.attnMask, MASK_FILL);
    const att = T.softmax(scores, -1);
    const dropped = this.training && this.dropoutP > 0 ? T.dropout(att, this.dropoutP, true, this.generator) : att;
    return { y: this.merge(T.matmul(dropped, v)), att };
  }
}

/** The key-padding mask checked to be [B, S] (or null). @throws ShapeError otherwise. */
function checkKeyPadding(m: T.Tensor | null | undefined, B: number, S: number): T.Tensor | null {
  if (!m) return null;
  if (m.ndim !== 2 || m.shape[0] !== B || m.shape[1] !== S) {
    throw new ShapeError(`MultiHeadAttention: keyPaddingMask must be [B, S] = [${B}, ${S}], got ${fmtShape(m.shape)}`);
  }
  return m;
}

/**
 * [T, S] float32: 1 where query i may not see key j, else 0 — j > i + S - T (the future, when
 * `causal`), or j ≤ i + S - T - window (outside a sliding window > 0).
 */
export function causalMask(Tn: number, S: number, causal = true, window = 0): T.Tensor {
  const m = T.zeros([Tn, S]);
  const d = m.data();
  for (let i = 0; i < Tn; i++) {
    for (let j = 0; j < S; j++) {
      const a = i + S - Tn;
      if ((causal && j > a) || (window > 0 && j <= a - window)) d[i * S + j] = 1;
    }
  }
  return m;
}

/**
 * Hugging Face attention mask (1 = real token, 0 = padding) → key-padding mask (non-zero = padding).
 * mask [B, S] int32 or float → float32 [B, S].
 */
export function keyPaddingFromAttentionMask(mask: T.Tensor): T.Tensor {
  const src = mask.contiguous().data();
  const out = T.empty([...mask.shape]);
  const d = out.data();
  for (let i = 0; i < d.length; i++) d[i] = src[i] === 0 ? 1 : 0;
  return out;
}
