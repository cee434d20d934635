/**
 * Sequence classification with an `EncoderForSequenceClassification` (Encoder + pooled linear head)
 * trained from scratch on a JSONL file of `{text, label}` lines. Batches are shuffled per epoch from
 * the seed (`DataLoader`), padded to the longest row, with attention masks. Metrics: `loss` (mean
 * cross-entropy), `accuracy`, `macroF1`. With `data.longDocuments`, a text longer than maxLength is
 * read in overlapping windows whose logits are pooled (mean or max) into the document's, in
 * training, evaluation and predict. With `distillation.transferData`, every training batch also
 * carries transfer-set texts (label ignoreIndex: kd only, no ce; tasks/distillation.ts).
 */
import {
  classificationWindows, collateClassification, DataLoader, encodeClassification, exampleRng, LabelMap, TextAugmenter, type BatchPosition, loadClassificationJsonl, loadTransferTexts, permutation, sequentialBatches, transferIndices,
  tokenizerFromConfig, type ClassificationBatch, type ClassificationDataset, type EncodedClassificationExample,
  type Tokenizer,
} from '../data/index.js';
import { ConfigError, FileFormatError } from '../errors.js';
import { log } from '../logger.js';
import { EncoderForSequenceClassification } from '../models/encoder.js';
import * as T from '../tensor/index.js';
import { buildModel, buildTokenizer, intTensor } from './tensors.js';
import { poolWindows } from './window-pool.js';
import { requireDataFile } from './data-file.js';
import type { TaskConfig } from './config.js';
import { accuracy, argmaxRows, macroF1 } from './metrics.js';
import { checkObjective, classObjective } from './objective.js';
import { runToEnd, type EvalMetrics, type LossOptions, type LossOutput, type Task } from './types.js';
import { distillationWeights, type TeacherSpec } from './distillation.js';
import { ClassificationTeacher } from './classification-teacher.js';
import { loaderDataState, loaderEpoch, setLoaderDataState, type LoaderTaskState } from './loader-state.js';

export interface ClassificationTaskOptions {
  tokenizer?: Tokenizer;
  labelMap?: LabelMap;
  /** Skip reading the training file (eval / predict from a checkpoint). */
  noTrainData?: boolean;
}

/** The encoder classifier of a config. */
export function buildClassifier(config: TaskConfig, vocabSize: number, numLabels: number): EncoderForSequenceClassification {
  const { nLayer, nHead, nEmbd, nInner, dropout, bias, maxPositions, pooling, tieWordEmbeddings: _t, ...rest } = config.model;
  return buildModel(() => new EncoderForSequenceClassification({
    ...(rest as Record<string, unknown>),
    vocabSize, nLayer, nHead, nEmbd, nInner, dropout, bias, pooling, numLabels,
    blockSize: maxPositions ?? config.data.maxLength,
    seed: config.seed,
  }), { config, vocabSize });
}

/** Splits a dataset: a seeded permutation, the last `fraction` as validation. */
function splitDataset(d: ClassificationDataset, fraction: number, seed: number): [ClassificationDataset, ClassificationDataset] {
  const perm = permutation(d.examples.length, seed, 0x5e1);
  const nVal = Math.max(1, Math.floor(d.examples.length * fraction));
  const pick = (idx: ArrayLike<number>) => Array.from(idx, (i) => d.examples[i]);
  return [
    { ...d, examples: pick(perm.subarray(0, perm.length - nVal)) },
    { ...d, examples: pick(perm.subarray(perm.length - nVal)) },
  ];
}

/**
 * The label map of a training set: the labels seen, or, with `model.numLabels` declared, the classes
 * 0..numLabels-1 (integer labels) / at most numLabels string labels.
 * @throws FileFormatError `path:line` naming the first label outside the declared count.
 */
