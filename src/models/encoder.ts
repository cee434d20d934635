/**
 * `Encoder`: a BERT-style bidirectional Transformer encoder (Devlin et al. 2019) — token, learned
 * position and optional token-type embeddings, `nLayer` blocks (post-LN as BERT by default, or pre-LN
 * with a final `ln_f`), key-padding masks from Hugging Face's `attentionMask` — plus two heads:
 * `EncoderForSequenceClassification` ([CLS] or mean pooling → `classifier`) and
 * `EncoderForQuestionAnswering` (per-token start / end logits from `qa_outputs`, as HF's
 * `BertForQuestionAnswering`).
 */
import { ConfigError, ShapeError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { type Activation, checkActivation } from '../nn/activation.js';
import { keyPaddingFromAttentionMask } from '../nn/attention.js';
import { type NormKind, TransformerBlock, makeNorm } from '../nn/block.js';
import { Dropout } from '../nn/dropout.js';
import { initGPT2, noInit } from '../nn/init.js';
import { Embedding, Linear } from '../nn/linear.js';
import { Module, ModuleList } from '../nn/module.js';
import { LearnedPositionalEmbedding } from '../nn/positional.js';
import type { LayerNorm, RMSNorm } from '../nn/norm.js';
import { checkIds } from './gpt.js';

/** Configuration of {@link Encoder} (and its heads). */
export interface EncoderConfig {
  vocabSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  /** Longest sequence (HF `max_position_embeddings`). */
  blockSize: number;
  /** Dropout on embeddings, attention and residual branches (default 0.1, as BERT). */
  dropout?: number;
  bias?: boolean;
  layerNormEpsilon?: number;
  /** Default 'gelu'. */
  activation?: Activation;
  /** Feed-forward width (default 4·nEmbd). */
  nInner?: number | null;
  /** 'post' (default, BERT: LayerNorm after each residual add and on the embeddings) or 'pre'. */
  normPosition?: 'pre' | 'post';
  norm?: NormKind;
  /** Token-type (segment) vocabulary; 0 (default) = no `wtt` embedding. */
  typeVocabSize?: number;
  /** Sentence representation for classification: 'cls' (position 0, default) or 'mean' over real tokens. */
  pooling?: 'cls' | 'mean';
  /** Seed of the model's generator (init, then dropout). Default 1337. */
  seed?: number;
}

export type ResolvedEncoderConfig = Required<Omit<EncoderConfig, 'nInner'>> & { nInner: number };

function posInt(v: unknown, f: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ConfigError(`${f} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Defaults and validation. @throws ConfigError naming the field (also for GPT-only fields: attentionWindow, ropeTheta, ropeScaling, positionEmbedding other than 'learned'). */
export function resolveEncoderConfig(c: EncoderConfig): ResolvedEncoderConfig {
  // GPT-only position and attention fields reach here through the shared `model` block; the encoder
  // has learned positions and full attention, so training with them would silently ignore them.
  const extra = c as unknown as Record<string, unknown>;
  for (const f of ['attentionWindow', 'ropeTheta', 'ropeScaling'] as const) {
    if (extra[f] !== undefined && extra[f] !== null) throw new ConfigError(`model.${f}: the encoder (classification, extractive-qa) has no such option; it applies to GPT (task lm)`, ['model', f]);
  }
  if (extra.positionEmbedding !== undefined && extra.positionEmbedding !== 'learned') {
    throw new ConfigError(`model.positionEmbedding: the encoder (classification, extractive-qa) has learned positions only, got ${JSON.stringify(extra.positionEmbedding)}`, ['model', 'positionEmbedding']);
  }
  const nEmbd = posInt(c.nEmbd, 'nEmbd'), nHead = posInt(c.nHead, 'nHead');
  if (nEmbd % nHead !== 0) throw new ConfigError(`nEmbd (${nEmbd}) must be divisible by nHead (${nHead})`);
  const dropout = c.dropout ?? 0.1;
  if (!(dropout >= 0 && dropout <= 1)) throw new ConfigError(`dropout must be in [0, 1], got ${dropout}`);
  const eps = c.layerNormEpsilon ?? 1e-5;
  if (!(eps > 0)) throw new ConfigError(`layerNormEpsilon must be positive, got ${eps}`);
  const normPosition = c.normPosition ?? 'post';
  if (normPosition !== 'pre' && normPosition !== 'post') throw new ConfigError(`normPosition must be 'pre' or 'post', got ${JSON.stringify(normPosition)}`);
  const norm = c.norm ?? 'layernorm';
  if (norm !== 'layernorm' && norm !== 'rmsnorm') throw new ConfigError(`norm must be 'layernorm' or 'rmsnorm', got ${JSON.stringify(norm)}`);
  const pooling = c.pooling ?? 'cls';
  if (pooling !== 'cls' && pooling !== 'mean') throw new ConfigError(`pooling must be 'cls' or 'mean', got ${JSON.stringify(pooling)}`);
  const typeVocabSize = c.typeVocabSize ?? 0;
  if (!Number.isInteger(typeVocabSize) || typeVocabSize < 0) throw new ConfigError(`typeVocabSize must be an integer >= 0, got ${typeVocabSize}`);
  return {
    vocabSize: posInt(c.vocabSize, 'vocabSize'), nLayer: posInt(c.nLayer, 'nLayer'), nHead, nEmbd,
    blockSize: posInt(c.blockSize, 'blockSize'), dropout, bias: c.bias ?? true, layerNormEpsilon: eps,
    activation: checkActivation(c.activation ?? 'gelu', 'activation'),
    nInner: c.nInner === null || c.nInner === undefined ? 4 * nEmbd : posInt(c.nInner, 'nInner'),
    normPosition, norm, typeVocabSize, pooling, seed: c.seed ?? 1337,
  };
}

/** Per-call options of the encoder and its heads. */
export interface EncoderCallOptions {
  /** [B, T] (int32 or float) Hugging Face convention: 1 = real token, 0 = padding (keys ignored). */
  attentionMask?: T.Tensor | null;
  /** [B, T] int32 segment ids (needs typeVocabSize > 0). */
  tokenTypeIds?: T.Tensor | null;
}

function checkMask(mask: T.Tensor | null | undefined, B: number, Tn: number, what: string): void {
  if (mask && (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== Tn)) {
    throw new ShapeError(`${what}: attentionMask must be [B, T] = [${B}, ${Tn}], got ${fmtShape(mask.shape)}`);
  }
}

/** The encoder body: ids [B, T] → hidden states [B, T, C]. */
export class Encoder extends Module {
  declare wte: Embedding;
  declare wpe: LearnedPositionalEmbedding;
  declare wtt: Embedding | null;
  declare ln_emb: LayerNorm | RMSNorm | null;
  declare drop: Dropout;
  declare h: ModuleList<TransformerBlock>;
  declare ln_f: LayerNorm | RMSNorm | null;
  readonly config: ResolvedEncoderConfig;
  readonly generator: T.Generator;

  /**
   * @param generator shared with an enclosing model; default a new one seeded with `config.seed`.
   * @param init initialise GPT-2 style here (default true; heads initialise the whole model instead).
   */
  constructor(config: EncoderConfig, opts: { generator?: T.Generator; init?: boolean } = {}) {
    super();
    const c = (this.config = resolveEncoderConfig(config));
    const g = (this.generator = opts.generator ?? new T.Generator(c.seed));
    // Layers start as zeros; GPT-2 init (here or in the head) draws every weight.
    noInit(() => {
      this.registerModule('wte', new Embedding(c.vocabSize, c.nEmbd, { generator: g }));
      this.registerModule('wpe', new LearnedPositionalEmbedding(c.blockSize, c.nEmbd, { generator: g }));
      this.registerModule('wtt', c.typeVocabSize > 0 ? new Embedding(c.typeVocabSize, c.nEmbd, { generator: g }) : null);
      const post = c.normPosition === 'post';
      this.registerModule('ln_emb', post ? makeNorm(c.norm, c.nEmbd, c.layerNormEpsilon, c.bias) : null);
      this.registerModule('drop', new Dropout(c.dropout, { generator: g }));
      const blocks = new ModuleList<TransformerBlock>();
      for (let i = 0; i < c.nLayer; i++) {
        blocks.append(new TransformerBlock({
          nEmbd: c.nEmbd, nHead: c.nHead, normPosition: c.normPosition, norm: c.norm, layerNormEpsilon: c.layerNormEpsilon,
          causal: false, bias: c.bias, dropout: c.dropout, activation: c.activation, nInner: c.nInner, generator: g,
        }));
      }
      this.registerModule('h', blocks);
      this.registerModule('ln_f', post ? null : makeNorm(c.norm, c.nEmbd, c.layerNormEpsilon, c.bias));
    });
    if (opts.init ?? true) initGPT2(this, { nLayer: c.nLayer, generator: g });
  }

  /**
   * ids int32 [B, T] (T ≤ blockSize) → [B, T, C]. Padded keys (attentionMask 0) are ignored by every
   * real token; padded positions still get (unused) outputs.
   * @throws ValueError / ShapeError for bad ids or masks.
   */
  forward(ids: T.Tensor, opts: EncoderCallOptions = {}): T.Tensor {
    const [B, Tn] = checkIds(ids, 'Encoder', this.config.blockSize, this.config.vocabSize);
    checkMask(opts.attentionMask, B, Tn, 'Encoder');
    let x = T.add(this.wte.forward(ids), this.wpe.positions(Tn));
    if (opts.tokenTypeIds) {
      if (!this.wtt) throw new ConfigError('Encoder: tokenTypeIds given but typeVocabSize is 0');
      x = T.add(x, this.wtt.forward(opts.tokenTypeIds));
    }
    if (this.ln_emb) x = this.ln_emb.forward(x);
    x = this.drop.forward(x);
    const kpm = opts.attentionMask ? keyPaddingFromAttentionMask(opts.attentionMask) : null;
    for (const block of this.h) x = block.forward(x, { keyPaddingMask: kpm });
    return this.ln_f ? this.ln_f.forward(x) : x;
  }

  /**
   * Sentence vectors [B, C] from hidden [B, T, C]: 'cls' takes position 0; 'mean' averages the real
   * tokens (attentionMask 1; all positions without a mask).
   */
  pool(hidden: T.Tensor, attentionMask?: T.Tensor | null, pooling = this.config.pooling): T.Tensor {
    const [B, Tn, C] = hidden.shape;
    if (pooling === 'cls') return T.reshape(T.narrow(hidden, 1, 0, 1), [B, C]);
    if (!attentionMask) return T.mean(hidden, 1);
    checkMask(attentionMask, B, Tn, 'Encoder.pool');
    const m = T.cast(attentionMask, hidden.dtype === 'float64' ? 'float64' : 'float32');
    const summed = T.sum(T.mul(hidden, T.reshape(m, [B, Tn, 1])), 1);
    // max(count, 1): a row without real tokens pools to zeros instead of NaN.
    const count = T.clamp(T.sum(m, 1, true), 1);
    return T.div(summed, count);
  }
}

/** Encoder + classification head: logits [B, numLabels] from the pooled representation. */
export class EncoderForSequenceClassification extends Module {
  declare encoder: Encoder;
  declare dropout: Dropout;
  declare classifier: Linear;
  readonly numLabels: number;

  constructor(config: EncoderConfig & { numLabels: number; classifierDropout?: number }) {
    super();
    this.numLabels = posInt(config.numLabels, 'numLabels');
    const enc = this.registerModule('encoder', new Encoder(config, { init: false }));
    const g = enc.generator;
    this.registerModule('dropout', new Dropout(config.classifierDropout ?? enc.config.dropout, { generator: g }));
    this.registerModule('classifier', noInit(() => new Linear(enc.config.nEmbd, this.numLabels, { generator: g })));
    initGPT2(this, { nLayer: enc.config.nLayer, generator: g });
  }

  /** ids int32 [B, T] → logits [B, numLabels]. */
  forward(ids: T.Tensor, opts: EncoderCallOptions = {}): T.Tensor {
    const h = this.encoder.forward(ids, opts);
    return this.classifier.forward(this.dropout.forward(this.encoder.pool(h, opts.attentionMask)));
  }
}

/** Encoder + extractive-QA head: start and end logits over token positions. */
export class EncoderForQuestionAnswering extends Module {
  declare encoder: Encoder;
  declare qa_outputs: Linear;

  constructor(config: EncoderConfig) {
    super();
    const enc = this.registerModule('encoder', new Encoder(config, { init: false }));
    this.registerModule('qa_outputs', noInit(() => new Linear(enc.config.nEmbd, 2, { generator: enc.generator })));
    initGPT2(this, { nLayer: enc.config.nLayer, generator: enc.generator });
  }

  /**
   * ids int32 [B, T] → `startLogits`, `endLogits` [B, T] (channel 0 and 1 of `qa_outputs`). Padded
   * positions are not masked here (as Hugging Face); the task masks them if it needs to.
   */
  forward(ids: T.Tensor, opts: EncoderCallOptions = {}): { startLogits: T.Tensor; endLogits: T.Tensor } {
    const [B, Tn] = ids.shape;
    const logits = this.qa_outputs.forward(this.encoder.forward(ids, opts));
    return {
      startLogits: T.reshape(T.narrow(logits, 2, 0, 1), [B, Tn]),
      endLogits: T.reshape(T.narrow(logits, 2, 1, 1), [B, Tn]),
    };
  }
}
