/**
 * `GPT`: decoder-only Transformer language model in GPT-2's layout (Radford et al. 2019; the model of
 * shared/bench/configs.json): token embedding `wte` + learned position embedding `wpe`, `nLayer`
 * pre-LN blocks (`h.<i>`: `ln_1`, causal `attn` with packed `c_attn`, `ln_2`, GELU `mlp` with `c_fc`,
 * `c_proj`), final `ln_f`, and an LM head tied to `wte` (or `lm_head` when untied). Parameter names
 * match Hugging Face's GPT-2 (`h.0.attn.c_attn.weight`, ...), except that linear weights are stored
 * [out, in] as PyTorch's `nn.Linear` (GPT-2's Conv1D stores [in, out]; see hf-gpt2.ts).
 */
import { IndexError, ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { TransformerBlock, makeNorm } from '../nn/block.js';
import { Dropout } from '../nn/dropout.js';
import { linear } from '../nn/functional.js';
import { initGPT2, noInit } from '../nn/init.js';
import { Embedding, Linear } from '../nn/linear.js';
import { LearnedPositionalEmbedding } from '../nn/positional.js';
import { Module, ModuleList } from '../nn/module.js';
import type { LayerNorm, RMSNorm } from '../nn/norm.js';
import type { KVCache } from '../nn/attention.js';
import { type GPTConfig, type ResolvedGPTConfig, resolveGPTConfig } from './config.js';
import { type SamplingOptions, checkSampling, intTensor, sampleToken } from './sampling.js';

/** Options of {@link GPT.generate}. */
export interface GenerateOptions extends SamplingOptions {
  /** Tokens to append (≥ 0). */
  maxNewTokens: number;
  /** Stop a row after it produced this id (later positions repeat it); stop when every row has. */
  eosTokenId?: number | null;
  /** Cache keys and values between steps (default true; false recomputes the context each step). */
  useCache?: boolean;
}

/**
 * Checks ids: int32 [B, T] with T ≥ 1, T ≤ maxLen, and (with vocabSize) every id in [0, vocabSize);
 * `vocabField` is the config field the message names (EncoderDecoder: srcVocabSize / tgtVocabSize).
 * @throws IndexError naming the row and position of the first id outside the vocabulary (the
 *   embedding's own error gave only a flat position).
 */
export function checkIds(ids: T.Tensor, what: string, maxLen?: number, vocabSize?: number, vocabField = 'vocabSize'): [number, number] {
  if (ids.dtype !== 'int32') throw new ValueError(`${what}: ids must have dtype int32, got ${ids.dtype}`);
  if (ids.ndim !== 2 || ids.shape[1] < 1) throw new ShapeError(`${what}: ids must be [B, T] with T >= 1, got ${fmtShape(ids.shape)}`);
  if (maxLen !== undefined && ids.shape[1] > maxLen) {
    throw new ValueError(`${what}: sequence length ${ids.shape[1]} exceeds blockSize ${maxLen}`);
  }
  if (vocabSize !== undefined) {
    const data = ids.contiguous().data() as Int32Array;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < 0 || v >= vocabSize) {
        const row = Math.floor(i / ids.shape[1]), pos = i % ids.shape[1];
        throw new IndexError(`${what}: token id ${v} at row ${row}, position ${pos} of the ids ${fmtShape(ids.shape)} is outside the vocabulary (${vocabField} ${vocabSize}: ids 0..${vocabSize - 1})`);
      }
    }
  }
  return [ids.shape[0], ids.shape[1]];
}

export class GPT extends Module {
  declare wte: Embedding;
  declare wpe: LearnedPositionalEmbedding | null;
  declare drop: Dropout;
  declare h: ModuleList<TransformerBlock>;
  declare ln_f: LayerNorm | RMSNorm;
  declare lm_head: Linear | null;
  readonly config: ResolvedGPTConfig;
  /** The model's seeded generator: initialisation draws from it first, then dropout. */
  readonly generator: T.Generator;

  /**
   * Builds the model and initialises it GPT-2 style (initGPT2) from `config.seed`.
   * @param opts.init false skips the initialisation: all weights stay zero (they are about to be loaded).
   * @throws ConfigError naming an invalid config field.
   */
  constructor(config: GPTConfig, opts: { init?: boolean } = {}) {
    super();
    const c = (this.config = resolveGPTConfig(config));
    const g = (this.generator = new T.Generator(c.seed));
    // Layers start as zeros (no default random draws); GPT-2 init then draws every weight from g.
    noInit(() => this.build(c, g));
    if (opts.init ?? true) initGPT2(this, { nLayer: c.nLayer, generator: g });
  }

