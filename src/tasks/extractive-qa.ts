/**
 * Extractive question answering (SQuAD layout) with an `EncoderForQuestionAnswering`: the input is
 * `[CLS] question [SEP] context [SEP]` with token types, the head gives start and end logits over
 * positions, and the objective is the mean of the start and end cross-entropies (BERT, Devlin et al.
 * 2019 §4.2). A context longer than `data.maxLength` is split into overlapping windows
 * (`data.docStride`, Hugging Face run_qa): each window is a training feature, pointing at [CLS]
 * (position 0) when it does not hold the whole answer; at evaluation the best span over all windows
 * (`data.nBestSize`, `data.maxAnswerLength`, qa-postprocess.ts) is mapped back by character offsets.
 *
 * Metrics: `loss`; `exactMatch` and `f1` (percent, metrics/squad.ts) of the predicted span's text against the reference answers
 * (best over references), with SQuAD v1.1's normalisation (lower case, no punctuation, no articles
 * a/an/the, single spaces) and token-overlap F1 (Rajpurkar et al. 2016, the official evaluate-v1.1
 * script).
 */
import {
  collateQa, DataLoader, encodeSquadWindows, loadSquadJsonl, permutation, tokenizerFromConfig,
  type QaBatch, type SquadDataset, type SquadExample, type SquadFeature, type Tokenizer,
} from '../data/index.js';
import { ConfigError } from '../errors.js';
import { squadMetrics } from '../metrics/index.js';
import { EncoderForQuestionAnswering } from '../models/encoder.js';
import * as T from '../tensor/index.js';
import { buildModel, buildTokenizer, intTensor } from './tensors.js';
import type { TaskConfig } from './config.js';
import { checkObjective, classObjective } from './objective.js';
import { runToEnd, type EvalMetrics, type LossOutput, type Task } from './types.js';
import { loaderDataState, loaderEpoch, setLoaderDataState, type LoaderTaskState } from './loader-state.js';
import { bestAnswers, type QaAnswer } from './qa-postprocess.js';

/** One window (feature) of example number `example`. */
interface QaItem { example: number; feature: SquadFeature }

/** A window's start and end logits over its positions. */
interface WindowLogits { feature: SquadFeature; startLogits: Float32Array; endLogits: Float32Array }

/** A question about a context (what `predict` reads). */
export interface QaQuestion { context: string; question: string }

/** Predictions of an evaluation: per example the best answer, and the examples' references. */
export interface QaPredictions { answers: QaAnswer[]; references: string[][] }

export class ExtractiveQaTask implements Task<QaBatch> {
  readonly name = 'extractive-qa';
  readonly model: EncoderForQuestionAnswering;
  batchesPerEpoch: number;
  private readonly loader: DataLoader<QaItem, QaBatch> | null;
  /** Question, predicted answer and references of the first examples of the last evaluation. */
  lastSamples: Array<{ source: string; prediction: string; reference: string }> = [];

  private constructor(readonly config: TaskConfig, readonly tokenizer: Tokenizer, readonly trainSet: QaItem[], readonly valExamples: SquadExample[]) {
    checkObjective(config.objective);
    if (tokenizer.padId === undefined) throw new ConfigError('data.tokenizer: extractive-qa needs a tokenizer with [PAD], [CLS] and [SEP]');
    const { nLayer, nHead, nEmbd, nInner, dropout, bias, maxPositions, pooling: _p, tieWordEmbeddings: _t, ...rest } = config.model;
    this.model = buildModel(() => new EncoderForQuestionAnswering({
      ...(rest as Record<string, unknown>), vocabSize: tokenizer.vocabSize, nLayer, nHead, nEmbd, nInner, dropout, bias,
      blockSize: maxPositions ?? config.data.maxLength, typeVocabSize: 2, seed: config.seed,
    }), { config, vocabSize: tokenizer.vocabSize });
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
    const tok = options.tokenizer ?? buildTokenizer(tokCfg, () => (train ?? val).examples.flatMap((e) => [e.question, e.context]), d.train);
    const trainItems = train && !options.noTrainData ? windowsOf(train.examples, tok, config) : [];
    return new ExtractiveQaTask(config, tok, trainItems, val.examples);
  }

  private collate(items: QaItem[]): QaBatch {
    return collateQa(items.map((x) => x.feature), { padId: this.tokenizer.padId! });
  }

  private forward(b: QaBatch): { startLogits: T.Tensor; endLogits: T.Tensor } {
    return this.model.forward(intTensor(b.inputIds, b.shape), {
      attentionMask: intTensor(b.attentionMask, b.shape), tokenTypeIds: intTensor(b.tokenTypeIds, b.shape),
    });
  }