function labelMapOf(d: ClassificationDataset, numLabels: number | undefined): LabelMap {
  if (numLabels === undefined) return LabelMap.fromLabels(d.examples.map((e) => e.label));
  const seen = new Set<string | number>();
  for (const e of d.examples) {
    if (typeof e.label === 'number') {
      if (!(Number.isInteger(e.label) && e.label >= 0 && e.label < numLabels)) {
        throw new FileFormatError(`${d.path}:${e.line}: label ${e.label} is outside model.numLabels = ${numLabels} (labels 0..${numLabels - 1})`);
      }
    } else if (!seen.has(e.label) && seen.size === numLabels) {
      throw new FileFormatError(`${d.path}:${e.line}: label ${JSON.stringify(e.label)} would be class ${numLabels + 1}; model.numLabels is ${numLabels} (seen: ${[...seen].map((l) => JSON.stringify(l)).join(', ')})`);
    }
    seen.add(e.label);
  }
  if (d.examples.every((e) => typeof e.label === 'number')) return new LabelMap(Array.from({ length: numLabels }, (_, i) => i));
  return LabelMap.fromLabels(seen);
}

/** A training set whose examples all have one label trains to a meaningless "100% accuracy": say so. */
function warnOneClass(d: ClassificationDataset): void {
  const first = d.examples[0]?.label;
  if (d.examples.length > 0 && d.examples.every((e) => e.label === first)) {
    log.warn(`warning: ${d.path}: every training example has label ${JSON.stringify(first)} (one class): the classifier learns nothing and its accuracy means nothing`);
  }
}

export class ClassificationTask implements Task<ClassificationBatch> {
  readonly name = 'classification';
  readonly metricNames = ['loss', 'accuracy', 'macroF1', 'evalExamples'] as const;
  readonly model: EncoderForSequenceClassification;
  batchesPerEpoch: number;
  private readonly loader: DataLoader<EncodedClassificationExample, ClassificationBatch> | null;
  /** The objective's weights (distillation: ce scaled by 1 − alpha, kd = alpha). */
  private readonly weights: Record<string, number>;
  /** Distillation: the teacher (logits live or from the cache). */
  private teacher: ClassificationTeacher | null = null;
  /** Training-set indices of the batches nextBatch returned (for the teacher-logit cache; transfer rows: trainSet.length + their index). */
  private readonly batchIndices = new WeakMap<ClassificationBatch, Int32Array>();
  /** Data parallelism: this rank's share of the transfer texts of a step. */
  private replicas = { numReplicas: 1, rank: 0 };

  private constructor(
    readonly config: TaskConfig,
    readonly tokenizer: Tokenizer,
    readonly labelMap: LabelMap,
    readonly trainSet: EncodedClassificationExample[],
    readonly valSet: EncodedClassificationExample[],
    /** data.augment of the training draws (null: off); evaluation never sees it. */
    readonly augmenter: TextAugmenter | null = null,
    /** distillation.transferData encoded, each label TRANSFER_LABEL (empty: none). Never augmented. */
    readonly transferSet: EncodedClassificationExample[] = [],
  ) {
    checkObjective(config.objective);
    this.weights = distillationWeights(config.objective, config.distillation);
    if (tokenizer.padId === undefined) throw new ConfigError('data.tokenizer: classification needs a tokenizer with a [PAD] token (word, or char with specialTokens: true)');
    this.model = buildClassifier(config, tokenizer.vocabSize, labelMap.numLabels);
    this.loader = trainSet.length > 0
      ? new DataLoader(trainSet, (items, at) => this.collateTrain(items, at), {
        batchSize: config.perDeviceTrainBatchSize, shuffle: true, seed: config.seed,
        lengths: config.groupByLength ? trainSet.map((e) => e.inputIds.length) : undefined,
      })
      : null;
    this.batchesPerEpoch = this.loader?.batchesPerEpoch ?? 1;
  }

