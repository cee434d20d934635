/**
 * A task rebuilt from a checkpoint folder (its trainformer_config.json with overrides,
 * trainformer_tokenizer.json — config.json / tokenizer.json in runs from before the rename —,
 * labels.json and model.safetensors), in eval mode — what `eval`, `predict` and `generate` start from.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FileFormatError } from '../errors.js';
import { LabelMap, readTokenizerFile } from '../data/index.js';
import { createTask, type CreateTaskOptions, type Task } from '../tasks/index.js';
import { copyInto, latestCheckpoint } from '../train/checkpoint.js';
import { readSafetensorsFile } from '../io/safetensors.js';
import { RUN_CONFIG_FILE, RUN_TOKENIZER_FILE, runFilePath } from '../train/run-files.js';
import { parseConfig, readConfigFile, type TrainConfig } from '../train/config.js';
import { applyOverrides } from './args.js';

/** A checkpoint folder: `path` itself when it holds model.safetensors (a checkpoint, or a run's final model), else the latest under it. */
export function resolveCheckpoint(path: string): string {
  if (!existsSync(path)) throw new FileFormatError(`${path}: no such run or checkpoint folder`);
  if (existsSync(join(path, 'model.safetensors'))) return path;
  const latest = latestCheckpoint(path);
  if (!latest) throw new FileFormatError(`${path}: no checkpoint-<step> folder with model.safetensors in it`);
  return latest;
}

/** Rebuilds a task from a checkpoint: its config (plus overrides), tokenizer, labels and weights. */
/**
 * @param opts.evalData a file to evaluate instead of the checkpoint's validation data (all of it:
 *   data.limit is dropped).
 * @throws FileFormatError naming a missing or malformed file of the checkpoint or the data.
 */
export async function taskFromCheckpoint(path: string, overrides: [string, unknown][], opts: CreateTaskOptions & { evalData?: string }): Promise<{ task: Task; config: TrainConfig; dir: string }> {
  const dir = resolveCheckpoint(path);
  const raw = readConfigFile(runFilePath(dir, RUN_CONFIG_FILE));
  if (opts.evalData !== undefined) {
    if (!existsSync(opts.evalData)) throw new FileFormatError(`${opts.evalData}: no such file (--data)`);
    const data: Record<string, unknown> = { ...((raw.data ?? {}) as Record<string, unknown>), validation: resolve(opts.evalData) };
    delete data.limit;
    raw.data = data;
  }
  const config = parseConfig(applyOverrides(raw, overrides));
  const tokenizer = readTokenizerFile(runFilePath(dir, RUN_TOKENIZER_FILE));
  const labelsPath = join(dir, 'labels.json');
  const labelMap = existsSync(labelsPath) ? readLabelMap(labelsPath) : undefined;
  const task = await createTask(config, { ...opts, tokenizer, labelMap });
  const model = task.model as unknown as { stateDict(): Record<string, import('../tensor/index.js').Tensor> };
  copyInto(Object.entries(model.stateDict()), readSafetensorsFile(join(dir, 'model.safetensors')).tensors, join(dir, 'model.safetensors'));
  task.model.eval();
  return { task, config, dir };
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