  private build(c: ResolvedGPTConfig, g: T.Generator): void {
    this.registerModule('wte', new Embedding(c.vocabSize, c.nEmbd, { generator: g }));
    this.registerModule('wpe', c.positionEmbedding === 'learned' ? new LearnedPositionalEmbedding(c.blockSize, c.nEmbd, { generator: g }) : null);
    this.registerModule('drop', new Dropout(c.dropout, { generator: g }));
    const blocks = new ModuleList<TransformerBlock>();
    for (let i = 0; i < c.nLayer; i++) {
      blocks.append(new TransformerBlock({
        nEmbd: c.nEmbd, nHead: c.nHead, normPosition: 'pre', norm: c.norm, layerNormEpsilon: c.layerNormEpsilon,
        causal: true, bias: c.bias, dropout: c.dropout, activation: c.activation, nInner: c.nInner,
        rope: c.positionEmbedding === 'rope' ? { base: c.ropeTheta, scaling: c.ropeScaling } : false, window: c.attentionWindow,
        attnScale: c.attnScale, generator: g,
      }));
    }
    this.registerModule('h', blocks);
    this.registerModule('ln_f', makeNorm(c.norm, c.nEmbd, c.layerNormEpsilon, c.bias));
    this.registerModule('lm_head', c.tieWordEmbeddings ? null : new Linear(c.nEmbd, c.vocabSize, { bias: false, generator: g }));
  }

  /**
   * Final hidden states after `ln_f`: ids int32 [B, T] → [B, T, C]. Feed them with `lmHeadWeight()`
   * to a fused linear + cross-entropy loss.
   * @param opts.positionOffset position of the first token (default 0); offset + T ≤ blockSize.
   * @param opts.kvCaches one cache per block for incremental decoding (see `generate`).
   * @throws ValueError / ShapeError for bad ids; IndexError for ids outside [0, V).
   */
  hidden(ids: T.Tensor, opts: { positionOffset?: number; kvCaches?: KVCache[] } = {}): T.Tensor {
    const offset = opts.positionOffset ?? 0;
    const [, Tn] = checkIds(ids, 'GPT', this.config.blockSize - offset, this.config.vocabSize);
    if (opts.kvCaches && opts.kvCaches.length !== this.h.length) {
      throw new ValueError(`GPT: kvCaches needs one cache per block (${this.h.length}), got ${opts.kvCaches.length}`);
    }
    let x = this.wte.forward(ids);
    if (this.wpe) x = T.add(x, this.wpe.positions(Tn, offset));
    x = this.drop.forward(x);
    let i = 0;
    for (const block of this.h) x = block.forward(x, { positionOffset: offset, kvCache: opts.kvCaches?.[i++] });
    return this.ln_f.forward(x);
  }

  /** The LM head's weight [V, C]: `wte.weight` when tied, else `lm_head.weight`. */
  lmHeadWeight(): T.Tensor {
    return this.lm_head ? this.lm_head.weight : this.wte.weight;
  }

  /** Next-token logits: ids int32 [B, T] → [B, T, V] (hidden states @ lmHeadWeightᵀ). */
  forward(ids: T.Tensor): T.Tensor {
    return linear(this.hidden(ids), this.lmHeadWeight());
  }

  /**
   * Parameter count; `nonEmbedding` leaves out the position table `wpe.weight` (nanoGPT's
   * get_num_params: the tied token embedding counts once, as the LM head's matmul).
   */
  override numParameters(opts: { exclude?: readonly string[]; trainableOnly?: boolean; nonEmbedding?: boolean } = {}): number {
    const exclude = [...(opts.exclude ?? []), ...(opts.nonEmbedding ? ['wpe.weight'] : [])];
    return super.numParameters({ exclude, trainableOnly: opts.trainableOnly });
  }

