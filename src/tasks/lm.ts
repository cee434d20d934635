/**
 * Language modelling with a decoder-only `GPT`: next-token prediction on blocks of a text file.
 * Training batches are random blocks (nanoGPT style, `LmBlockSampler`, seeded); validation covers
 * the held-out text in order with non-overlapping blocks. Metrics: `loss` (mean cross-entropy in
 * nats per token), `perplexity` = exp(loss) and `lossPerChar` (nats per character of the validation
 * text: the total nats over the evaluated tokens divided by the characters those tokens spell; for
 * a character tokenizer it equals `loss`).
 */
import { StreamDecoder, loadTextDataset, readTextFile, encodeText, LmBlockSampler, lmEvalBatches, tokenizerFromConfig, tokenizerFromPretrained, type LmBatch, type LmSamplerState, type Tokenizer } from '../data/index.js';
import { ConfigError, TrainformerError, ValueError } from '../errors.js';
import { GPT } from '../models/gpt.js';
import { GPT_CONFIG_KEYS } from '../models/config.js';
import { loadHFGPT2 } from '../models/hf-gpt2.js';
import * as T from '../tensor/index.js';
import { buildModel, buildTokenizer, countCounted, intTensor, reduced } from './tensors.js';
import type { TaskConfig } from './config.js';
import { checkObjective, lmHeadObjective } from './objective.js';
import { runToEnd, type EvalMetrics, type LossOptions, type LossOutput, type Task } from './types.js';
import { distillationWeights, type TeacherSpec } from './distillation.js';
import { linear } from '../nn/functional.js';

export interface LmTaskOptions {
  /** A tokenizer restored from a checkpoint (else built from the config and the corpus). */
  tokenizer?: Tokenizer;
  /** Read no text at all (generation from a checkpoint; needs `tokenizer`). */
  noData?: boolean;
  /** Read only data.validation (eval from a checkpoint; needs `tokenizer`). */
  noTrainData?: boolean;
  /**
   * The weights are copied in afterwards (from a checkpoint): with `model.fromPretrained`, the
   * architecture comes from the config's model block (written there when the run started), and the
   * pretrained folder is not read.
   */
  weightsFollow?: boolean;
}

/**
 * Reads `model.fromPretrained` (a Hugging Face GPT-2 folder) and writes its architecture into
 * `config.model` (nLayer, nHead, nEmbd, nInner, vocabSize, maxPositions = n_positions, activation,
 * layerNormEpsilon, dropout = resid_pdrop, tieWordEmbeddings), so that the run's saved config rebuilds
 * the model without the folder.
 * @returns the loaded model and the folder's tokenizer (unless `tokenizer` is given).
 * @throws ConfigError naming model.fromPretrained and the file for a folder that is not a GPT-2 layout,
 *   or data.blockSize beyond the model's positions, or a tokenizer larger than the vocabulary.
 */
function loadPretrained(config: TaskConfig, tokenizer: Tokenizer | undefined): { model: GPT; tokenizer: Tokenizer } {
  const dir = config.model.fromPretrained!;
  let model: GPT;
  let tok: Tokenizer;
  try {
    model = loadHFGPT2(dir);
    tok = tokenizer ?? tokenizerFromPretrained(dir);
  } catch (e) {
    if (e instanceof TrainformerError) throw new ConfigError(`model.fromPretrained: ${e.message}`);
    throw e;
  }
  const c = model.config;
  if (config.data.blockSize > c.blockSize) {
    throw new ConfigError(`data.blockSize: ${config.data.blockSize} exceeds the pretrained model's n_positions ${c.blockSize} (${dir})`);
  }
  if (tok.vocabSize > c.vocabSize) {
    throw new ConfigError(`model.fromPretrained: the tokenizer has ${tok.vocabSize} ids, the model's vocab_size is ${c.vocabSize} (${dir})`);
  }
  Object.assign(config.model, {
    nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, nInner: c.nInner, vocabSize: c.vocabSize, maxPositions: c.blockSize,
    activation: c.activation, layerNormEpsilon: c.layerNormEpsilon, dropout: c.dropout, bias: c.bias,
    tieWordEmbeddings: c.tieWordEmbeddings, norm: c.norm, positionEmbedding: c.positionEmbedding, attnScale: c.attnScale,
  });
  return { model, tokenizer: tok };
}

