/**
 * A task built from a user's model and in-memory datasets (the library Trainer's
 * `new Trainer({ model, args, trainDataset, evalDataset, computeMetrics })`), Hugging Face-style:
 * examples are already token ids.
 *
 * - Language modelling (a `GPT`): `{ inputIds: number[], labels?: number[] }`; labels default to the
 *   inputIds and are shifted inside, as Hugging Face's causal-LM models do (position t predicts label
 *   t+1); padding labels are -100 (ignored). Loss through the fused LM head (`lmHeadObjective`), as
 *   the `lm` task's.
 * - Sequence classification (an `EncoderForSequenceClassification`): `{ inputIds: number[], label: number }`,
 *   padded with `padId` and masked.
 *
 * `input_ids` is accepted for `inputIds` and `labels` (a number) for `label`. Datasets may be arrays
 * or any iterable (read once into an array: epochs and exact resume need to revisit them). Batches
 * are shuffled per epoch from the seed by the data layer's `DataLoader`, whose position (with the
 * model's dropout generator) is the resumable state.
 */
import { DataLoader, sequentialBatches, IGNORE_INDEX, padSequences, type Tokenizer } from '../data/index.js';
import { ConfigError, ValueError } from '../errors.js';
import { GPT } from '../models/gpt.js';
import { EncoderForSequenceClassification } from '../models/encoder.js';
import { linear } from '../nn/functional.js';
import * as T from '../tensor/index.js';
import type { TaskConfig } from './config.js';
import { loaderDataState, loaderEpoch, setLoaderDataState } from './loader-state.js';
import { argmaxRows } from './metrics.js';
import { checkObjective, classObjective, lmHeadObjective } from './objective.js';
import { countCounted, intTensor } from './tensors.js';
import { runToEnd, type EvalMetrics, type LossOutput, type Task } from './types.js';

/** One example: token ids, and a class (classification) or per-token labels (lm, optional). */
export interface DatasetExample {
  inputIds?: ArrayLike<number>;
  input_ids?: ArrayLike<number>;
  label?: number;
  labels?: number | ArrayLike<number>;
}

/** What `computeMetrics` receives (Hugging Face's `EvalPrediction`, with arg-max ids as predictions). */
export interface EvalPrediction {
  /** classification: the predicted class of each example; lm: the predicted next token at each position. */
  predictions: number[] | number[][];
  /** classification: the label of each example; lm: each position's target (-100 where ignored). */
  labelIds: number[] | number[][];
}

export type ComputeMetrics = (p: EvalPrediction) => Record<string, number>;

export interface DatasetTaskOptions {
  model: GPT | EncoderForSequenceClassification;
  trainDataset: Iterable<DatasetExample>;
  evalDataset?: Iterable<DatasetExample>;
  computeMetrics?: ComputeMetrics;
  /** Saved beside checkpoints (tokenizer.json) when given. */
  tokenizer?: Tokenizer;
  /** Token id of padding for classification inputs (default: the tokenizer's, else 0). */
  padId?: number;
}

interface Batch { ids: Int32Array; mask: Int32Array; labels: Int32Array; shape: [number, number] }
interface Encoded { ids: Int32Array; labels: Int32Array | number }

const ids = (e: DatasetExample, i: number, name: string): Int32Array => {
  const v = e.inputIds ?? e.input_ids;
  if (v === undefined || typeof v !== 'object' || typeof v.length !== 'number') throw new ValueError(`${name}[${i}]: needs inputIds (an array of token ids)`);
  const a = Int32Array.from(v);
  if (a.length === 0) throw new ValueError(`${name}[${i}]: inputIds is empty`);
  for (let j = 0; j < a.length; j++) if (a[j] !== v[j]) throw new ValueError(`${name}[${i}].inputIds[${j}]: ${v[j]} is not an int32 token id`);
  return a;
};