  /**
   * Autoregressive generation without gradients (eval mode during the call, mode restored after):
   * ids int32 [B, T0] → int32 [B, T0 + n], n ≤ maxNewTokens (fewer only when every row reached
   * `eosTokenId`). Keys and values of earlier positions are cached, so each new token costs one
   * position; once the sequence outgrows blockSize the context is cropped to the last blockSize
   * tokens and recomputed each step (as nanoGPT). Sampling per {@link SamplingOptions};
   * temperature 0 is greedy. Draws come from `generator` (default: the model's).
   * @throws ValueError for bad options or ids.
   */
  generate(ids: T.Tensor, opts: GenerateOptions): T.Tensor {
    const [B, T0] = checkIds(ids, 'GPT.generate');
    const src = ids.contiguous().data();
    const rows: number[][] = [];
    for (let b = 0; b < B; b++) rows.push(Array.from(src.subarray(b * T0, (b + 1) * T0)));
    for (const next of this.generateStream(ids, opts)) for (let b = 0; b < B; b++) rows[b].push(next[b]);
    const L = rows[0].length;
    const out = new Int32Array(B * L);
    for (let b = 0; b < B; b++) out.set(rows[b], b * L);
    return intTensor(out, [B, L]);
  }

  /**
   * {@link generate} one step at a time: yields the next id of every row ([B] int32) as soon as it
   * is drawn, so a caller can print tokens as they come. Only the last blockSize tokens of each row
   * are held (the context the model can see), so memory stays bounded however large maxNewTokens is.
   * @throws ValueError for bad options or ids (when iteration starts).
   */
  *generateStream(ids: T.Tensor, opts: GenerateOptions): Generator<Int32Array, void, undefined> {
    const [B, T0] = checkIds(ids, 'GPT.generate');
    const n = opts.maxNewTokens;
    if (!Number.isInteger(n) || n < 0) throw new ValueError(`GPT.generate: maxNewTokens must be an integer >= 0, got ${n}`);
    checkSampling(opts);
    const gen = opts.generator ?? this.generator;
    const eos = opts.eosTokenId ?? null;
    const useCache = opts.useCache ?? true;
    const V = this.config.vocabSize, bs = this.config.blockSize;
    // The last (at most) blockSize tokens of each row; `total` is the full length.
    const ctx: number[][] = [];
    const src = ids.contiguous().data();
    for (let b = 0; b < B; b++) ctx.push(Array.from(src.subarray(b * T0 + Math.max(0, T0 - bs), (b + 1) * T0)));
    let total = T0;
    const done = new Array<boolean>(B).fill(false);
    let caches: KVCache[] | null = null;
    /** Positions already in the caches. */
    let cached = 0;
    const dropCaches = (): void => {
      for (const c of caches ?? []) { c.k?.storage.release(); c.v?.storage.release(); }
      caches = null;
      cached = 0;
    };
    const wasTraining = this.training;
    this.eval();
    try {
      for (let step = 0; step < n && !done.every((d) => d); step++) {
        if (!useCache || total > bs) dropCaches();
        else if (!caches) caches = Array.from({ length: this.h.length }, () => ({ k: null, v: null }));
        // With a cache only the positions not yet seen are fed; otherwise the (cropped) context.
        const start = caches ? cached : Math.max(0, total - bs);
        const len = total - start;
        const first = total - ctx[0].length; // absolute position of ctx[b][0]
        const input = new Int32Array(B * len);
        for (let b = 0; b < B; b++) input.set(ctx[b].slice(start - first), b * len);
        const before = caches ? caches.flatMap((c) => [c.k, c.v]) : [];
        const cacheNow = caches;
        const { last } = T.scope(() => T.noGrad(() => {
          const h = this.hidden(intTensor(input, [B, len]), { positionOffset: cacheNow ? start : 0, kvCaches: cacheNow ?? undefined });
          const logits = linear(T.narrow(h, 1, len - 1, 1), this.lmHeadWeight());
          // The caches' new tensors must outlive this scope.
          return { last: Float32Array.from(logits.data()), kept: cacheNow ? cacheNow.flatMap((c) => [c.k!, c.v!]) : [] };
        }));
        for (const t of before) t?.storage.release();
        if (caches) cached = total;
        const next = new Int32Array(B);
        for (let b = 0; b < B; b++) {
          next[b] = done[b] ? (eos as number) : sampleToken(last.subarray(b * V, (b + 1) * V), opts, gen);
          ctx[b].push(next[b]);
          if (ctx[b].length > bs) ctx[b].shift();
          if (eos !== null && next[b] === eos) done[b] = true;
        }
        total++;
        yield next;
      }
    } finally {
      dropCaches();
      this.train(wasTraining);
    }
  }
}
