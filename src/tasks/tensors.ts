/**
 * Batch arrays → tensors. `T.tensor(typedArray)` wraps the caller's array (never pooled, so each
 * wrapped batch stays "live" until the garbage collector finds it); a training step copies its
 * batch into pooled storage instead, which the step's scope returns to the pool when it ends, so
 * live buffers stay flat from step to step.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FileFormatError, ValueError } from '../errors.js';
import * as T from '../tensor/index.js';
import { checkTrainingMemory } from './memory-estimate.js';
import type { TaskConfig } from './config.js';
import { tokenizerFromConfig, type Tokenizer, type TokenizerConfig } from '../data/index.js';

/** An int32 tensor of `shape` in pooled storage holding a copy of `data` (length = product of shape). */
export function intTensor(data: Int32Array, shape: readonly number[]): T.Tensor {
  const t = T.empty(shape, 'int32');
  (t.data() as Int32Array).set(data);
  return t;
}

/** Labels that carry loss: those that are not `ignoreIndex` (default -100, PyTorch's). */
export function countCounted(labels: ArrayLike<number>, ignoreIndex = -100): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== ignoreIndex) n++;
  return n;
}

/**
 * Builds a model, naming config errors as fields of the config's `model` block: the models report
 * `activation must be one of …`; the user wrote `model.activation`. With `memory`, first checks that
 * a training step of the config fits in memory (tasks/memory-estimate.ts).
 */
export function buildModel<M>(build: () => M, memory?: { config: TaskConfig; vocabSize: number }): M {
  // A config whose step cannot fit fails here with its field named, not inside an allocation.
  if (memory) checkTrainingMemory(memory.config, memory.vocabSize);
  try {
    return build();
  } catch (e) {
    if (e instanceof ConfigError && !e.message.startsWith('model.')) throw new ConfigError(`model.${e.message}`, e.field && ['model', ...e.field]);
    throw e;
  }
}

/** `values` summed over every rank by `reduceSum` (data-parallel evaluation). */
export function reduced(reduceSum: (sums: Float64Array) => void, values: number[]): number[] {
  const a = Float64Array.from(values);
  reduceSum(a);
  return Array.from(a);
}

/** The tokenizer types each option of data.tokenizer applies to (src/data/config.ts). */
const TOKENIZER_OPTION_TYPES: Readonly<Record<string, readonly string[]>> = {
  vocabSize: ['bpe'], path: ['hf'], configPath: ['hf'], specialTokens: ['char', 'word'],
  minFrequency: ['word'], maxVocabSize: ['word'], lowercase: ['word', 'bpe'], allowSpecial: ['gpt2'],
};

/**
 * A data.tokenizer option that the type does not read was ignored without a word (outside trial:
 * `--data.tokenizer.type bpe --data.tokenizer.path <folder>` trained a new bpe tokenizer, leaving the
 * saved one unused). Checked where a tokenizer is built for training, not where a run's saved
 * config is read back (eval of an earlier run keeps working).
 * @throws ConfigError naming data.tokenizer.<option>, the types that read it, and for a path holding
 *   a tokenizer.json, how to load it (type hf, as Hugging Face's from_pretrained on that folder).
 */
export function checkTokenizerOptions(config: TokenizerConfig): void {
  for (const [key, types] of Object.entries(TOKENIZER_OPTION_TYPES)) {
    const v = (config as unknown as Record<string, unknown>)[key];
    if (v === undefined || types.includes(config.type)) continue;
    const field = `data.tokenizer.${key}`;
    let hint = `; remove it, or set data.tokenizer.type ${types.join(' or ')}`;
    if (key === 'path' && typeof v === 'string') {
      const file = existsSync(v) && statSync(v).isDirectory() ? join(v, 'tokenizer.json') : v;
      if (existsSync(file) && file.endsWith('.json')) hint = `; to use the tokenizer in ${file}, set data.tokenizer.type hf`;
    }
    const what = config.type === 'bpe' || config.type === 'char' || config.type === 'word' ? `is built from the training texts and does not read ${key}` : `does not read ${key}`;
    throw new ConfigError(`${field}: a ${config.type} tokenizer ${what} (${key} applies to ${types.join(', ')})${hint}`, ['data', 'tokenizer', key]);
  }
}

/**
 * `tokenizerFromConfig` with its corpus problems named as the config's: a char / word vocabulary
 * that cannot be built ("the corpus is empty") names data.tokenizer and the training file; a
 * tokenizer file that cannot be read or parsed names its field (data.tokenizer.path / configPath).
 */
export function buildTokenizer(config: TokenizerConfig, corpus: Iterable<string> | (() => Iterable<string>), trainPath: string): Tokenizer {
  checkTokenizerOptions(config);
  try {
    return tokenizerFromConfig(config, corpus);
  } catch (e) {
    if (e instanceof ValueError) throw new ConfigError(`data.tokenizer: ${e.message} (the texts of ${trainPath})`, ['data', 'tokenizer']);
    if (e instanceof FileFormatError) {
      for (const key of ['path', 'configPath'] as const) {
        const file = config[key];
        if (file && e.message.startsWith(file)) throw new ConfigError(`data.tokenizer.${key}: ${e.message}`, ['data', 'tokenizer', key]);
      }
    }
    throw e;
  }
}
