/**
 * Sequence-to-sequence (translation) with an `EncoderDecoder`, trained by teacher forcing on a JSONL
 * file of `{src, tgt}` pairs: the decoder reads `[BOS] y1 … yn` and predicts `y1 … yn [EOS]`;
 * padded label positions hold ignoreIndex (-100) and carry no loss. One tokenizer (with [PAD], [CLS]
 * as BOS and [SEP] as EOS; `bpe`: [BOS], [EOS]) is built from both sides. Metrics: `loss` (mean
 * cross-entropy per target token), `perplexity`, `tokenAccuracy` (teacher-forced next-token accuracy
 * on non-padded positions), and on translations decoded with the `generation` settings (greedy, or
 * beam search with numBeams / lengthPenalty, batched, cached keys/values) against the reference
 * texts: `bleu` (sacreBLEU's default corpus BLEU) and `chrf` (chrF2), both 0–100.
 */
import {
  collateSeq2Seq, DataLoader, encodePairs, IGNORE_INDEX, loadPairsJsonl, permutation, sequentialBatches, tokenizerFromConfig,
  type EncodedPair, type PairDataset, type PairExample, type Seq2SeqBatch, type Tokenizer,
} from '../data/index.js';
import { ConfigError } from '../errors.js';
import { corpusBleu, corpusChrf } from '../metrics/index.js';
import { EncoderDecoder } from '../models/encoder-decoder.js';
import { linear } from '../nn/functional.js';
import * as T from '../tensor/index.js';
import { buildModel, buildTokenizer, countCounted, intTensor, reduced } from './tensors.js';
import type { TaskConfig } from './config.js';
import { checkObjective, classObjective, lmHeadObjective } from './objective.js';
import { runToEnd, type EvalMetrics, type LossOutput, type Task } from './types.js';
import { loaderDataState, loaderEpoch, setLoaderDataState, type LoaderTaskState } from './loader-state.js';

/** Decoding settings of a translation call (defaults: the config's `generation` block). */
export interface TranslateOptions { numBeams?: number; lengthPenalty?: number; maxNewTokens?: number }

export class Seq2SeqTask implements Task<Seq2SeqBatch> {
  readonly name = 'seq2seq';
  readonly model: EncoderDecoder;
  batchesPerEpoch: number;
  private readonly loader: DataLoader<EncodedPair, Seq2SeqBatch> | null;
  private readonly ids: { pad: number; bos: number; eos: number };
  /** Source, translation and reference of the first examples of the last evaluation. */
  lastSamples: Array<{ source: string; prediction: string; reference: string }> = [];

  private constructor(readonly config: TaskConfig, readonly tokenizer: Tokenizer, readonly trainSet: EncodedPair[], readonly valSet: EncodedPair[], readonly valPairs: PairExample[]) {
    checkObjective(config.objective);
    const { padId: pad, bosId: bos, eosId: eos } = tokenizer;
    if (pad === undefined || bos === undefined || eos === undefined) {
      throw new ConfigError('data.tokenizer: seq2seq needs a tokenizer with [PAD], BOS ([CLS]) and EOS ([SEP]) tokens (word, or char with specialTokens: true)');
    }
    this.ids = { pad, bos, eos };
    const m = config.model;
    const rest = m as Record<string, unknown>;
    this.model = buildModel(() => new EncoderDecoder({
      srcVocabSize: tokenizer.vocabSize, nEmbd: m.nEmbd, nHead: m.nHead,
      nEncoderLayer: (rest.nEncoderLayer as number | undefined) ?? m.nLayer, nDecoderLayer: (rest.nDecoderLayer as number | undefined) ?? m.nLayer,
      blockSize: m.maxPositions ?? Math.max(config.data.maxLength, config.data.maxTargetLength + 1),
      dropout: m.dropout, bias: m.bias, nInner: m.nInner, tieWordEmbeddings: m.tieWordEmbeddings, shareEmbeddings: true,
      padTokenId: pad, bosTokenId: bos, eosTokenId: eos, seed: config.seed,
    }), { config, vocabSize: tokenizer.vocabSize });
    this.loader = trainSet.length > 0
      ? new DataLoader(trainSet, (it) => this.collate(it), {
        batchSize: config.perDeviceTrainBatchSize, shuffle: true, seed: config.seed,
        lengths: config.groupByLength ? trainSet.map((e) => e.srcIds.length + e.tgtIds.length) : undefined,
      })
      : null;
    this.batchesPerEpoch = this.loader?.batchesPerEpoch ?? 1;
  }