/** Builds the GPT of a config for a vocabulary of `vocabSize`. */
export function buildGpt(config: TaskConfig, vocabSize: number): GPT {
  const { nLayer, nHead, nEmbd, nInner, dropout, bias, tieWordEmbeddings, maxPositions, pooling: _p, fromPretrained: _f, ...rest } = config.model;
  // The model block's GPT fields (it also holds fields of other architectures, e.g. normPosition).
  const gptFields = Object.fromEntries(Object.entries(rest).filter(([k]) => (GPT_CONFIG_KEYS as readonly string[]).includes(k)));
  return buildModel(() => new GPT({
    ...gptFields,
    vocabSize: typeof rest.vocabSize === 'number' ? rest.vocabSize : vocabSize, nLayer, nHead, nEmbd, nInner, dropout, bias, tieWordEmbeddings,
    blockSize: maxPositions ?? config.data.blockSize,
    seed: config.seed,
  }), { config, vocabSize });
}

export class LmTask implements Task<LmBatch> {
  readonly name = 'lm';
  readonly metricNames = ['loss', 'perplexity', 'lossPerChar', 'evalTokens'] as const;
  readonly model: GPT;
  readonly tokenizer: Tokenizer;
  readonly train: Int32Array;
  readonly val: Int32Array;
  /** Characters per token of the validation text (for lossPerChar). */
  readonly charsPerToken: number;
  batchesPerEpoch: number;
  private sampler: LmBlockSampler | null;
  private shard: { numReplicas: number; rank: number; reduceSum: (sums: Float64Array) => void } | null = null;
  /** The objective's weights (distillation: ce scaled by 1 − alpha, kd = alpha). */
  private readonly weights: Record<string, number>;
  /** Distillation: the teacher GPT (eval mode) and the temperature. */
  private teacher: { model: GPT; temperature: number } | null = null;

  private constructor(readonly config: TaskConfig, tokenizer: Tokenizer, train: Int32Array, val: Int32Array, valChars: number, pretrained?: GPT) {
    checkObjective(config.objective);
    this.weights = distillationWeights(config.objective, config.distillation);
    if (config.distillation?.transferData !== undefined) {
      throw new ConfigError('distillation.transferData: classification only (an lm student distils on its own training text)', ['distillation', 'transferData']);
    }
    this.tokenizer = tokenizer;
    this.train = train;
    this.val = val;
    this.charsPerToken = val.length > 0 ? valChars / val.length : 1;
    const B = config.perDeviceTrainBatchSize, Tn = config.data.blockSize;
    if (train.length > 0 && train.length < Tn + 1) {
      throw new ConfigError(`data.train: the training text of ${config.data.train} has ${train.length} tokens; data.blockSize ${Tn} needs at least ${Tn + 1}`, ['data', 'train']);
    }
    this.sampler = train.length > 0 ? new LmBlockSampler(train, { blockSize: Tn, batchSize: B, seed: config.seed, warmup: config.data.blockSizeWarmup }) : null;
    this.batchesPerEpoch = Math.max(1, Math.floor(train.length / (B * Tn)));
    this.model = buildGpt(config, tokenizer.vocabSize);
    if (pretrained) this.model.loadStateDict(pretrained.stateDict());
  }

  /**
   * Reads `data.train` (and `data.validation`, or the last `data.valFraction` of the text),
   * builds or takes the tokenizer and the model.
   * @throws FileFormatError naming a file that cannot be read; ConfigError for bad settings.
   */
  static async create(config: TaskConfig, options: LmTaskOptions = {}): Promise<LmTask> {
    const d = config.data;
    let pretrained: GPT | undefined;
    if (config.model.fromPretrained !== undefined && !options.weightsFollow) {
      const p = loadPretrained(config, options.tokenizer);
      pretrained = p.model;
      options = { ...options, tokenizer: p.tokenizer };
    }
    if (options.noData && options.tokenizer) return new LmTask(config, options.tokenizer, new Int32Array(0), new Int32Array(0), 0, pretrained);
    const build = (texts: string[]): Tokenizer => options.tokenizer ?? buildTokenizer(d.tokenizer, texts, d.train);
    if (d.validation && options.noTrainData && options.tokenizer) {
      const valText = await readTextFile(d.validation);
      return new LmTask(config, options.tokenizer, new Int32Array(0), encodeText(valText, options.tokenizer, d.validation), valText.length, pretrained);
    }
    if (d.validation) {
      const [trainText, valText] = await Promise.all([readTextFile(d.train), readTextFile(d.validation)]);
      if (trainText === '') throw new ConfigError(`data.train: ${d.train} holds no training text`, ['data', 'train']);
      const tok = build([trainText, valText]);
      return new LmTask(config, tok, encodeText(trainText, tok, d.train), encodeText(valText, tok, d.validation), valText.length, pretrained);
    }
    // Vocabulary from the whole file, as nanoGPT's shakespeare_char does (the split only cuts the text).
    if ((await readTextFile(d.train)) === '') throw new ConfigError(`data.train: ${d.train} holds no training text`, ['data', 'train']);
    const ds = await loadTextDataset(d.train, (tr, va) => build([tr, va]), { valFraction: d.valFraction });
    return new LmTask(config, ds.tokenizer, ds.train, ds.val, ds.valText.length, pretrained);
  }