export class DatasetTask implements Task<Batch> {
  readonly name: 'lm' | 'classification';
  readonly model: GPT | EncoderForSequenceClassification;
  readonly tokenizer?: Tokenizer;
  batchesPerEpoch: number;
  readonly canEvaluate: boolean;
  private readonly train: Encoded[];
  private readonly eval: Encoded[];
  private readonly loader: DataLoader<Encoded, Batch>;
  private readonly padId: number;

  /** @throws ValueError naming `trainDataset[i]` / `evalDataset[i]` for a malformed example. */
  constructor(readonly config: TaskConfig, private readonly options: DatasetTaskOptions) {
    checkObjective(config.objective);
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    if (this.model instanceof GPT) this.name = 'lm';
    else if (this.model instanceof EncoderForSequenceClassification) this.name = 'classification';
    else throw new ConfigError('model: the Trainer trains a GPT (language modelling) or an EncoderForSequenceClassification from datasets');
    this.padId = options.padId ?? options.tokenizer?.padId ?? 0;
    this.train = this.encode(options.trainDataset, 'trainDataset');
    if (this.train.length === 0) throw new ValueError('trainDataset: is empty');
    this.eval = options.evalDataset ? this.encode(options.evalDataset, 'evalDataset') : [];
    this.canEvaluate = this.eval.length > 0;
    this.loader = new DataLoader(this.train, (items) => this.collate(items), { batchSize: config.perDeviceTrainBatchSize, shuffle: true, seed: config.seed });
    this.batchesPerEpoch = this.loader.batchesPerEpoch;
  }

  private encode(data: Iterable<DatasetExample>, name: string): Encoded[] {
    return Array.from(data, (e, i) => {
      if (e === null || typeof e !== 'object') throw new ValueError(`${name}[${i}]: an example is an object with inputIds`);
      const x = ids(e, i, name);
      if (this.name === 'classification') {
        const y = e.label ?? e.labels;
        if (typeof y !== 'number' || !Number.isInteger(y) || y < 0) throw new ValueError(`${name}[${i}].label: must be a class index >= 0 (got ${JSON.stringify(y)})`);
        return { ids: x, labels: y };
      }
      const l = e.labels ?? e.label;
      if (l === undefined) return { ids: x, labels: x };
      if (typeof l === 'number' || l.length !== x.length) throw new ValueError(`${name}[${i}].labels: must be one label per input token (${x.length})`);
      return { ids: x, labels: Int32Array.from(l) };
    });
  }

  private collate(items: Encoded[]): Batch {
    if (this.name === 'classification') {
      const p = padSequences(items.map((e) => e.ids), { padValue: this.padId });
      return { ids: p.data, mask: p.attentionMask, labels: Int32Array.from(items, (e) => e.labels as number), shape: p.shape };
    }
    // Causal LM: inputs are ids[0..n-2], targets labels[1..n-1] (the shift), padded with -100.
    const p = padSequences(items.map((e) => e.ids.subarray(0, Math.max(1, e.ids.length - 1))), { padValue: this.padId });
    const t = padSequences(items.map((e) => (e.labels as Int32Array).subarray(1)), { padValue: IGNORE_INDEX });
    const [B, L] = p.shape;
    const labels = new Int32Array(B * L).fill(IGNORE_INDEX);
    for (let b = 0; b < B; b++) labels.set(t.data.subarray(b * t.shape[1], b * t.shape[1] + Math.min(L, t.shape[1])), b * L);
    return { ids: p.data, mask: p.attentionMask, labels, shape: p.shape };
  }

  /** Data parallelism: this rank's share of each global training batch (see Task); every rank evaluates everything. */
  setDataParallel(numReplicas: number, rank: number): void {
    this.loader?.setShard(numReplicas, rank);
    this.batchesPerEpoch = this.loader?.batchesPerEpoch ?? 1;
  }

  nextBatch(): Batch {
    return this.loader.next().batch;
  }

  countTargets(batch: Batch): number {
    return this.name === 'classification' ? batch.labels.length : countCounted(batch.labels);
  }