  /**
   * Reads the JSONL files, builds the tokenizer (vocabulary from the training texts) and the label map.
   * @throws FileFormatError `path:line: problem` for a malformed line (unless data.skipMalformed) or
   *   a missing file.
   */
  static async create(config: TaskConfig, options: ClassificationTaskOptions = {}): Promise<ClassificationTask> {
    const d = config.data;
    const jsonl = { skipMalformed: d.skipMalformed, limit: d.limit, textField: d.textField, labelField: d.labelField };
    let train: ClassificationDataset | null = null;
    let val: ClassificationDataset;
    if (options.noTrainData && d.validation) {
      val = await loadClassificationJsonl(d.validation, jsonl);
    } else {
      train = await loadClassificationJsonl(d.train, jsonl);
      if (train.examples.length === 0) throw new FileFormatError(`${d.train}: no examples (data.train must hold {"text", "label"} lines)`);
      if (d.validation) val = await loadClassificationJsonl(d.validation, jsonl);
      else [train, val] = splitDataset(train, d.valFraction || 0.1, config.seed);
      for (const s of [train, val]) if (s.skipped > 0) log.warn(`warning: ${s.path}: skipped ${s.skipped} malformed line(s)`);
    }
    const tokCfg = d.tokenizer.type === 'char' && d.tokenizer.specialTokens === undefined ? { ...d.tokenizer, specialTokens: true } : d.tokenizer;
    const tokenizer = options.tokenizer ?? buildTokenizer(tokCfg, () => (train ?? val).examples.map((e) => e.text), (train ?? val).path);
    if (!options.labelMap) checkLabelTypes(train ?? val);
    const labelMap = options.labelMap ?? labelMapOf(train ?? val, config.model.numLabels);
    if (train && !options.noTrainData) warnOneClass(train);
    const enc = (s: ClassificationDataset, keepText = false) => encodeClassification(s, tokenizer, labelMap, { ...encodeOptions(config), skipUnknownLabels: d.skipMalformed, keepText }).examples;
    const trainSet = train && !options.noTrainData ? enc(train, d.augment !== undefined) : [];
    let augmenter: TextAugmenter | null = null;
    if (d.augment && trainSet.length > 0) {
      augmenter = await TextAugmenter.create(d.augment, trainSet.map((e) => e.text!));
      if (d.augment.backTranslation !== undefined) {
        log.info(`data.augment.backTranslation: ${augmenter.paraphraseCoverage(trainSet.map((e) => e.text!))} of ${trainSet.length} training texts have a paraphrase in ${d.augment.backTranslation}`);
      }
      if (!augmenter.enabled) augmenter = null;
    }
    const transferSet = trainSet.length > 0 ? await encodeTransferSet(config, tokenizer, labelMap) : [];
    checkTransferBatchSize(config, transferSet.length);
    return new ClassificationTask(config, tokenizer, labelMap, trainSet, enc(val), augmenter, transferSet);
  }

  /**
   * The transfer-set examples of training step (epoch, index): transferBatchSize of them (this rank's
   * share under data parallelism), drawn from (seed, global step) alone; their indices in transferSet.
   */
  private transferAt(epoch: number, index: number): Int32Array {
    const b = this.config.distillation?.transferBatchSize ?? this.config.perDeviceTrainBatchSize;
    const { numReplicas, rank } = this.replicas;
    const step = epoch * this.loader!.batchesPerEpoch + index;
    return transferIndices(this.transferSet.length, b * numReplicas, this.config.seed, step).subarray(rank * b, (rank + 1) * b);
  }

  /**
   * A training batch: with data.augment, each example is augmented from its text with the generator
   * of (seed, epoch, its dataset index), then encoded as at load time.
   */
  private collateTrain(items: EncodedClassificationExample[], at: BatchPosition): ClassificationBatch {
    const transfer = this.transferSet.length > 0 ? Array.from(this.transferAt(at.epoch, at.index), (i) => this.transferSet[i]) : [];
    const aug = this.augmenter;
    if (!aug) return this.collate([...items, ...transfer]);
    const tok = this.tokenizer;
    const wrap = tok.clsId !== undefined && tok.sepId !== undefined;
    const out = items.map((e, k) => {
      const rng = exampleRng(this.config.seed, at.epoch, at.indices[k]);
      const { text } = aug.augmentText(e.text!, rng);
      const windows = classificationWindows(aug.maskTokens(text, tok, rng), tok, wrap, this.config.data.maxLength, this.config.data.longDocuments?.stride);
      return windows.length > 1 ? { inputIds: windows[0], label: e.label, windows } : { inputIds: windows[0], label: e.label };
    });
    return this.collate([...out, ...transfer]);
  }

  private collate(items: EncodedClassificationExample[]): ClassificationBatch {
    return collateClassification(items, { padId: this.tokenizer.padId!, maxLength: this.config.data.maxLength });
  }

  /** Data parallelism: this rank's share of each global training batch (see Task); every rank evaluates everything. */
  setDataParallel(numReplicas: number, rank: number): void {
    this.loader?.setShard(numReplicas, rank);
    this.replicas = { numReplicas, rank };
    this.batchesPerEpoch = this.loader?.batchesPerEpoch ?? 1;
  }

