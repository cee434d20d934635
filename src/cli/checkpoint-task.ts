/**
 * A task rebuilt from a checkpoint folder (its trainformer_config.json with overrides,
 * trainformer_tokenizer.json — config.json / tokenizer.json in runs from before the rename —,
 * labels.json and model.safetensors), in eval mode — what `eval`, `predict` and `generate` start from.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, FileFormatError } from '../errors.js';
import { LabelMap, readTokenizerFile } from '../data/index.js';
import { createTask, type CreateTaskOptions, type Task } from '../tasks/index.js';
import { copyInto, latestCheckpoint } from '../train/checkpoint.js';
import { readSafetensorsFile } from '../io/safetensors.js';
import { RUN_CONFIG_FILE, RUN_TOKENIZER_FILE, runFilePath } from '../train/run-files.js';
import { parseConfig, readConfigFile, type TrainConfig } from '../train/config.js';
import { applyOverrides } from './args.js';
import { flagOf } from './config-file.js';
import { readFailure } from '../io/read-failure.js';
import { blankText } from '../io/json-error.js';

/** An evaluation file must exist and hold something: metrics over no examples are 0/0 (NaN). @throws FileFormatError `--data: <file>: …` */
function checkEvalData(file: string): void {
  if (!existsSync(file)) throw new FileFormatError(`--data: ${file}: no such file`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FileFormatError(`--data: ${file}: ${readFailure(e, 'cannot be read')}`);
  }
  const blank = blankText(text);
  if (blank !== null) throw new FileFormatError(`--data: ${file}: no examples to evaluate (${blank})`);
}

/** A checkpoint folder: `path` itself when it holds model.safetensors (a checkpoint, or a run's final model), else the latest under it. */
export function resolveCheckpoint(path: string): string {
  if (!existsSync(path)) throw new FileFormatError(`${path}: no such run or checkpoint folder`);
  if (existsSync(join(path, 'model.safetensors'))) return path;
  const latest = latestCheckpoint(path);
  if (!latest) throw new FileFormatError(`${path}: no checkpoint-<step> folder with model.safetensors in it`);
  return latest;
}

/**
 * Rebuilds a task from a checkpoint: its config (plus overrides; without the training-only
 * data.blockSizeWarmup, so an lm checkpoint can be evaluated at another data.blockSize), tokenizer, labels and weights; or,
 * for a Hugging Face GPT-2 folder, an lm task with `model.fromPretrained` = that folder.
 * @param opts.evalData a file to evaluate instead of the checkpoint's validation data (all of it:
 *   data.limit is dropped).
 * @throws FileFormatError naming a missing or malformed file of the checkpoint or the data.
 */
export async function taskFromCheckpoint(path: string, overrides: [string, unknown][], opts: CreateTaskOptions & { evalData?: string }): Promise<{ task: Task; config: TrainConfig; dir: string }> {
  if (isPretrainedFolder(path)) return taskFromPretrained(path, overrides, opts);
  const dir = resolveCheckpoint(path);
  const raw = readConfigFile(runFilePath(dir, RUN_CONFIG_FILE));
  // The sequence-length warmup is a training schedule; dropped so that --data.blockSize can change.
  if (raw.data && typeof raw.data === 'object') delete (raw.data as Record<string, unknown>).blockSizeWarmup;
  if (opts.evalData !== undefined) {
    checkEvalData(opts.evalData);
    const data: Record<string, unknown> = { ...((raw.data ?? {}) as Record<string, unknown>), validation: resolve(opts.evalData) };
    delete data.limit;
    raw.data = data;
  }
  const trained = parseConfig(structuredClone(raw));
  const positions = modelPositions(trained);
  // The model keeps the positions it was trained with, whatever --data.blockSize asks for (its
  // default follows the sequence length, which would change the shape of its position table).
  raw.model = { ...((raw.model ?? {}) as Record<string, unknown>), maxPositions: positions };
  let config: TrainConfig;
  try {
    config = parseConfig(applyOverrides(raw, overrides));
  } catch (e) {
    throw flagOf(e, overrides); // every override is a flag: `--perDeviceEvalBatchSize: must be >= 1 (got 0)`
  }
  checkPositions(config, trained, positions, dir);
  const tokenizer = readTokenizerFile(runFilePath(dir, RUN_TOKENIZER_FILE));
  const labelsPath = join(dir, 'labels.json');
  const labelMap = existsSync(labelsPath) ? readLabelMap(labelsPath) : undefined;
  const task = await createTask(config, { ...opts, tokenizer, labelMap, weightsFollow: true });
  const model = task.model as unknown as { stateDict(): Record<string, import('../tensor/index.js').Tensor> };
  copyInto(Object.entries(model.stateDict()), readSafetensorsFile(join(dir, 'model.safetensors')).tensors, join(dir, 'model.safetensors'));
  task.model.eval();
  return { task, config, dir };
}

