/**
 * Transformer blocks: attention + feed-forward with residual connections, in pre-LN order
 * (x + f(norm(x)), GPT-2; Xiong et al. 2020) or post-LN order (norm(x + f(x)), Vaswani et al. 2017 /
 * BERT). Decoder blocks of an encoder–decoder add cross-attention between the two.
 * Names follow GPT-2: `ln_1`, `attn`, `ln_2`, `mlp`; cross-attention adds `ln_cross`, `crossattn`.
 */
import * as T from '../tensor/index.js';
import type { Activation } from './activation.js';
import { type AttentionCallOptions, type KVCache, MultiHeadAttention } from './attention.js';
import { Dropout } from './dropout.js';
import { FeedForward } from './feedforward.js';
import { Module } from './module.js';
import { LayerNorm, RMSNorm } from './norm.js';
import type { RotaryOptions } from './positional.js';

export type NormKind = 'layernorm' | 'rmsnorm';

export interface TransformerBlockOptions {
  nEmbd: number;
  nHead: number;
  /** 'pre' (default) or 'post'. */
  normPosition?: 'pre' | 'post';
  /** 'layernorm' (default) or 'rmsnorm'. */
  norm?: NormKind;
  layerNormEpsilon?: number;
  /** Self-attention is causal (decoder). */
  causal?: boolean;
  /** Add a cross-attention sub-layer over `memory`. */
  crossAttention?: boolean;
  /** Width of `memory` (default nEmbd). */
  kvDim?: number;
  bias?: boolean;
  /** Residual and attention dropout (training only). */
  dropout?: number;
  activation?: Activation;
  /** Feed-forward hidden width (default 4·nEmbd). */
  nInner?: number;
  /** RoPE on self-attention (see MultiHeadAttentionOptions.rope). */
  rope?: boolean | RotaryOptions;
  /** Sliding window of self-attention (see MultiHeadAttentionOptions.window). */
  window?: number | null;
  /** Attention score scale (default 1/√D). */
  attnScale?: number | null;
  generator?: T.Generator;
}

/** Builds a normalisation layer of the given kind. */
export function makeNorm(kind: NormKind, dim: number, eps: number, bias = true): LayerNorm | RMSNorm {
  return kind === 'rmsnorm' ? new RMSNorm(dim, { eps }) : new LayerNorm(dim, { eps, bias });
}

/** Per-call options of a block. */
export interface BlockCallOptions {
  /** [B, T] non-zero = padding, for self-attention keys. */
  keyPaddingMask?: T.Tensor | null;
  /** [B, S, C] encoder output, for cross-attention. */
  memory?: T.Tensor;
  /** [B, S] non-zero = padding, for cross-attention keys. */
  memoryKeyPaddingMask?: T.Tensor | null;
  positionOffset?: number;
  /** Self-attention key/value cache (incremental decoding; see AttentionCallOptions.kvCache). */
  kvCache?: KVCache;
  /** Cross-attention keys/values of `memory`, computed on first use and reused (incremental decoding). */
  crossKvCache?: KVCache;
}

export class TransformerBlock extends Module {
  declare ln_1: LayerNorm | RMSNorm;
  declare attn: MultiHeadAttention;
  declare ln_cross: LayerNorm | RMSNorm | null;
  declare crossattn: MultiHeadAttention | null;
  declare ln_2: LayerNorm | RMSNorm;
  declare mlp: FeedForward;
  declare drop: Dropout;
  readonly prenorm: boolean;
  /**
   * Activation checkpointing (set through `Module.gradientCheckpointingEnable()`): in training with
   * recording on, only the block's input and output are kept; its activations are recomputed in
   * backward from the same input, dropout generator states and autocast policy (T.checkpoint), so the
   * gradients are the same bits as without. Ignored with a key/value cache (decoding) and in eval.
   */
  gradientCheckpointing = false;

