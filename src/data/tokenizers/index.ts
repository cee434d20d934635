import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { ConfigError, FileFormatError, ValueError } from '../../errors.js';
import { CharTokenizer } from './char.js';
import { Gpt2Tokenizer } from './gpt2.js';
import { HfTokenizer } from './hf.js';
import { trainBpeTokenizer } from './bpe.js';
import { WordTokenizer } from './word.js';
import { byteLevelBpeJson } from './hf-json.js';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Tokenizer, TokenizerJSON } from './types.js';
import { decodeUtf8 } from '../encoding.js';
import { readFailure } from '../../io/read-failure.js';

export * from './types.js';
export { Vocab } from './vocab.js';
export { CharTokenizer, type CharTokenizerOptions } from './char.js';
export { Gpt2Tokenizer, GPT2_EOT_ID, type Gpt2TokenizerOptions } from './gpt2.js';
export { HfTokenizer } from './hf.js';
export { trainBpeTokenizer, trainBpeTokenizerJson, BPE_SPECIAL_TOKENS, type BpeTrainOptions } from './bpe.js';
export { byteLevelAlphabet, byteLevelBpeJson, gpt2VocabAndMerges, hfTokenizerConfig, hfTokenizerJson } from './hf-json.js';
export { SEGMENT_CHUNK_LENGTH, WordTokenizer, segmentChunks, splitWords, type WordTokenizerOptions } from './word.js';
export { StreamDecoder } from './stream-decoder.js';

/** How a run chooses its tokenizer (the `tokenizer` block of a training config). */
export interface TokenizerConfig {
  /** 'char' and 'word' build their vocabulary from the training corpus; 'gpt2' is fixed; 'hf' reads `path`. */
  type: 'char' | 'gpt2' | 'hf' | 'word' | 'bpe';
  /** hf: path of a Hugging Face `tokenizer.json`. */
  path?: string;
  /** hf: optional path of its `tokenizer_config.json` (names the special tokens). */
  configPath?: string;
  /** char: add [PAD] [UNK] [CLS] [SEP] [MASK] before the characters (for classification). Default false. */
  specialTokens?: boolean;
  /** word: minimum count of a word in the corpus. Default 1. */
  minFrequency?: number;
  /** word: vocabulary size cap, special tokens included. */
  maxVocabSize?: number;
  /** word: lower-case words. Default true. */
  lowercase?: boolean;
  /** bpe: vocabulary entries (6 special tokens + 256 bytes + merges). Default 8000. */
  vocabSize?: number;
  /** gpt2: encode the literal text `<|endoftext|>` as id 50256. Default false. */
  allowSpecial?: boolean;
}

/**
 * Rebuilds a tokenizer from its `toJSON()` form (as saved with a model).
 * @throws FileFormatError when `kind` is unknown or a field is missing.
 */
export function loadTokenizer(json: unknown): Tokenizer {
  if (typeof json !== 'object' || json === null || typeof (json as TokenizerJSON).kind !== 'string') {
    throw new FileFormatError('tokenizer JSON: field "kind" (string) is missing');
  }
  const j = json as TokenizerJSON;
  switch (j.kind) {
    case 'char': return CharTokenizer.fromJSON(j);
    case 'gpt2': return Gpt2Tokenizer.fromJSON(j);
    case 'hf': return HfTokenizer.fromJSON(j);
    case 'word': return WordTokenizer.fromJSON(j);
    default: throw new FileFormatError(`tokenizer JSON: unknown kind ${JSON.stringify(j.kind)} (expected char, gpt2, hf or word)`);
  }
}

/**
 * Makes the tokenizer a config asks for. `corpus` (the training texts, or a function returning
 * them, called only when needed) is required for 'char', 'word' and 'bpe'.
 * @throws ConfigError naming the field (`tokenizer.type`, `tokenizer.path`) on a bad value;
 *   FileFormatError when an hf file cannot be read or parsed; ValueError when a corpus is needed
 *   but not given.
 */