  setDataParallel(numReplicas: number, rank: number, reduceSum: (sums: Float64Array) => void): void {
    const B = this.config.perDeviceTrainBatchSize, Tn = this.config.data.blockSize;
    if (this.sampler) this.sampler = new LmBlockSampler(this.train, { blockSize: Tn, batchSize: B, seed: this.config.seed, numReplicas, rank, warmup: this.config.data.blockSizeWarmup });
    this.batchesPerEpoch = Math.max(1, Math.floor(this.train.length / (numReplicas * B * Tn)));
    this.shard = { numReplicas, rank, reduceSum };
  }

  /** false when there is no validation text (data.valFraction 0 and no data.validation). */
  get canEvaluate(): boolean {
    return this.val.length > 0;
  }

  /** @throws ConfigError when the training or validation text cannot fill one block. */
  checkBeforeTraining(o: { evalDuringTraining: boolean }): void {
    const d = this.config.data, Tn = d.blockSize;
    if (this.train.length < Tn + 1) {
      throw new ConfigError(this.train.length === 0
        ? `data.train: ${d.train} holds no training text${d.validation ? '' : ` (after the last data.valFraction = ${d.valFraction} was held out)`}`
        : `data.train: the training text of ${d.train} has ${this.train.length} tokens; data.blockSize ${Tn} needs at least ${Tn + 1}`, ['data', 'train']);
    }
    const field = d.validation ? 'data.validation' : 'data.valFraction';
    const source = d.validation ? d.validation : `the last ${d.valFraction} of ${d.train}`;
    if (this.val.length === 0) {
      if (o.evalDuringTraining) {
        throw new ConfigError(`${field}: ${source} holds no validation text, and evalStrategy is "steps"; give data.validation, a data.valFraction > 0, or evalStrategy "no"`, field.split('.'));
      }
    } else if (this.val.length < Tn + 1) {
      throw new ConfigError(`${field}: the validation text (${source}) has ${this.val.length} tokens; data.blockSize ${Tn} needs at least ${Tn + 1}`, field.split('.'));
    }
  }

  nextBatch(): LmBatch {
    if (!this.sampler) throw new ValueError('lm: no training text loaded');
    return this.sampler.next();
  }

  countTargets(batch: LmBatch): number {
    return countCounted(batch.labels);
  }

  /**
   * Distillation: the teacher GPT (same tokenizer), run in eval mode without gradients on every
   * training block (blocks start at random offsets, so its outputs are not cached).
   */
  setTeacher(spec: TeacherSpec): void {
    const model = spec.model as GPT;
    model.eval();
    this.teacher = { model, temperature: spec.temperature };
  }

  /**
   * The objective from the final hidden states through the fused LM head (no [B·T, V] logits), or,
   * with distillation or separate terms, through the materialised [B·T, V] logits.
   */
  loss(batch: LmBatch, options: LossOptions = {}): LossOutput {
    const B = batch.batchSize, Tn = batch.blockSize;
    const ids = intTensor(batch.inputIds, [B, Tn]);
    const hidden = this.model.hidden(ids);
    const kd = this.teacher && (this.weights.kd ?? 0) > 0 ? this.teacher : null;
    const teacher = kd ? { logits: T.noGrad(() => linear(kd.model.hidden(ids), kd.model.lmHeadWeight()).reshape(B * Tn, -1)) } : undefined;
    const { loss, terms, parts } = lmHeadObjective(hidden.reshape(B * Tn, hidden.shape[2]), this.model.lmHeadWeight(),
      intTensor(batch.labels, [B * Tn]), this.weights, {
        labelSmoothing: this.config.labelSmoothingFactor, params: this.model.parameters(),
        teacher, temperature: kd?.temperature, separateTerms: options.separateTerms,
      });
    return { loss, terms, parts, tokens: B * Tn };
  }

