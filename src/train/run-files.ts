/**
 * File names of a run folder and its checkpoints. Files in trainformer's own formats do not use
 * Hugging Face's names (a `config.json` / `tokenizer.json` there would claim to be a `transformers`
 * model config / a `tokenizers` file): the training config is `trainformer_config.json` and the
 * tokenizer (trainformer's JSON form, `loadTokenizer`) `trainformer_tokenizer.json`. Runs written
 * before this change used `config.json` / `tokenizer.json`; readers fall back to those names.
 * `trainformer export --format hf` writes the Hugging Face files.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The run's training config (the validated TrainConfig, camelCase). */
export const RUN_CONFIG_FILE = 'trainformer_config.json';
/** trainformer's tokenizer JSON (`tokenizer.toJSON()`). */
export const RUN_TOKENIZER_FILE = 'trainformer_tokenizer.json';
/** Names runs used before (read only). */
export const LEGACY_RUN_FILES: Readonly<Record<string, string>> = {
  [RUN_CONFIG_FILE]: 'config.json',
  [RUN_TOKENIZER_FILE]: 'tokenizer.json',
};

/** The file name a task artifact is saved under (a task's `tokenizer.json` → `trainformer_tokenizer.json`). */
export function artifactFileName(name: string): string {
  return name === 'tokenizer.json' ? RUN_TOKENIZER_FILE : name;
}

/**
 * The path of a run file in `dir`: `name` when present, else its legacy name when that is present
 * (runs from before the rename), else the path of `name` (so that an error names the current file).
 */
export function runFilePath(dir: string, name: string): string {
  const p = join(dir, name);
  if (existsSync(p)) return p;
  const legacy = LEGACY_RUN_FILES[name];
  return legacy !== undefined && existsSync(join(dir, legacy)) ? join(dir, legacy) : p;
}