/** The positions a model of `c` reads: model.maxPositions, else what the task's sequence lengths need (the builders' default). */
function modelPositions(c: TrainConfig): number {
  return c.model.maxPositions ?? Math.max(...sequenceLengths(c).map(([, n]) => n));
}

/** The config's sequence-length fields and the positions each needs. */
function sequenceLengths(c: TrainConfig): [string, number][] {
  const d = c.data as { blockSize: number; maxLength: number; maxTargetLength: number };
  if (c.task === 'lm') return [['data.blockSize', d.blockSize]];
  if (c.task === 'seq2seq') return [['data.maxLength', d.maxLength], ['data.maxTargetLength', d.maxTargetLength + 1]];
  return [['data.maxLength', d.maxLength]];
}

/** @throws ConfigError naming the flag when an override asks for more positions than the checkpoint's model has. */
function checkPositions(config: TrainConfig, trained: TrainConfig, positions: number, dir: string): void {
  const before = new Map(sequenceLengths(trained));
  // maxTargetLength needs one position more (the decoder's start token).
  const shown = (field: string, need: number) => (field === 'data.maxTargetLength' ? `${need - 1} (+1 start token)` : String(need));
  for (const [field, need] of sequenceLengths(config)) {
    if (need > positions) {
      throw new ConfigError(`--${field}: ${shown(field, need)} is more than the ${positions} positions of the model in ${dir} (trained with ${field} ${shown(field, before.get(field)!)})`, field.split('.'));
    }
  }
}

/**
 * Whether `path` is a Hugging Face model folder: a config.json with `model_type` (or GPT-2's `n_embd`)
 * and no trainformer_config.json (a run from before the rename has a config.json with `task`).
 */
export function isPretrainedFolder(path: string): boolean {
  if (existsSync(join(path, RUN_CONFIG_FILE))) return false;
  const cfg = join(path, 'config.json');
  if (!existsSync(cfg)) return false;
  try {
    const j = JSON.parse(readFileSync(cfg, 'utf8')) as Record<string, unknown>;
    return typeof j === 'object' && j !== null && j.task === undefined && (j.model_type !== undefined || j.n_embd !== undefined);
  } catch {
    return false;
  }
}

/**
 * An lm task on a Hugging Face GPT-2 folder (its weights and tokenizer), for `generate`, `eval --data`
 * and `predict`; overrides set other fields (`--data.blockSize 128`).
 * @throws ConfigError when eval has no --data, or the folder is not a GPT-2 layout (one line).
 */
async function taskFromPretrained(path: string, overrides: [string, unknown][], opts: CreateTaskOptions & { evalData?: string }): Promise<{ task: Task; config: TrainConfig; dir: string }> {
  let data: Record<string, unknown>;
  if (opts.evalData !== undefined) {
    checkEvalData(opts.evalData);
    data = { train: resolve(opts.evalData), validation: resolve(opts.evalData) };
  } else if (opts.noData) {
    data = { train: '(none)' };
  } else {
    throw new ConfigError(`${path}: a Hugging Face model folder has no validation data; give --data <text file>`);
  }
  const config = parseConfig(applyOverrides({ task: 'lm', model: { fromPretrained: resolve(path) }, data }, overrides));
  const task = await createTask(config, { noData: opts.noData, noTrainData: opts.noTrainData });
  task.model.eval();
  return { task, config, dir: path };
}

/** A checkpoint's labels.json. @throws FileFormatError naming the path when it is not a label map. */
function readLabelMap(path: string): LabelMap {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FileFormatError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return LabelMap.fromJSON(json);
  } catch (e) {
    throw new FileFormatError(`${path}: ${(e as Error).message}`);
  }
}

