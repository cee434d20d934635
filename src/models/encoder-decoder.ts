/**
 * `EncoderDecoder`: the sequence-to-sequence Transformer of Vaswani et al. (2017) for translation —
 * an encoder stack over the source, a decoder stack with causal self-attention and cross-attention
 * over the encoder output, an LM head over the target vocabulary — with greedy and beam-search
 * decoding. Pre-LN by default (stable without warm-up tricks; Xiong et al. 2020).
 *
 * Names: `encoder.{wte,wpe,h.<i>,ln_f}`, `decoder.{wte,wpe,h.<i>.{ln_1,attn,ln_cross,crossattn,ln_2,mlp},ln_f}`,
 * `lm_head` (absent when tied to `decoder.wte`). With `shareEmbeddings` the decoder reuses the
 * encoder's token table (listed once, as `encoder.wte.weight`).
 */
import { ConfigError, ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { type Activation, checkActivation } from '../nn/activation.js';
import { keyPaddingFromAttentionMask, type KVCache } from '../nn/attention.js';
import { type NormKind, TransformerBlock, makeNorm } from '../nn/block.js';
import { Dropout } from '../nn/dropout.js';
import { linear } from '../nn/functional.js';
import { initGPT2, noInit } from '../nn/init.js';
import { Embedding, Linear } from '../nn/linear.js';
import { Module, ModuleList } from '../nn/module.js';
import type { LayerNorm, RMSNorm } from '../nn/norm.js';
import { LearnedPositionalEmbedding, SinusoidalPositionalEncoding } from '../nn/positional.js';
import { checkIds } from './gpt.js';
import { beamSearch, greedyDecode, type BeamSearchOptions, type DecodeOptions } from './seq2seq-decoding.js';

export interface EncoderDecoderConfig {
  srcVocabSize: number;
  /** Default srcVocabSize. */
  tgtVocabSize?: number;
  nEmbd: number;
  nHead: number;
  nEncoderLayer: number;
  nDecoderLayer: number;
  /** Longest source and target sequence. */
  blockSize: number;
  dropout?: number;
  bias?: boolean;
  layerNormEpsilon?: number;
  activation?: Activation;
  nInner?: number | null;
  /** 'pre' (default) or 'post'. */
  normPosition?: 'pre' | 'post';
  norm?: NormKind;
  /** 'learned' (default) or 'sinusoidal' (then token embeddings are scaled by √C, Vaswani §3.4). */
  positionEmbedding?: 'learned' | 'sinusoidal';
  /** One token table for source and target (needs equal vocabularies). Default false. */
  shareEmbeddings?: boolean;
  /** LM head shares the decoder's token table (default true). */
  tieWordEmbeddings?: boolean;
  padTokenId?: number;
  /** First decoder input (decoder start token). Default 1. */
  bosTokenId?: number;
  eosTokenId?: number;
  seed?: number;
}

export type ResolvedEncoderDecoderConfig = Required<Omit<EncoderDecoderConfig, 'nInner'>> & { nInner: number };

function posInt(v: unknown, f: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ConfigError(`${f} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function tokenId(v: unknown, f: string, V: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= V) throw new ConfigError(`${f} must be an integer in [0, ${V}), got ${JSON.stringify(v)}`);
  return v;
}

/** Defaults and validation. @throws ConfigError naming the field. */
export function resolveEncoderDecoderConfig(c: EncoderDecoderConfig): ResolvedEncoderDecoderConfig {
  const nEmbd = posInt(c.nEmbd, 'nEmbd'), nHead = posInt(c.nHead, 'nHead');
  if (nEmbd % nHead !== 0) throw new ConfigError(`nEmbd (${nEmbd}) must be divisible by nHead (${nHead})`);
  const srcVocabSize = posInt(c.srcVocabSize, 'srcVocabSize');
  const tgtVocabSize = posInt(c.tgtVocabSize ?? srcVocabSize, 'tgtVocabSize');
  const shareEmbeddings = c.shareEmbeddings ?? false;
  if (shareEmbeddings && srcVocabSize !== tgtVocabSize) throw new ConfigError(`shareEmbeddings needs srcVocabSize (${srcVocabSize}) = tgtVocabSize (${tgtVocabSize})`);
  const dropout = c.dropout ?? 0;
  if (!(dropout >= 0 && dropout <= 1)) throw new ConfigError(`dropout must be in [0, 1], got ${dropout}`);
  // GPT-only fields of the shared `model` block would be ignored here: refuse them.
  const extra = c as unknown as Record<string, unknown>;
  for (const f of ['attentionWindow', 'ropeTheta', 'ropeScaling'] as const) {
    if (extra[f] !== undefined && extra[f] !== null) throw new ConfigError(`model.${f}: the encoder-decoder (seq2seq) has no such option; it applies to GPT (task lm)`, ['model', f]);
  }
  const pe = c.positionEmbedding ?? 'learned';
  if (pe !== 'learned' && pe !== 'sinusoidal') throw new ConfigError(`positionEmbedding must be 'learned' or 'sinusoidal', got ${JSON.stringify(pe)}`);
  const np = c.normPosition ?? 'pre';
  if (np !== 'pre' && np !== 'post') throw new ConfigError(`normPosition must be 'pre' or 'post', got ${JSON.stringify(np)}`);
  const norm = c.norm ?? 'layernorm';
  if (norm !== 'layernorm' && norm !== 'rmsnorm') throw new ConfigError(`norm must be 'layernorm' or 'rmsnorm', got ${JSON.stringify(norm)}`);
  const eps = c.layerNormEpsilon ?? 1e-5;
  if (!(eps > 0)) throw new ConfigError(`layerNormEpsilon must be positive, got ${eps}`);
  return {
    srcVocabSize, tgtVocabSize, nEmbd, nHead,
    nEncoderLayer: posInt(c.nEncoderLayer, 'nEncoderLayer'), nDecoderLayer: posInt(c.nDecoderLayer, 'nDecoderLayer'),
    blockSize: posInt(c.blockSize, 'blockSize'), dropout, bias: c.bias ?? true, layerNormEpsilon: eps,
    activation: checkActivation(c.activation ?? 'gelu', 'activation'),
    nInner: c.nInner === null || c.nInner === undefined ? 4 * nEmbd : posInt(c.nInner, 'nInner'),
    normPosition: np, norm, positionEmbedding: pe, shareEmbeddings, tieWordEmbeddings: c.tieWordEmbeddings ?? true,
    padTokenId: tokenId(c.padTokenId ?? 0, 'padTokenId', tgtVocabSize),
    bosTokenId: tokenId(c.bosTokenId ?? 1, 'bosTokenId', tgtVocabSize),
    eosTokenId: tokenId(c.eosTokenId ?? 2, 'eosTokenId', tgtVocabSize),
    seed: c.seed ?? 1337,
  };
}

/** One stack (encoder or decoder): embeddings, blocks, final norm (pre-LN) or embedding norm (post-LN). */
export class TransformerStack extends Module {
  declare wte: Embedding;
  declare wpe: LearnedPositionalEmbedding | null;
  declare pe: SinusoidalPositionalEncoding | null;
  declare ln_emb: LayerNorm | RMSNorm | null;
  declare drop: Dropout;
  declare h: ModuleList<TransformerBlock>;
  declare ln_f: LayerNorm | RMSNorm | null;
  private readonly embScale: number;

  constructor(c: ResolvedEncoderDecoderConfig, decoder: boolean, g: T.Generator, sharedWte?: Embedding) {
    super();
    const V = decoder ? c.tgtVocabSize : c.srcVocabSize;
    this.registerModule('wte', sharedWte ?? new Embedding(V, c.nEmbd, { generator: g }));
    const learned = c.positionEmbedding === 'learned';
    this.registerModule('wpe', learned ? new LearnedPositionalEmbedding(c.blockSize, c.nEmbd, { generator: g }) : null);
    this.registerModule('pe', learned ? null : new SinusoidalPositionalEncoding(c.blockSize, c.nEmbd));
    this.embScale = learned ? 1 : Math.sqrt(c.nEmbd);
    const post = c.normPosition === 'post';
    this.registerModule('ln_emb', post ? makeNorm(c.norm, c.nEmbd, c.layerNormEpsilon, c.bias) : null);
    this.registerModule('drop', new Dropout(c.dropout, { generator: g }));
    const blocks = new ModuleList<TransformerBlock>();
    const n = decoder ? c.nDecoderLayer : c.nEncoderLayer;
    for (let i = 0; i < n; i++) {
      blocks.append(new TransformerBlock({
        nEmbd: c.nEmbd, nHead: c.nHead, normPosition: c.normPosition, norm: c.norm, layerNormEpsilon: c.layerNormEpsilon,
        causal: decoder, crossAttention: decoder, bias: c.bias, dropout: c.dropout, activation: c.activation,
        nInner: c.nInner, generator: g,
      }));
    }
    this.registerModule('h', blocks);
    this.registerModule('ln_f', post ? null : makeNorm(c.norm, c.nEmbd, c.layerNormEpsilon, c.bias));
  }

  /**
   * ids [B, T] → [B, T, C]; decoder stacks take `memory` and its key-padding mask. For incremental
   * decoding, `positionOffset` is the number of earlier positions, whose self-attention keys/values
   * are in `kvCaches` (one per block), and `crossKvCaches` hold the blocks' projections of `memory`.
   */
  forward(ids: T.Tensor, opts: { keyPaddingMask?: T.Tensor | null; memory?: T.Tensor; memoryKeyPaddingMask?: T.Tensor | null; positionOffset?: number; kvCaches?: KVCache[]; crossKvCaches?: KVCache[] } = {}): T.Tensor {
    const Tn = ids.shape[1], offset = opts.positionOffset ?? 0;
    let x = this.wte.forward(ids);
    if (this.embScale !== 1) x = T.mulScalar(x, this.embScale);
    x = T.add(x, this.wpe ? this.wpe.positions(Tn, offset) : this.pe!.forward(Tn, offset));
    if (this.ln_emb) x = this.ln_emb.forward(x);
    x = this.drop.forward(x);
    let i = 0;
    for (const block of this.h) {
      x = block.forward(x, { ...opts, positionOffset: offset, kvCache: opts.kvCaches?.[i], crossKvCache: opts.crossKvCaches?.[i] });
      i++;
    }
    return this.ln_f ? this.ln_f.forward(x) : x;
  }
}

export type { DecodeOptions, BeamSearchOptions } from './seq2seq-decoding.js';

export class EncoderDecoder extends Module {
  declare encoder: TransformerStack;
  declare decoder: TransformerStack;
  declare lm_head: Linear | null;
  readonly config: ResolvedEncoderDecoderConfig;
  readonly generator: T.Generator;

  /** @throws ConfigError naming an invalid field. */
  constructor(config: EncoderDecoderConfig) {
    super();
    const c = (this.config = resolveEncoderDecoderConfig(config));
    const g = (this.generator = new T.Generator(c.seed));
    // Layers start as zeros; GPT-2 init below draws every weight from g.
    noInit(() => {
      const enc = this.registerModule('encoder', new TransformerStack(c, false, g));
      this.registerModule('decoder', new TransformerStack(c, true, g, c.shareEmbeddings ? enc.wte : undefined));
      this.registerModule('lm_head', c.tieWordEmbeddings ? null : new Linear(c.nEmbd, c.tgtVocabSize, { bias: false, generator: g }));
    });
    initGPT2(this, { nLayer: c.nEncoderLayer + c.nDecoderLayer, generator: g });
  }

  /** The LM head's weight [V_tgt, C]. */
  lmHeadWeight(): T.Tensor { return this.lm_head ? this.lm_head.weight : this.decoder.wte.weight; }

  private srcPadding(srcIds: T.Tensor, mask: T.Tensor | null | undefined): T.Tensor | null {
    if (!mask) return null;
    if (mask.ndim !== 2 || mask.shape[0] !== srcIds.shape[0] || mask.shape[1] !== srcIds.shape[1]) {
      throw new ShapeError(`EncoderDecoder: srcAttentionMask must be ${fmtShape(srcIds.shape)}, got ${fmtShape(mask.shape)}`);
    }
    return keyPaddingFromAttentionMask(mask);
  }

  /**
   * Encoder output: srcIds int32 [B, S] → memory [B, S, C].
   * @throws IndexError naming the row and position of an id outside [0, srcVocabSize).
   */
  encode(srcIds: T.Tensor, srcAttentionMask?: T.Tensor | null): T.Tensor {
    // Ids outside the vocabulary are named by row and position (the embedding's error gave a flat position).
    checkIds(srcIds, 'EncoderDecoder.encode', this.config.blockSize, this.config.srcVocabSize, 'srcVocabSize');
    return this.encoder.forward(srcIds, { keyPaddingMask: this.srcPadding(srcIds, srcAttentionMask) });
  }

  /**
   * Decoder hidden states: tgtIds int32 [B, T], memory [B, S, C] → [B, T, C].
   * @throws IndexError naming the row and position of an id outside [0, tgtVocabSize).
   */
  decodeHidden(tgtIds: T.Tensor, memory: T.Tensor, srcAttentionMask?: T.Tensor | null, cache?: { positionOffset: number; kvCaches: KVCache[]; crossKvCaches: KVCache[] }): T.Tensor {
    const [B] = checkIds(tgtIds, 'EncoderDecoder.decode', this.config.blockSize, this.config.tgtVocabSize, 'tgtVocabSize');
    if (memory.ndim !== 3 || memory.shape[0] !== B) throw new ShapeError(`EncoderDecoder: memory must be [${B}, S, C], got ${fmtShape(memory.shape)}`);
    let kpm: T.Tensor | null = null;
    if (srcAttentionMask) {
      if (srcAttentionMask.ndim !== 2 || srcAttentionMask.shape[0] !== B || srcAttentionMask.shape[1] !== memory.shape[1]) {
        throw new ShapeError(`EncoderDecoder: srcAttentionMask must be [${B}, ${memory.shape[1]}], got ${fmtShape(srcAttentionMask.shape)}`);
      }
      kpm = keyPaddingFromAttentionMask(srcAttentionMask);
    }
    return this.decoder.forward(tgtIds, { memory, memoryKeyPaddingMask: kpm, ...cache });
  }

  /** Logits [B, T, V_tgt] for decoder inputs tgtIds [B, T] given memory. */
  decode(tgtIds: T.Tensor, memory: T.Tensor, srcAttentionMask?: T.Tensor | null): T.Tensor {
    return linear(this.decodeHidden(tgtIds, memory, srcAttentionMask), this.lmHeadWeight());
  }

  /**
   * Teacher-forced logits: srcIds [B, S], tgtIds [B, T] (decoder inputs, starting with BOS) →
   * [B, T, V_tgt]; position t predicts target token t+1.
   */
  forward(srcIds: T.Tensor, tgtIds: T.Tensor, opts: { srcAttentionMask?: T.Tensor | null } = {}): T.Tensor {
    return this.decode(tgtIds, this.encode(srcIds, opts.srcAttentionMask), opts.srcAttentionMask);
  }

  /** Runs `fn` in eval mode without gradients, restoring the mode afterwards. */
  inference<R>(fn: () => R): R {
    const was = this.training;
    this.eval();
    try { return T.noGrad(fn); } finally { this.train(was); }
  }

  /**
   * Greedy decoding, batched, with cached keys/values (see {@link greedyDecode}): srcIds [B, S] →
   * int32 [B, L] starting with `bosTokenId`.
   */
  greedyDecode(srcIds: T.Tensor, opts: DecodeOptions = {}): T.Tensor {
    return greedyDecode(this, srcIds, opts);
  }

  /** Beam search, batched over sources, with cached keys/values (see {@link beamSearch}). */
  beamSearch(srcIds: T.Tensor, opts: BeamSearchOptions = {}): { sequences: T.Tensor; scores: number[] } {
    return beamSearch(this, srcIds, opts);
  }
}