  loss(batch: Batch): LossOutput {
    const [B, L] = batch.shape;
    const opts = { labelSmoothing: this.config.labelSmoothingFactor, params: this.model.parameters() };
    if (this.model instanceof GPT) {
      const hidden = this.model.hidden(intTensor(batch.ids, [B, L]));
      const { loss, terms } = lmHeadObjective(hidden.reshape(B * L, hidden.shape[2]), this.model.lmHeadWeight(), intTensor(batch.labels, [B * L]), this.config.objective, opts);
      return { loss, terms, tokens: B * L };
    }
    const logits = this.model.forward(intTensor(batch.ids, [B, L]), { attentionMask: intTensor(batch.mask, [B, L]) });
    const { loss, terms } = classObjective(logits, intTensor(batch.labels, [B]), this.config.objective, opts);
    return { loss, terms, tokens: B * L };
  }

  /**
   * Mean cross-entropy over the evaluation set (per counted token for lm, per example for
   * classification; lm adds perplexity) and the user's `computeMetrics` on arg-max predictions.
   * @throws ConfigError when there is no evalDataset.
   */
  evaluate(maxBatches?: number): EvalMetrics {
    return runToEnd(this.evaluateSteps(maxBatches));
  }

  /** {@link evaluate} yielding after each batch (a Ctrl-C is seen between batches). */
  *evaluateSteps(maxBatches?: number): Generator<void, EvalMetrics, void> {
    if (this.eval.length === 0) throw new ConfigError('evalDataset: evaluation needs an evalDataset (or evalStrategy "no")');
    const bs = this.config.perDeviceEvalBatchSize;
    const set = maxBatches === undefined ? this.eval : this.eval.slice(0, maxBatches * bs);
    let nll = 0;
    let count = 0;
    const predictions: (number | number[])[] = [];
    const labelIds: (number | number[])[] = [];
    const want = this.options.computeMetrics !== undefined;
    for (const batch of sequentialBatches(set, bs, (it) => this.collate(it))) {
      T.scope(() => {
        const [B, L] = batch.shape;
        const n = this.countTargets(batch);
        let logits: T.Tensor;
        if (this.model instanceof GPT) {
          const hidden = this.model.hidden(intTensor(batch.ids, [B, L])).reshape(B * L, -1);
          logits = linear(hidden, this.model.lmHeadWeight());
        } else {
          logits = this.model.forward(intTensor(batch.ids, [B, L]), { attentionMask: intTensor(batch.mask, [B, L]) });
        }
        const rows = logits.shape[0]!;
        const { terms } = classObjective(logits, intTensor(batch.labels, [batch.labels.length]), { ce: 1 });
        if (n > 0) { nll += terms.ce * n; count += n; }
        if (!want) return;
        const am = argmaxRows(logits.data(), rows, logits.shape[1]!);
        if (this.name === 'classification') {
          for (let b = 0; b < B; b++) { predictions.push(am[b]!); labelIds.push(batch.labels[b]!); }
        } else {
          for (let b = 0; b < B; b++) {
            predictions.push(Array.from(am.subarray(b * L, (b + 1) * L)));
            labelIds.push(Array.from(batch.labels.subarray(b * L, (b + 1) * L)));
          }
        }
      });
      yield;
    }
    const loss = count > 0 ? nll / count : NaN;
    const m: EvalMetrics = { loss, ...(this.name === 'lm' ? { perplexity: Math.exp(loss) } : {}) };
    if (want) Object.assign(m, this.options.computeMetrics!({ predictions, labelIds } as EvalPrediction));
    return m;
  }

  dataState(): unknown {
    return loaderDataState(this.loader, this.generator());
  }

  setDataState(state: unknown): void {
    setLoaderDataState(state, this.loader, this.generator());
  }

  private generator(): T.Generator {
    return this.model instanceof GPT ? this.model.generator : this.model.encoder.generator;
  }

  epoch(): number {
    return loaderEpoch(this.loader);
  }

  artifacts(): Record<string, unknown> {
    return this.tokenizer ? { 'tokenizer.json': this.tokenizer.toJSON() } : {};
  }
}