  /** @throws FileFormatError for a missing file or a malformed line (file:line). */
  static async create(config: TaskConfig, options: { tokenizer?: Tokenizer; noTrainData?: boolean } = {}): Promise<Seq2SeqTask> {
    const d = config.data;
    const o = { skipMalformed: d.skipMalformed, limit: d.limit, srcField: d.srcField, tgtField: d.tgtField };
    let train: PairDataset | null = options.noTrainData && d.validation ? null : await loadPairsJsonl(d.train, o);
    let val: PairDataset;
    if (d.validation) val = await loadPairsJsonl(d.validation, o);
    else {
      const perm = permutation(train!.examples.length, config.seed, 0x5e2);
      const nVal = Math.max(1, Math.floor(perm.length * (d.valFraction || 0.1)));
      const all = train!.examples;
      val = { ...train!, examples: Array.from(perm.subarray(perm.length - nVal), (i) => all[i]) };
      train = { ...train!, examples: Array.from(perm.subarray(0, perm.length - nVal), (i) => all[i]) };
    }
    const tokCfg = d.tokenizer.type === 'char' && d.tokenizer.specialTokens === undefined ? { ...d.tokenizer, specialTokens: true } : d.tokenizer;
    const tok = options.tokenizer ?? buildTokenizer(tokCfg, () => (train ?? val).examples.flatMap((e) => [e.src, e.tgt]), d.train);
    // Room for BOS/EOS on the target side.
    const enc = (s: PairDataset) => encodePairs(s, tok, tok, { maxSrcLength: d.maxLength, maxTgtLength: d.maxTargetLength });
    return new Seq2SeqTask(config, tok, train && !options.noTrainData ? enc(train) : [], enc(val), val.examples);
  }

  private collate(items: EncodedPair[]): Seq2SeqBatch {
    return collateSeq2Seq(items, { padId: this.ids.pad, bosId: this.ids.bos, eosId: this.ids.eos, ignoreIndex: IGNORE_INDEX });
  }

  /** Data parallelism: this rank's share of each global training batch (see Task). */
  setDataParallel(numReplicas: number, rank: number, reduceSum: (sums: Float64Array) => void): void {
    this.loader?.setShard(numReplicas, rank);
    this.batchesPerEpoch = this.loader?.batchesPerEpoch ?? 1;
    this.shard = { numReplicas, rank, reduceSum };
  }

  private shard: { numReplicas: number; rank: number; reduceSum: (sums: Float64Array) => void } | null = null;

  nextBatch(): Seq2SeqBatch {
    if (!this.loader) throw new ConfigError('data.train: no training data loaded');
    return this.loader.next().batch;
  }

  /** Decoder hidden states [B, T, C] (teacher forcing). */
  private hidden(b: Seq2SeqBatch): T.Tensor {
    const mask = intTensor(b.attentionMask, b.srcShape);
    const memory = this.model.encode(intTensor(b.inputIds, b.srcShape), mask);
    return this.model.decodeHidden(intTensor(b.decoderInputIds, b.tgtShape), memory, mask);
  }

  /** Target tokens that are not padding (ignoreIndex). */
  countTargets(b: Seq2SeqBatch): number {
    return countCounted(b.labels, IGNORE_INDEX);
  }

  /** The objective from the decoder's hidden states through the fused LM head (no [B·T, V] logits). */
  loss(b: Seq2SeqBatch): LossOutput {
    const h = this.hidden(b);
    const [B, Tn] = b.tgtShape;
    const { loss, terms } = lmHeadObjective(h.reshape(B * Tn, h.shape[2]), this.model.lmHeadWeight(), intTensor(b.labels, [B * Tn]), this.config.objective, {
      labelSmoothing: this.config.labelSmoothingFactor, ignoreIndex: IGNORE_INDEX, params: this.model.parameters(),
    });
    return { loss, terms, tokens: b.srcShape[0] * b.srcShape[1] + B * Tn };
  }

  evaluate(maxBatches?: number): EvalMetrics {
    return runToEnd(this.evaluateSteps(maxBatches));
  }

