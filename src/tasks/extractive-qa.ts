/**
 * Extractive question answering (SQuAD layout) with an `EncoderForQuestionAnswering`: the input is
 * `[CLS] question [SEP] context [SEP]` with token types, the head gives start and end logits over
 * positions, and the objective is the mean of the start and end cross-entropies (BERT, Devlin et al.
 * 2019 §4.2). Answers cut away by truncation point at [CLS] (position 0).
 *
 * Metrics: `loss`; `exactMatch` and `f1` (percent, metrics/squad.ts) of the predicted span's text against the reference answers
 * (best over references), with SQuAD v1.1's normalisation (lower case, no punctuation, no articles
 * a/an/the, single spaces) and token-overlap F1 (Rajpurkar et al. 2016, the official evaluate-v1.1
 * script). The predicted span maximises start + end logit over context positions with
 * start ≤ end < start + 30.
 */
import {
  collateQa, DataLoader, encodeSquadExample, answerFromSpan, loadSquadJsonl, permutation, tokenizerFromConfig,
  type QaBatch, type SquadDataset, type SquadExample, type SquadFeature, type Tokenizer,
} from '../data/index.js';
import { ConfigError } from '../errors.js';
import { squadMetrics } from '../metrics/index.js';
import { EncoderForQuestionAnswering } from '../models/encoder.js';
import * as T from '../tensor/index.js';
import { buildModel, intTensor } from './tensors.js';
import type { TaskConfig } from './config.js';
import { checkObjective, classObjective } from './objective.js';
import type { EvalMetrics, LossOutput, Task } from './types.js';
import { loaderDataState, loaderEpoch, setLoaderDataState, type LoaderTaskState } from './loader-state.js';

const MAX_ANSWER_TOKENS = 30;

interface QaItem { example: SquadExample; feature: SquadFeature }

export class ExtractiveQaTask implements Task<QaBatch> {
  readonly name = 'extractive-qa';
  readonly model: EncoderForQuestionAnswering;
  readonly batchesPerEpoch: number;
  private readonly loader: DataLoader<QaItem, QaBatch> | null;

  private constructor(readonly config: TaskConfig, readonly tokenizer: Tokenizer, readonly trainSet: QaItem[], readonly valSet: QaItem[]) {
    checkObjective(config.objective);
    if (tokenizer.padId === undefined) throw new ConfigError('data.tokenizer: extractive-qa needs a tokenizer with [PAD], [CLS] and [SEP]');
    const { nLayer, nHead, nEmbd, nInner, dropout, bias, maxPositions, pooling: _p, tieWordEmbeddings: _t, ...rest } = config.model;
    this.model = buildModel(() => new EncoderForQuestionAnswering({
      ...(rest as Record<string, unknown>), vocabSize: tokenizer.vocabSize, nLayer, nHead, nEmbd, nInner, dropout, bias,
      blockSize: maxPositions ?? config.data.maxLength, typeVocabSize: 2, seed: config.seed,
    }));
    this.loader = trainSet.length > 0
      ? new DataLoader(trainSet, (it) => this.collate(it), { batchSize: config.perDeviceTrainBatchSize, shuffle: true, seed: config.seed })
      : null;
    this.batchesPerEpoch = this.loader?.batchesPerEpoch ?? 1;
  }

  /** @throws FileFormatError for a missing file or a malformed line (file:line). */
  static async create(config: TaskConfig, options: { tokenizer?: Tokenizer; noTrainData?: boolean } = {}): Promise<ExtractiveQaTask> {
    const d = config.data;
    const o = { skipMalformed: d.skipMalformed, limit: d.limit };
    let train: SquadDataset | null = options.noTrainData && d.validation ? null : await loadSquadJsonl(d.train, o);
    let val: SquadDataset;
    if (d.validation) val = await loadSquadJsonl(d.validation, o);
    else {
      const all = train!.examples;
      const perm = permutation(all.length, config.seed, 0x5e3);
      const nVal = Math.max(1, Math.floor(perm.length * (d.valFraction || 0.1)));
      val = { ...train!, examples: Array.from(perm.subarray(perm.length - nVal), (i) => all[i]) };
      train = { ...train!, examples: Array.from(perm.subarray(0, perm.length - nVal), (i) => all[i]) };
    }
    const tokCfg = d.tokenizer.type === 'char' && d.tokenizer.specialTokens === undefined ? { ...d.tokenizer, specialTokens: true } : d.tokenizer;
    const tok = options.tokenizer ?? tokenizerFromConfig(tokCfg, () => (train ?? val).examples.flatMap((e) => [e.question, e.context]));
    const enc = (s: SquadDataset): QaItem[] => s.examples.map((example) => ({ example, feature: encodeSquadExample(example, tok, { maxLength: d.maxLength }) }));
    return new ExtractiveQaTask(config, tok, train && !options.noTrainData ? enc(train) : [], enc(val));
  }