  evaluate(maxBatches?: number): EvalMetrics {
    return runToEnd(this.evaluateSteps(maxBatches));
  }

  *evaluateSteps(maxBatches?: number): Generator<void, EvalMetrics, void> {
    let nats = 0;
    let tokens = 0;
    const Tn = this.config.data.blockSize;
    if (this.val.length < Tn + 1) {
      const d = this.config.data;
      const source = d.validation ?? `the last ${d.valFraction} of ${d.train}`;
      throw new ConfigError(`${d.validation ? 'data.validation' : 'data.valFraction'}: the validation text (${source}) has ${this.val.length} tokens; data.blockSize ${Tn} needs at least ${Tn + 1}`, d.validation ? ['data', 'validation'] : ['data', 'valFraction']);
    }
    let i = 0;
    for (const batch of lmEvalBatches(this.val, { blockSize: Tn, batchSize: this.config.perDeviceEvalBatchSize, maxBatches })) {
      if (this.shard && i++ % this.shard.numReplicas !== this.shard.rank) continue; // another rank's batch
      T.scope(() => {
        const B = batch.batchSize;
        const hidden = this.model.hidden(intTensor(batch.inputIds, [B, Tn]));
        // Plain cross-entropy (no smoothing, no z-loss): the validation loss is the model's nats per token.
        const { terms } = lmHeadObjective(hidden.reshape(B * Tn, hidden.shape[2]), this.model.lmHeadWeight(), intTensor(batch.labels, [B * Tn]), { ce: 1 });
        nats += terms.ce * B * Tn;
        tokens += B * Tn;
      });
      yield;
    }
    if (this.shard) [nats, tokens] = reduced(this.shard.reduceSum, [nats, tokens]);
    const loss = nats / tokens;
    return { loss, perplexity: Math.exp(loss), lossPerChar: loss / this.charsPerToken, evalTokens: tokens };
  }

  dataState(): { sampler: LmSamplerState | null; model: T.GeneratorState } {
    return { sampler: this.sampler?.state() ?? null, model: this.model.generator.getState() };
  }

  setDataState(state: unknown): void {
    const s = state as { sampler: LmSamplerState | null; model: T.GeneratorState };
    if (s.sampler && this.sampler) this.sampler.setState(s.sampler);
    this.model.generator.setState(s.model);
  }

  epoch(): number {
    return (this.sampler?.batches ?? 0) / this.batchesPerEpoch;
  }

  artifacts(): Record<string, unknown> {
    return { 'tokenizer.json': this.tokenizer.toJSON() };
  }

  /**
   * Continues `prompt` one piece of text at a time, as each token is drawn (a token that ends inside
   * a character yields '' until the character is complete): what `trainformer generate` prints.
   * Memory stays bounded for any maxNewTokens (the model holds only its context window).
   */
  *sampleStream(prompt: string, o: { maxNewTokens: number; temperature: number; topK?: number; topP?: number; seed?: number }): Generator<string, void, undefined> {
    const ids = this.tokenizer.encode(prompt);
    if (ids.length === 0) ids.push(0);
    const generator = new T.Generator(o.seed ?? this.config.seed);
    const decoder = new StreamDecoder(this.tokenizer);
    const start = intTensor(Int32Array.from(ids), [1, ids.length]);
    try {
      for (const next of this.model.generateStream(start, {
        maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK ?? null, topP: o.topP ?? null, generator,
      })) {
        const piece = decoder.push(next[0]);
        if (piece !== '') yield piece;
      }
      const rest = decoder.flush();
      if (rest !== '') yield rest;
    } finally {
      start.storage.release();
    }
  }

  /** Continues `prompt` with sampled tokens (the model's generator, or one seeded with `seed`). */
  sample(prompt: string, o: { maxNewTokens: number; temperature: number; topK?: number; topP?: number; seed?: number }): string {
    const ids = this.tokenizer.encode(prompt);
    if (ids.length === 0) ids.push(0);
    const generator = new T.Generator(o.seed ?? this.config.seed);
    const out = T.scope(() => {
      const r = this.model.generate(intTensor(Int32Array.from(ids), [1, ids.length]), {
        maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK ?? null, topP: o.topP ?? null, generator,
      });
      return Array.from(r.data());
    });
    return this.tokenizer.decode(out.slice(ids.length));
  }
}