  /** {@link evaluate} yielding after each loss batch and each batch of the translations at the end. */
  *evaluateSteps(maxBatches?: number): Generator<void, EvalMetrics, void> {
    const bs = this.config.perDeviceEvalBatchSize;
    const set = maxBatches === undefined ? this.valSet : this.valSet.slice(0, maxBatches * bs);
    let nats = 0, count = 0, correct = 0, i = 0;
    for (const b of sequentialBatches(set, bs, (it) => this.collate(it))) {
      if (this.shard && i++ % this.shard.numReplicas !== this.shard.rank) continue; // another rank's batch
      T.scope(() => {
        // tokenAccuracy needs each position's argmax, so evaluation computes the logits.
        const logits = linear(this.hidden(b), this.model.lmHeadWeight());
        const [B, Tn] = b.tgtShape;
        const V = logits.shape[2];
        const n = b.labels.reduce((a, y) => a + (y === IGNORE_INDEX ? 0 : 1), 0);
        const { terms } = classObjective(logits.reshape(B * Tn, V), intTensor(b.labels, [B * Tn]), { ce: 1 }, { ignoreIndex: IGNORE_INDEX });
        nats += terms.ce * n;
        count += n;
        const pred = T.argmax(logits, -1).data();
        for (let i = 0; i < B * Tn; i++) if (b.labels[i] !== IGNORE_INDEX && pred[i] === b.labels[i]) correct++;
      });
      yield;
    }
    if (this.shard) [nats, count, correct] = reduced(this.shard.reduceSum, [nats, count, correct]);
    const loss = nats / count;
    const pairs = this.valPairs.slice(0, set.length);
    const preds = yield* this.translateBatchSteps(pairs.map((p) => p.src));
    const refs = [pairs.map((p) => p.tgt)];
    this.lastSamples = pairs.slice(0, 12).map((p, i) => ({ source: p.src, prediction: preds[i], reference: p.tgt }));
    return {
      loss, perplexity: Math.exp(loss), tokenAccuracy: correct / count,
      bleu: corpusBleu(preds, refs).score, chrf: corpusChrf(preds, refs).score,
    };
  }

  /** Translation of one source text (see {@link translateBatch}). */
  translate(src: string, options: TranslateOptions = {}): string {
    return this.translateBatch([src], options)[0];
  }

  /**
   * Translations of source texts, perDeviceEvalBatchSize at a time: greedy when numBeams is 1, else
   * beam search; defaults from the config's `generation` block, at most maxNewTokens tokens (capped
   * by the model's blockSize). Special tokens are dropped and the text trimmed.
   */
  translateBatch(srcs: readonly string[], options: TranslateOptions = {}): string[] {
    return runToEnd(this.translateBatchSteps(srcs, options));
  }

  /** {@link translateBatch} yielding after each batch of sources (a Ctrl-C is seen between batches). */
  *translateBatchSteps(srcs: readonly string[], options: TranslateOptions = {}): Generator<void, string[], void> {
    const g = this.config.generation;
    const numBeams = options.numBeams ?? g.numBeams, lengthPenalty = options.lengthPenalty ?? g.lengthPenalty;
    const maxNewTokens = Math.min(options.maxNewTokens ?? g.maxNewTokens, this.model.config.blockSize - 1);
    const bs = this.config.perDeviceEvalBatchSize, out = new Array<string>(srcs.length);
    const encoded = srcs.map((s) => {
      const ids = this.tokenizer.encode(s).slice(0, this.config.data.maxLength);
      return ids.length ? ids : [this.ids.pad];
    });
    // Batches of sources of similar length: less padding, and a batch stops as soon as its rows
    // have all emitted EOS, which short sources do early. Each translation goes back to its place.
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[a].length - encoded[b].length);
    for (let i = 0; i < srcs.length; i += bs) {
      const rowsAt = order.slice(i, i + bs);
      const chunk = rowsAt.map((k) => encoded[k]);
      const S = Math.max(...chunk.map((c) => c.length)), B = chunk.length;
      const ids = new Int32Array(B * S).fill(this.ids.pad), mask = new Int32Array(B * S);
      chunk.forEach((c, b) => { ids.set(c, b * S); mask.fill(1, b * S, b * S + c.length); });
      T.scope(() => {
        const src = intTensor(ids, [B, S]), m = intTensor(mask, [B, S]);
        const seq = numBeams > 1
          ? this.model.beamSearch(src, { srcAttentionMask: m, numBeams, lengthPenalty, maxNewTokens }).sequences
          : this.model.greedyDecode(src, { srcAttentionMask: m, maxNewTokens });
        const L = seq.shape[1], data = seq.data();
        for (let b = 0; b < B; b++) out[rowsAt[b]] = this.tokenizer.decode(data.subarray(b * L, (b + 1) * L), { skipSpecialTokens: true }).trim();
      });
      yield;
    }
    return out;
  }

  dataState(): LoaderTaskState { return loaderDataState(this.loader, this.model.generator); }

  setDataState(state: unknown): void { setLoaderDataState(state, this.loader, this.model.generator); }

  epoch(): number { return loaderEpoch(this.loader); }

  artifacts(): Record<string, unknown> {
    return { 'tokenizer.json': this.tokenizer.toJSON() };
  }
}