  nextBatch(): ClassificationBatch {
    if (!this.loader) throw new ConfigError('data.train: no training data loaded');
    const { batch, epoch, index } = this.loader.next();
    if (this.teacher) {
      const labelled = this.loader.indicesAt(epoch, index);
      const transfer = this.transferSet.length > 0 ? this.transferAt(epoch, index) : new Int32Array(0);
      const all = new Int32Array(labelled.length + transfer.length);
      all.set(labelled);
      transfer.forEach((t, j) => { all[labelled.length + j] = this.trainSet.length + t; });
      this.batchIndices.set(batch, all);
    }
    return batch;
  }

  /** Distillation: the teacher (an EncoderForSequenceClassification of the same tokenizer and labels). */
  setTeacher(spec: TeacherSpec): void {
    const examples = this.transferSet.length > 0 ? [...this.trainSet, ...this.transferSet] : this.trainSet;
    this.teacher = new ClassificationTeacher(spec, examples, this.config, (items) => this.collate(items), this.augmenter);
  }

  /** logits [B, K] for a batch (documents read in windows: the windows' logits pooled per document). */
  logits(batch: ClassificationBatch): T.Tensor {
    const [R, L] = batch.shape;
    const rows = this.model.forward(intTensor(batch.inputIds, [R, L]), { attentionMask: intTensor(batch.attentionMask, [R, L]) });
    return batch.windowCounts ? poolWindows(rows, batch.windowCounts, this.config.data.longDocuments?.pool ?? 'mean') : rows;
  }

  /** Texts as examples of this task (label: the first class), windowed as the training data was. */
  encodeTexts(texts: readonly string[]): EncodedClassificationExample[] {
    const examples = texts.map((text, i) => ({ text, label: this.labelMap.labels[0], line: i + 1 }));
    return encodeClassification({ path: 'input', skipped: 0, examples }, this.tokenizer, this.labelMap, encodeOptions(this.config)).examples;
  }

  /** One target per example. */
  countTargets(batch: ClassificationBatch): number {
    return batch.labels.length;
  }

  loss(batch: ClassificationBatch, _options: LossOptions = {}): LossOutput {
    const logits = this.logits(batch);
    const { loss, terms, parts } = classObjective(logits, intTensor(batch.labels, [batch.labels.length]), this.weights, {
      labelSmoothing: this.config.labelSmoothingFactor, params: this.model.parameters(),
      teacher: this.teacher && (this.weights.kd ?? 0) > 0 ? this.teacher.targets(batch, this.batchIndices.get(batch)) : undefined,
      temperature: this.teacher?.temperature, kdAllRows: this.transferSet.length > 0,
    });
    return { loss, terms, parts, tokens: batch.shape[0] * batch.shape[1] };
  }

  /** Predicted class index of each example. */
  predict(examples: EncodedClassificationExample[]): { pred: Int32Array; probs: Float32Array[] } {
    const pred: number[] = [];
    const probs: Float32Array[] = [];
    for (const batch of sequentialBatches(examples, this.config.perDeviceEvalBatchSize, (it) => this.collate(it))) {
      T.scope(() => {
        const p = T.softmax(this.logits(batch), -1);
        const K = p.shape[1], B = p.shape[0];
        const d = p.data();
        const am = argmaxRows(d, B, K);
        for (let b = 0; b < B; b++) { pred.push(am[b]); probs.push(Float32Array.from(d.subarray(b * K, (b + 1) * K))); }
      });
    }
    return { pred: Int32Array.from(pred), probs };
  }

  evaluate(maxBatches?: number): EvalMetrics {
    return runToEnd(this.evaluateSteps(maxBatches));
  }

  *evaluateSteps(maxBatches?: number): Generator<void, EvalMetrics, void> {
    const bs = this.config.perDeviceEvalBatchSize;
    const set = maxBatches === undefined ? this.valSet : this.valSet.slice(0, maxBatches * bs);
    let nll = 0;
    const preds: number[] = [];
    for (const batch of sequentialBatches(set, bs, (it) => this.collate(it))) {
      T.scope(() => {
        const logits = this.logits(batch);
        const B = batch.labels.length, K = logits.shape[1];
        const { terms } = classObjective(logits, intTensor(batch.labels, [B]), { ce: 1 });
        nll += terms.ce * B;
        preds.push(...argmaxRows(logits.data(), B, K));
      });
      yield;
    }
    const labels = set.map((e) => e.label);
    return { loss: nll / set.length, accuracy: accuracy(preds, labels), macroF1: macroF1(preds, labels), evalExamples: set.length };
  }

