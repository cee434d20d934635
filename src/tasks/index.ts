/**
 * Tasks: how a batch becomes logits, which objective, which metrics. `createTask(config)` builds the
 * task a config names (`task: 'lm' | 'classification' | 'seq2seq' | 'extractive-qa'`).
 */
import { ConfigError } from '../errors.js';
import type { LabelMap, Tokenizer } from '../data/index.js';
import type { TaskConfig } from './config.js';
import { ClassificationTask } from './classification.js';
import { LmTask } from './lm.js';
import type { Task } from './types.js';
import { requireDataFile } from './data-file.js';

export * from './types.js';
export { LmTask, buildGpt } from './lm.js';
export { ClassificationTask, buildClassifier } from './classification.js';
export { accuracy, macroF1, argmaxRows } from './metrics.js';
export { classObjective, checkObjective, OBJECTIVE_TERMS } from './objective.js';

export interface CreateTaskOptions {
  /** Tokenizer saved with a checkpoint (else built from the config and the corpus). */
  tokenizer?: Tokenizer;
  /** Label map saved with a checkpoint (classification). */
  labelMap?: LabelMap;
  /** Only the validation data is needed (eval / predict). */
  noTrainData?: boolean;
  /** Read no data at all (lm generation from a checkpoint). */
  noData?: boolean;
  /** The weights come from a checkpoint afterwards (lm: model.fromPretrained's folder is not read). */
  weightsFollow?: boolean;
}

/**
 * Builds the task of `config.task` with its data and a freshly initialised model.
 * @throws ConfigError for a task that is not available; FileFormatError for data files.
 */
export async function createTask(config: TaskConfig, options: CreateTaskOptions = {}): Promise<Task> {
  // Missing data files are named by their field before any is read (the readers name only the path).
  if (!options.noData) {
    const d = config.data;
    const trainSkipped = options.noTrainData && d.validation !== undefined && (config.task !== 'lm' || options.tokenizer !== undefined);
    if (!trainSkipped) requireDataFile(d.train, 'data.train');
    if (d.validation !== undefined) requireDataFile(d.validation, 'data.validation');
  }
  switch (config.task) {
    case 'lm':
      return LmTask.create(config, options);
    case 'classification':
      return ClassificationTask.create(config, options);
    case 'seq2seq': {
      const { Seq2SeqTask } = await import('./seq2seq.js');
      return Seq2SeqTask.create(config, options);
    }
    case 'extractive-qa': {
      const { ExtractiveQaTask } = await import('./extractive-qa.js');
      return ExtractiveQaTask.create(config, options);
    }
    default:
      throw new ConfigError(`task: unknown task ${JSON.stringify(config.task)}`);
  }
}
export { checkTaskConfig, TASK_NAMES, type TaskConfig } from './config.js';