  /** Data parallelism: this rank's share of each global training batch (see Task); every rank evaluates everything. */
  setDataParallel(numReplicas: number, rank: number): void {
    this.loader?.setShard(numReplicas, rank);
    this.batchesPerEpoch = this.loader?.batchesPerEpoch ?? 1;
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

  /** Start and end logits of each window, batched by perDeviceEvalBatchSize, yielding after each batch; `onBatch` sees each batch. */
  private *logitsSteps(items: QaItem[], onBatch?: (b: QaBatch, start: T.Tensor, end: T.Tensor) => void): Generator<void, WindowLogits[], void> {
    const bs = this.config.perDeviceEvalBatchSize;
    const out: WindowLogits[] = [];
    for (let i = 0; i < items.length; i += bs) {
      const chunk = items.slice(i, i + bs);
      const b = this.collate(chunk);
      T.scope(() => {
        const { startLogits, endLogits } = this.forward(b);
        const sl = Float32Array.from(startLogits.data()), el = Float32Array.from(endLogits.data());
        onBatch?.(b, startLogits, endLogits);
        const L = b.shape[1];
        chunk.forEach((it, r) => out.push({ feature: it.feature, startLogits: sl.subarray(r * L, (r + 1) * L), endLogits: el.subarray(r * L, (r + 1) * L) }));
      });
      yield;
    }
    return out;
  }

  /** The best answers to questions about contexts (eval mode and no-grad are the caller's). */
  answer(questions: readonly QaQuestion[]): QaAnswer[] {
    return runToEnd(this.answerSteps(questions));
  }

  /** {@link answer} yielding after each batch of windows (a Ctrl-C is seen between batches). */
  *answerSteps(questions: readonly QaQuestion[]): Generator<void, QaAnswer[], void> {
    const items = windowsOf(questions.map((q) => ({ ...q, answers: [] })), this.tokenizer, this.config);
    const logits = yield* this.logitsSteps(items);
    return questions.map((q, k) => bestAnswers(q.context, logits.filter((_, i) => items[i].example === k), this.postprocess())[0]);
  }

  private postprocess() {
    return { nBestSize: this.config.data.nBestSize, maxAnswerLength: this.config.data.maxAnswerLength };
  }

  /**
   * Loss (mean start/end cross-entropy over windows), exactMatch and f1 (percent, best reference)
   * over `examples` (default: the validation set; `maxBatches` × perDeviceEvalBatchSize examples).
   */
  evaluate(maxBatches?: number, examples?: readonly SquadExample[]): EvalMetrics {
    return this.evaluateWithPredictions(maxBatches, examples).metrics;
  }

  /** {@link evaluate} yielding after each batch of windows (a Ctrl-C is seen between batches). */
  *evaluateSteps(maxBatches?: number, examples?: readonly SquadExample[]): Generator<void, EvalMetrics, void> {
    return (yield* this.evaluateWithPredictionsSteps(maxBatches, examples)).metrics;
  }

  /** {@link evaluate} with each example's predicted answer and references. */
  evaluateWithPredictions(maxBatches?: number, examples: readonly SquadExample[] = this.valExamples): { metrics: EvalMetrics; predictions: QaPredictions } {
    return runToEnd(this.evaluateWithPredictionsSteps(maxBatches, examples));
  }

  private *evaluateWithPredictionsSteps(maxBatches?: number, examples: readonly SquadExample[] = this.valExamples): Generator<void, { metrics: EvalMetrics; predictions: QaPredictions }, void> {
    const bs = this.config.perDeviceEvalBatchSize;
    const set = maxBatches === undefined ? examples : examples.slice(0, maxBatches * bs);
    const items = windowsOf(set, this.tokenizer, this.config);
    let nll = 0;
    const logits = yield* this.logitsSteps(items, (b, sl, el) => {
      const B = b.shape[0];
      const st = classObjective(sl, intTensor(b.startPositions, [B]), { ce: 1 }).terms.ce;
      const en = classObjective(el, intTensor(b.endPositions, [B]), { ce: 1 }).terms.ce;
      nll += ((st + en) / 2) * B;
    });
    const byExample: Array<typeof logits> = set.map(() => []);
    logits.forEach((l, i) => byExample[items[i].example].push(l));
    const answers = set.map((ex, k) => bestAnswers(ex.context, byExample[k], this.postprocess())[0]);
    const references = set.map((ex) => ex.answers.map((a) => a.text));
    const m = squadMetrics(answers.map((a) => a.text), references);
    this.lastSamples = set.slice(0, 12).map((ex, k) => ({ source: ex.question, prediction: answers[k].text, reference: references[k].join(' | ') }));
    return { metrics: { loss: nll / Math.max(1, items.length), exactMatch: m.exactMatch, f1: m.f1 }, predictions: { answers, references } };
  }

  dataState(): LoaderTaskState { return loaderDataState(this.loader, this.model.encoder.generator); }

  setDataState(state: unknown): void { setLoaderDataState(state, this.loader, this.model.encoder.generator); }

  epoch(): number { return loaderEpoch(this.loader); }

  artifacts(): Record<string, unknown> {
    return { 'tokenizer.json': this.tokenizer.toJSON() };
  }
}

/** The windows of every example, each tagged with its example's index. */
function windowsOf(examples: ReadonlyArray<Pick<SquadExample, 'context' | 'question' | 'answers'>>, tok: Tokenizer, config: TaskConfig): QaItem[] {
  const d = config.data;
  return examples.flatMap((ex, example) => encodeSquadWindows(ex, tok, { maxLength: d.maxLength, docStride: d.docStride }).map((feature) => ({ example, feature })));
}