export function tokenizerFromConfig(
  config: TokenizerConfig,
  corpus?: Iterable<string> | (() => Iterable<string>),
): Tokenizer {
  const texts = (): Iterable<string> => {
    if (corpus === undefined) throw new ValueError(`tokenizer type "${config.type}" builds its vocabulary from the training corpus; pass the corpus`);
    return typeof corpus === 'function' ? corpus() : corpus;
  };
  switch (config.type) {
    case 'char':
      return CharTokenizer.fromCorpus(texts(), { specialTokens: config.specialTokens ?? false });
    case 'word':
      return WordTokenizer.fromCorpus(texts(), {
        minFrequency: config.minFrequency,
        maxVocabSize: config.maxVocabSize,
        lowercase: config.lowercase,
      });
    case 'bpe':
      return trainBpeTokenizer(texts(), { vocabSize: config.vocabSize, lowercase: config.lowercase });
    case 'gpt2':
      return new Gpt2Tokenizer({ allowSpecial: config.allowSpecial ?? false });
    case 'hf': {
      if (typeof config.path !== 'string' || config.path === '') {
        throw new ConfigError('tokenizer.path: an hf tokenizer needs the path of a tokenizer.json file');
      }
      // A folder is read as Hugging Face's from_pretrained reads one: its tokenizer.json and tokenizer_config.json.
      const folder = isFolder(config.path) ? config.path : null;
      const file = folder === null ? config.path : join(folder, 'tokenizer.json');
      if (folder !== null && !existsSync(file)) throw new ConfigError(`tokenizer.path: ${folder} is a folder without tokenizer.json (give a tokenizer.json file or a folder holding one)`);
      const configPath = config.configPath ?? (folder !== null && existsSync(join(folder, 'tokenizer_config.json')) ? join(folder, 'tokenizer_config.json') : undefined);
      const json = readJsonFile(file) as Record<string, unknown>;
      const cfg = configPath ? (readJsonFile(configPath) as Record<string, unknown>) : {};
      if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw new FileFormatError(`${configPath}: a tokenizer_config.json must be a JSON object`);
      try {
        return new HfTokenizer(json, cfg);
      } catch (e) {
        // Name the file the user gave (the tokenizer's own message says "tokenizer.json").
        if (e instanceof FileFormatError) throw new FileFormatError(`${file}: ${e.message.replace(/^tokenizer\.json: /, '')}`);
        throw e;
      }
    }
    default:
      throw new ConfigError(`tokenizer.type: expected one of char, gpt2, hf, word, bpe, got ${JSON.stringify((config as { type: unknown }).type)}`);
  }
}

/** Reads a tokenizer saved by `saveTokenizer`. @throws FileFormatError naming the path. */
export function readTokenizerFile(path: string): Tokenizer {
  const json = readJsonFile(path);
  try {
    return loadTokenizer(json);
  } catch (e) {
    if (e instanceof FileFormatError) throw new FileFormatError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Writes `tokenizer.toJSON()` to `path` atomically (temporary file, then rename). */
export function saveTokenizer(tokenizer: Tokenizer, path: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(tokenizer.toJSON()));
  renameSync(tmp, path);
}

function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = decodeUtf8(path, readFileSync(path));
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw new FileFormatError(`${path}: ${readFailure(e)}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FileFormatError(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

/**
 * The tokenizer of a Hugging Face model folder: its `tokenizer.json` (with `tokenizer_config.json`
 * when present), else GPT-2's slow-tokenizer files `vocab.json` + `merges.txt` (byte-level BPE).
 * @throws FileFormatError naming the folder when it has neither, or the file that cannot be read.
 */
export function tokenizerFromPretrained(dir: string): HfTokenizer {
  const cfgPath = join(dir, 'tokenizer_config.json');
  const cfg = existsSync(cfgPath) ? (readJsonFile(cfgPath) as Record<string, unknown>) : {};
  const tj = join(dir, 'tokenizer.json');
  if (existsSync(tj)) {
    try {
      return new HfTokenizer(readJsonFile(tj) as Record<string, unknown>, cfg);
    } catch (e) {
      if (e instanceof FileFormatError) throw new FileFormatError(`${tj}: ${e.message.replace(/^tokenizer\.json: /, '')}`);
      throw e;
    }
  }
  const vj = join(dir, 'vocab.json'), mt = join(dir, 'merges.txt');
  if (!existsSync(vj) || !existsSync(mt)) {
    throw new FileFormatError(`${dir}: no tokenizer.json, nor vocab.json + merges.txt (the tokenizer of a pretrained folder)`);
  }
  const vocab = readJsonFile(vj);
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw new FileFormatError(`${vj}: must be a JSON object of token → id`);
  let text: string;
  try {
    text = readFileSync(mt, 'utf8');
  } catch (e) {
    throw new FileFormatError(`${mt}: ${readFailure(e)}`);
  }
  const merges: string[] = [];
  text.split('\n').forEach((line, i) => {
    const l = line.replace(/\r$/, '');
    if (l === '' || (i === 0 && l.startsWith('#version'))) return;
    if (l.split(' ').length !== 2) throw new FileFormatError(`${mt}:${i + 1}: a merge is two tokens separated by one space, got ${JSON.stringify(l.slice(0, 80))}`);
    merges.push(l);
  });
  return new HfTokenizer(byteLevelBpeJson(vocab as Record<string, number>, merges), cfg);
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