  constructor(opts: TransformerBlockOptions) {
    super();
    const C = opts.nEmbd, eps = opts.layerNormEpsilon ?? 1e-5, kind = opts.norm ?? 'layernorm';
    const bias = opts.bias ?? true, p = opts.dropout ?? 0, g = opts.generator;
    this.prenorm = (opts.normPosition ?? 'pre') === 'pre';
    this.registerModule('ln_1', makeNorm(kind, C, eps, bias));
    this.registerModule('attn', new MultiHeadAttention({ embedDim: C, numHeads: opts.nHead, bias, dropout: p, causal: opts.causal, rope: opts.rope, window: opts.window, scale: opts.attnScale ?? undefined, generator: g }));
    if (opts.crossAttention) {
      this.registerModule('ln_cross', makeNorm(kind, C, eps, bias));
      this.registerModule('crossattn', new MultiHeadAttention({ embedDim: C, numHeads: opts.nHead, bias, dropout: p, crossAttention: true, kvDim: opts.kvDim, scale: opts.attnScale ?? undefined, generator: g }));
    } else {
      this.registerModule('ln_cross', null);
      this.registerModule('crossattn', null);
    }
    this.registerModule('ln_2', makeNorm(kind, C, eps, bias));
    this.registerModule('mlp', new FeedForward(C, { hidden: opts.nInner, activation: opts.activation, bias, dropout: p, generator: g }));
    this.registerModule('drop', new Dropout(p, { generator: g }));
  }

  /** x [B, T, C] → [B, T, C]. */
  forward(x: T.Tensor, opts: BlockCallOptions = {}): T.Tensor {
    if (this.gradientCheckpointing && this.training && T.isGradEnabled() && !opts.kvCache && !opts.crossKvCache) {
      // memory (cross-attention) is an input of the segment: its gradient flows back through the op.
      const inputs = opts.memory ? [x, opts.memory] : [x];
      return T.checkpoint((xi, mi) => this.forwardBlock(xi, mi ? { ...opts, memory: mi } : opts), inputs,
        { params: this.parameters(), generators: this.generators() });
    }
    return this.forwardBlock(x, opts);
  }

  /** The distinct generators this block's dropout layers draw from. */
  private generators(): T.Generator[] {
    const out = new Set<T.Generator>();
    for (const m of this.modules()) {
      const g = (m as { generator?: unknown }).generator;
      if (g instanceof T.Generator) out.add(g);
    }
    return [...out];
  }

  /** The block's computation (forward without checkpointing). */
  private forwardBlock(x: T.Tensor, opts: BlockCallOptions): T.Tensor {
    const self: AttentionCallOptions = { keyPaddingMask: opts.keyPaddingMask ?? null, positionOffset: opts.positionOffset, kvCache: opts.kvCache };
    const cross: AttentionCallOptions = { memory: opts.memory, keyPaddingMask: opts.memoryKeyPaddingMask ?? null, kvCache: opts.crossKvCache };
    // The MLP applies its own residual dropout after c_proj (as GPT-2); attention's is `drop`.
    if (this.prenorm) {
      // Each normalised input is read by its sub-layer only: once that has saved what its backward
      // needs (a 16-bit copy under autocast), the float32 one goes back to the pool (releaseIfUnsaved).
      const sub = (ln: Module & { forward(t: T.Tensor): T.Tensor }, f: (h: T.Tensor) => T.Tensor): T.Tensor => {
        const h = ln.forward(x);
        const y = f(h);
        T.releaseIfUnsaved(h, x, y);
        return y;
      };
      x = T.add(x, this.drop.forward(sub(this.ln_1, (h) => this.attn.forward(h, self))));
      if (this.crossattn) x = T.add(x, this.drop.forward(sub(this.ln_cross!, (h) => this.crossattn!.forward(h, cross))));
      return T.add(x, sub(this.ln_2, (h) => this.mlp.forward(h)));
    }
    x = this.ln_1.forward(T.add(x, this.drop.forward(this.attn.forward(x, self))));
    if (this.crossattn) x = this.ln_cross!.forward(T.add(x, this.drop.forward(this.crossattn.forward(x, cross))));
    return this.ln_2.forward(T.add(x, this.mlp.forward(x)));
  }
}
