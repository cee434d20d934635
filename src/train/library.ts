/**
 * The Trainer as a library user calls it, Hugging Face-style:
 *
 *   const trainer = new Trainer({ model, args, trainDataset, evalDataset, computeMetrics, callbacks });
 *   const result = await trainer.train();
 *
 * `args` are `TrainingArguments`: the config's training fields (camelCase, or Hugging Face's
 * snake_case), validated and defaulted by the same schema as a config file. The model and datasets
 * become a `DatasetTask`, and training runs through the one training path (train/trainer.ts).
 */
import type { Tokenizer } from '../data/index.js';
import { GPT } from '../models/gpt.js';
import type { EncoderForSequenceClassification } from '../models/encoder.js';
import { DatasetTask, type ComputeMetrics, type DatasetExample } from '../tasks/dataset-task.js';
import type { TrainerCallback } from './callbacks.js';
import { ValueError } from '../errors.js';
import { parseConfig, type TrainConfigInput } from './config.js';

/** The training configuration a library user passes: every config field optional (snake_case accepted). */
export type TrainingArguments = Partial<Omit<TrainConfigInput, 'task' | 'data'>> & { [hfName: string]: unknown };

/** The Hugging Face-style constructor argument of `Trainer`. */
export interface TrainerInit {
  model: GPT | EncoderForSequenceClassification;
  args?: TrainingArguments;
  /** Examples of token ids: `{ inputIds, labels? }` (GPT) or `{ inputIds, label }` (classifier); an array or any iterable. */
  trainDataset: Iterable<DatasetExample>;
  /** Needed for evaluation (default evalStrategy "no" without it). */
  evalDataset?: Iterable<DatasetExample>;
  /** Extra metrics from arg-max predictions and labels, merged into each evaluation's metrics. */
  computeMetrics?: ComputeMetrics;
  callbacks?: TrainerCallback[];
  /** Saved as tokenizer.json in checkpoints; its padId pads classification inputs. */
  tokenizer?: Tokenizer;
  padId?: number;
  /** true: resume from the latest checkpoint in args.outputDir; a path: that checkpoint. */
  resume?: boolean | string;
}

/**
 * Whether the Trainer was given a model and datasets (rather than a config and a task).
 * @throws ValueError naming what is missing when `o` is neither: no argument, no `model`, no
 *   `trainDataset` (Hugging Face's "Trainer: training requires a train_dataset").
 */
export function isTrainerInit(o: unknown): o is TrainerInit {
  if (o === null || typeof o !== 'object') {
    throw new ValueError('Trainer requires a `model` and a `trainDataset`: new Trainer({ model, args, trainDataset })' + (o === undefined ? '' : ` (got ${o === null ? 'null' : typeof o})`));
  }
  if ('config' in o && 'task' in o) return false;
  const r = o as Record<string, unknown>;
  if (r.model === undefined || r.model === null) throw new ValueError('Trainer requires a `model` (a GPT or an EncoderForSequenceClassification): new Trainer({ model, args, trainDataset })');
  if (r.trainDataset === undefined || r.trainDataset === null) throw new ValueError('Trainer: training requires a `trainDataset` (an array or iterable of examples)');
  if (typeof (r.trainDataset as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
    throw new ValueError(`Trainer: trainDataset must be an array or iterable of examples (got ${typeof r.trainDataset})`);
  }
  return true;
}

/**
 * The config and task of a `TrainerInit`.
 * @throws ConfigError naming the argument for an invalid `args` field; ValueError for a malformed example.
 */
export function fromTrainerInit(init: TrainerInit): { config: ReturnType<typeof parseConfig>; task: DatasetTask; callbacks?: TrainerCallback[]; resume?: boolean | string } {
  const kind = init.model instanceof GPT ? 'lm' : 'classification';
  const config = parseConfig({
    evalStrategy: init.evalDataset === undefined ? 'no' : 'steps',
    ...(init.args ?? {}),
    task: kind,
    data: { train: '(in-memory dataset)' },
  });
  const task = new DatasetTask(config, {
    model: init.model, trainDataset: init.trainDataset, evalDataset: init.evalDataset, computeMetrics: init.computeMetrics,
    tokenizer: init.tokenizer, padId: init.padId,
  });
  return { config, task, callbacks: init.callbacks, resume: init.resume };
}
