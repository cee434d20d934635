/**
 * What the Trainer needs from a task. A task owns the model, the data pipeline (training batches
 * with a saveable position, evaluation batches), the objective (how a batch becomes logits and a
 * loss made of named terms) and the metrics.
 */
import { setImmediate as turnOfEventLoop } from 'node:timers/promises';
import type { Tensor } from '../tensor/index.js';
import type { Tokenizer } from '../data/index.js';
import type { TeacherSpec } from './distillation.js';

/** The part of `nn.Module` the trainer uses. */
export interface TrainableModule {
  /** Dotted parameter names and tensors, in a fixed order. */
  namedParameters(): Iterable<[string, Tensor]>;
  train(mode?: boolean): unknown;
  eval(): unknown;
  /** Activation checkpointing on the model's blocks (nn/Module); returns how many were switched. */
  gradientCheckpointingEnable?(enabled?: boolean): number;
}

/** The loss of one micro-batch. */
export interface LossOutput {
  /**
   * Scalar [] total loss (the weighted sum of the terms), differentiable. Per-target terms (`ce`) are
   * means over the batch's `countTargets(batch)` counted targets, so that the trainer can weigh
   * micro-batches by their share of the counted targets of a whole optimizer step.
   */
  loss: Tensor;
  /** Each objective term's (unweighted) scalar value, e.g. `{ ce: 2.1, zLoss: 350 }`. */
  terms: Record<string, number>;
  /** Tokens the model read in this micro-batch (B·T), for tokens/s. */
  tokens: number;
  /**
   * Each objective term with a non-zero weight as the tensor weight·term (they sum to `loss`), for
   * objective attribution; with `separateTerms` every term is its own entry (lm: no fused head).
   */
  parts?: Record<string, Tensor>;
}

/** Options of one `Task.loss` call. */
export interface LossOptions {
  /** Compute each objective term apart (objective attribution's logging steps). */
  separateTerms?: boolean;
}

/** Metrics of one evaluation: `loss` always; perplexity, accuracy, macroF1, exactMatch, f1 by task. */
export type EvalMetrics = Record<string, number> & { loss: number };

/** One training task (lm, classification, seq2seq, extractive-qa). */
export interface Task<Batch = unknown> {
  readonly name: string;
  readonly model: TrainableModule;
  /** The tokenizer saved with checkpoints; absent for tasks built from datasets of token ids. */
  readonly tokenizer?: Tokenizer;
  /**
   * The metrics `evaluate()` returns, where they are fixed (not a user's computeMetrics): lets the
   * Trainer reject a `metricForBestModel` that no evaluation produces before training starts.
   */
  readonly metricNames?: readonly string[];
  /**
   * Problems that would otherwise surface mid-run or only once training ends (a validation text
   * shorter than a block, no validation data while evaluation is on): the Trainer calls it before
   * the first step. @throws ConfigError naming the field or file.
   */
  checkBeforeTraining?(o: { evalDuringTraining: boolean }): void;
  /** false when the task has no evaluation data (then the trainer never evaluates). Default true. */
  readonly canEvaluate?: boolean;
  /**
   * Micro-batches in one pass over the training data (global batches with data parallelism: each of
   * numReplicas × perDeviceTrainBatchSize examples; for numTrainEpochs).
   */
  readonly batchesPerEpoch: number;
  /**
   * Data parallelism, called once before training: this process is `rank` of `numReplicas` and
   * reads only its share of each global batch (together the ranks read what one process with
   * numReplicas × the batch size reads, and the data position means the same for any numReplicas).
   * Tasks whose metrics are sums shard evaluation too and add the ranks' sums with `reduceSum`
   * (in place, every rank gets the total; a collective: every rank calls it as often); the others
   * evaluate on every rank. Absent: the task cannot train data-parallel.
   */
  setDataParallel?(numReplicas: number, rank: number, reduceSum: (sums: Float64Array) => void): void;
  /** The next training micro-batch (advances the data position). */
  nextBatch(): Batch;
  /**
   * The targets of `batch` its loss is a mean over: labels that are not ignoreIndex (lm, seq2seq),
   * examples (classification, extractive-qa). Read from the batch alone (no forward pass), so the
   * trainer can count a whole optimizer step's targets before the first backward.
   */
  countTargets(batch: Batch): number;
  /** Forward pass and objective on a batch (the trainer calls it inside a scope). */
  loss(batch: Batch, options?: LossOptions): LossOutput;
  /**
   * Knowledge distillation: the teacher whose softened outputs the `kd` term follows (called once
   * by the Trainer before training when the config has a distillation block). Absent: the task
   * cannot distil.
   */
  setTeacher?(teacher: TeacherSpec): void;
  /**
   * Evaluates on the validation data (the trainer sets eval mode and no-grad around it).
   * @param maxBatches stop after this many batches (intermediate evaluations).
   */
  evaluate(maxBatches?: number): EvalMetrics;
  /**
   * `evaluate` as a generator that yields after each batch (returns the same metrics): the trainer
   * lets the event loop turn between batches, so a Ctrl-C during an evaluation is seen at once.
   * Absent: the trainer calls `evaluate` in one piece.
   */
  evaluateSteps?(maxBatches?: number): Generator<void, EvalMetrics, void>;
  /** The data position and the task's RNG states, JSON-serialisable, for a checkpoint. */
  dataState(): unknown;
  /** Restores `dataState()`. */
  setDataState(state: unknown): void;
  /** Fractional epoch reached (for the log). */
  epoch(): number;
  /** Files (name → JSON) saved beside the weights: tokenizer.json, labels.json, … */
  artifacts(): Record<string, unknown>;
  /** A short generated text (lm) shown at the end of training. */
  sample?(prompt: string, options: { maxNewTokens: number; temperature: number; topK?: number; topP?: number }): string;
}

/**
 * Runs an `evaluateSteps` generator (or any generator that yields between batches), letting the
 * event loop turn after each batch so that a Ctrl-C is seen there: when `signal` has aborted, the
 * generator is closed (its `finally` blocks run) and nothing is returned. The one mechanism behind
 * every evaluation that stops at a batch boundary (the Trainer's, `trainformer eval`).
 * @param step runs one `next()` inside the caller's context (no-grad, autocast).
 * @returns the generator's value, or null when `signal` aborted before it ended.
 */
export async function runUnlessAborted<R>(steps: Generator<void, R, void>, signal: AbortSignal,
  step: (next: () => IteratorResult<void, R>) => IteratorResult<void, R> = (next) => next()): Promise<R | null> {
  for (;;) {
    const r = step(() => steps.next());
    if (r.done) return r.value;
    await turnOfEventLoop();
    if (signal.aborted) {
      steps.return(undefined as never);
      return null;
    }
  }
}

/** Runs an `evaluateSteps` generator to its end: the metrics, computed in one piece. */
export function runToEnd<R>(steps: Generator<void, R, void>): R {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