  private collate(items: QaItem[]): QaBatch {
    return collateQa(items.map((x) => x.feature), { padId: this.tokenizer.padId! });
  }

  private forward(b: QaBatch): { startLogits: T.Tensor; endLogits: T.Tensor } {
    return this.model.forward(intTensor(b.inputIds, b.shape), {
      attentionMask: intTensor(b.attentionMask, b.shape), tokenTypeIds: intTensor(b.tokenTypeIds, b.shape),
    });
  }

  nextBatch(): QaBatch {
    if (!this.loader) throw new ConfigError('data.train: no training data loaded');
    return this.loader.next().batch;
  }

  private objective(b: QaBatch, weights: Record<string, number>): { loss: T.Tensor; terms: Record<string, number> } {
    const { startLogits, endLogits } = this.forward(b);
    const B = b.shape[0];
    const s = classObjective(startLogits, intTensor(b.startPositions, [B]), weights, { labelSmoothing: this.config.labelSmoothingFactor, params: this.model.parameters() });
    const e = classObjective(endLogits, intTensor(b.endPositions, [B]), weights, { labelSmoothing: this.config.labelSmoothingFactor, params: this.model.parameters() });
    const terms: Record<string, number> = {};
    for (const k of Object.keys(s.terms)) terms[k] = (s.terms[k] + e.terms[k]) / 2;
    return { loss: T.mulScalar(T.add(s.loss, e.loss), 0.5), terms };
  }

  /** One (start, end) target pair per example: the loss is a mean over examples. */
  countTargets(b: QaBatch): number {
    return b.shape[0];
  }

  loss(b: QaBatch): LossOutput {
    const { loss, terms } = this.objective(b, this.config.objective);
    return { loss, terms, tokens: b.shape[0] * b.shape[1] };
  }

  evaluate(maxBatches?: number): EvalMetrics {
    const bs = this.config.perDeviceEvalBatchSize;
    const set = maxBatches === undefined ? this.valSet : this.valSet.slice(0, maxBatches * bs);
    let nll = 0;
    const preds: string[] = [], refs: string[][] = [];
    for (let i = 0; i < set.length; i += bs) {
      const items = set.slice(i, i + bs);
      const b = this.collate(items);
      T.scope(() => {
        const { startLogits, endLogits } = this.forward(b);
        const B = b.shape[0], L = b.shape[1];
        const st = classObjective(startLogits, intTensor(b.startPositions, [B]), { ce: 1 }).terms.ce;
        const en = classObjective(endLogits, intTensor(b.endPositions, [B]), { ce: 1 }).terms.ce;
        nll += ((st + en) / 2) * B;
        const sl = startLogits.data(), el = endLogits.data();
        items.forEach((it, r) => {
          const f = it.feature;
          let best = -Infinity, bs0 = 0, be0 = -1;
          for (let s = f.contextStart; s < f.inputIds.length; s++) {
            if (!f.offsets[s]) continue;
            for (let e = s; e < Math.min(f.inputIds.length, s + MAX_ANSWER_TOKENS); e++) {
              if (!f.offsets[e]) continue;
              const v = sl[r * L + s] + el[r * L + e];
              if (v > best) { best = v; bs0 = s; be0 = e; }
            }
          }
          preds.push(answerFromSpan(it.example.context, f, bs0, be0));
          refs.push(it.example.answers.map((a) => a.text));
        });
      });
    }
    return { loss: nll / set.length, ...squadMetrics(preds, refs) };
  }

  dataState(): LoaderTaskState { return loaderDataState(this.loader, this.model.encoder.generator); }

  setDataState(state: unknown): void { setLoaderDataState(state, this.loader, this.model.encoder.generator); }

  epoch(): number { return loaderEpoch(this.loader); }

  artifacts(): Record<string, unknown> {
    return { 'tokenizer.json': this.tokenizer.toJSON() };
  }
}
