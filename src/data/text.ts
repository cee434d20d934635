import { readFile } from 'node:fs/promises';
import { FileFormatError, ValueError } from '../errors.js';
import type { Tokenizer } from './tokenizers/types.js';
import { decodeUtf8 } from './encoding.js';
import { readFailure } from '../io/read-failure.js';

/**
 * Reads a UTF-8 text file whole (language-model corpora here are a few MB; byte-level BPE merges
 * across line ends, so line-by-line encoding would change the tokens).
 * @throws FileFormatError naming the path when the file cannot be read or is not valid UTF-8.
 */
export async function readTextFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new FileFormatError(`${path}: ${readFailure(e)}`);
  }
  return decodeUtf8(path, bytes);
}

/**
 * Splits text into training text and validation text: the last `valFraction` of the characters is
 * validation (nanoGPT's convention: train = text[:floor(n·(1−f))]). The cut never falls inside a
 * surrogate pair. `n` counts UTF-16 code units (= characters for BMP text).
 * @throws ValueError unless 0 <= valFraction < 1.
 */
export function splitText(text: string, valFraction: number): { train: string; val: string } {
  if (!(valFraction >= 0 && valFraction < 1)) throw new ValueError(`splitText: valFraction must be in [0, 1), got ${valFraction}`);
  let cut = Math.floor(text.length * (1 - valFraction));
  const c = text.charCodeAt(cut - 1);
  if (cut > 0 && cut < text.length && c >= 0xd800 && c <= 0xdbff) cut++; // keep the pair together
  return { train: text.slice(0, cut), val: text.slice(cut) };
}

/** Encodes a text into a token stream. @returns Int32Array [N] of ids. */
export function encodeText(text: string, tokenizer: Tokenizer, source?: string, firstLine = 1): Int32Array {
  try {
    return Int32Array.from(tokenizer.encode(text));
  } catch (e) {
    // A character the tokenizer cannot encode: name the file (and line) that holds it.
    if (source !== undefined && e instanceof ValueError) {
      const m = /at index (\d+)/.exec(e.message);
      const line = m ? firstLine - 1 + text.slice(0, Number(m[1])).split('\n').length : undefined;
      throw new FileFormatError(`${source}${line !== undefined ? `:${line}` : ''}: ${e.message}`);
    }
    throw e;
  }
}

/** Train/validation token streams of one text file. */
export interface TextDataset {
  path: string;
  /** The tokens of the first (1 − valFraction) of the text: Int32Array [N_train]. */
  train: Int32Array;
  /** The tokens of the last valFraction: Int32Array [N_val]. */
  val: Int32Array;
  /** The two texts (the char/word tokenizers build their vocabulary from `trainText`). */
  trainText: string;
  valText: string;
}

/**
 * Reads a text file, splits it (last `valFraction` as validation, default 0.1) and encodes both
 * parts. `tokenizer` may be a function that builds one from the training text (vocabulary from
 * the training split only, or pass `(train, val) => …` to use both).
 * @throws FileFormatError (file), ValueError (fraction, unknown characters without unk).
 */
export async function loadTextDataset(
  path: string,
  tokenizer: Tokenizer | ((trainText: string, valText: string) => Tokenizer),
  options: { valFraction?: number } = {},
): Promise<TextDataset & { tokenizer: Tokenizer }> {
  const text = await readTextFile(path);
  const { train, val } = splitText(text, options.valFraction ?? 0.1);
  const tok = typeof tokenizer === 'function' ? tokenizer(train, val) : tokenizer;
  return { path, train: encodeText(train, tok, path), val: encodeText(val, tok, path, train.split('\n').length), trainText: train, valText: val, tokenizer: tok };
}