  dataState(): LoaderTaskState { return loaderDataState(this.loader, this.model.encoder.generator); }

  setDataState(state: unknown): void { setLoaderDataState(state, this.loader, this.model.encoder.generator); }

  epoch(): number { return loaderEpoch(this.loader); }

  artifacts(): Record<string, unknown> {
    return { 'tokenizer.json': this.tokenizer.toJSON(), 'labels.json': this.labelMap.toJSON() };
  }
}

/** The label of a transfer-set row: PyTorch's ignore_index, so ce leaves it out (kd counts it). */
export const TRANSFER_LABEL = -100;

/**
 * distillation.transferData read and encoded as the training texts are (windows included), each
 * with label TRANSFER_LABEL; [] without one.
 * @throws FileFormatError one line naming the file (and line) for a missing or empty file or a line without text.
 */
async function encodeTransferSet(config: TaskConfig, tokenizer: Tokenizer, labelMap: LabelMap): Promise<EncodedClassificationExample[]> {
  const path = config.distillation?.transferData;
  if (path === undefined) return [];
  requireDataFile(path, 'distillation.transferData');
  const texts = await loadTransferTexts(path, config.data.textField);
  const examples = texts.map((text, i) => ({ text, label: labelMap.labels[0], line: i + 1 }));
  const enc = encodeClassification({ path, skipped: 0, examples }, tokenizer, labelMap, encodeOptions(config)).examples;
  log.info(`distillation.transferData: ${enc.length} transfer texts from ${path}`);
  return enc.map((e) => ({ ...e, label: TRANSFER_LABEL }));
}

/**
 * A transfer batch larger than the transfer set would draw texts twice in one step (the draw wraps)
 * and its rows cost memory for nothing: transferBatchSize 100000 over 400 texts went to the kernel's
 * OOM killer at 24 GB.
 * @param rows the transfer rows (texts, or windows of long texts) read from distillation.transferData.
 * @throws ConfigError naming distillation.transferBatchSize when it exceeds `rows`.
 */
function checkTransferBatchSize(config: TaskConfig, rows: number): void {
  const b = config.distillation?.transferBatchSize;
  if (rows > 0 && b !== undefined && b > rows) {
    throw new ConfigError(`distillation.transferBatchSize: ${b} is more than the ${rows} transfer texts of ${config.distillation!.transferData}; give at most ${rows} (each step draws that many distinct texts)`, ['distillation', 'transferBatchSize']);
  }
}

/**
 * maxLength, and the windows of data.longDocuments.
 * @throws ConfigError naming data.longDocuments.stride when it leaves no room for new tokens.
 */
function encodeOptions(config: TaskConfig): { maxLength: number; windows?: { stride: number } } {
  const d = config.data, long = d.longDocuments;
  if (!long) return { maxLength: d.maxLength };
  if (long.stride >= d.maxLength - 2) {
    throw new ConfigError(`data.longDocuments.stride: ${long.stride} must be below data.maxLength - 2 = ${d.maxLength - 2} (the text tokens of a window besides [CLS] and [SEP])`, ['data', 'longDocuments', 'stride']);
  }
  return { maxLength: d.maxLength, windows: { stride: long.stride } };
}

/**
 * Labels must be all strings or all integers: a stray `5` among "ham"/"spam" is a data error, not a
 * third class. @throws FileFormatError naming file:line of the first label of the minority type.
 */
function checkLabelTypes(ds: ClassificationDataset): void {
  const nums = ds.examples.filter((e) => typeof e.label === 'number');
  if (nums.length === 0 || nums.length === ds.examples.length) return;
  const strs = ds.examples.filter((e) => typeof e.label === 'string');
  const [odd, kind, other] = nums.length <= strs.length ? [nums[0], 'a number', 'strings'] : [strs[0], 'a string', 'numbers'];
  throw new FileFormatError(`${ds.path}:${odd.line}: label ${JSON.stringify(odd.label)} is ${kind} while the other labels are ${other}`);
}
