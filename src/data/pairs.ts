import { ValueError } from '../errors.js';
import { asObject, readJsonl, stringField } from './jsonl.js';
import type { JsonlOptions } from './jsonl.js';
import type { Tokenizer } from './tokenizers/types.js';

/** One `{src, tgt}` line (e.g. English → French). */
export interface PairExample {
  src: string;
  tgt: string;
  line: number;
}

export interface PairDataset {
  path: string;
  examples: PairExample[];
  skipped: number;
}

export interface PairLoadOptions extends JsonlOptions {
  /** Default "src". */
  srcField?: string;
  /** Default "tgt". */
  tgtField?: string;
}

/**
 * Streams a JSONL file of sentence pairs `{"src": string, "tgt": string}`.
 * @throws FileFormatError `"<path>:<line>: <problem>"` on a malformed line unless `skipMalformed`.
 */
export async function loadPairsJsonl(path: string, options: PairLoadOptions = {}): Promise<PairDataset> {
  const sf = options.srcField ?? 'src';
  const tf = options.tgtField ?? 'tgt';
  const r = await readJsonl(path, (v) => {
    const o = asObject(v);
    return { src: stringField(o, sf), tgt: stringField(o, tf) };
  }, options);
  return { path, examples: r.records.map((x, i) => ({ ...x, line: r.lines[i] })), skipped: r.skipped };
}

/** A tokenized pair without special tokens; `collateSeq2Seq` adds BOS/EOS and padding. */
export interface EncodedPair {
  srcIds: number[];
  tgtIds: number[];
}

/**
 * Tokenizes pairs (source and target may use different tokenizers), truncating each side.
 * @throws ValueError when a max length is not a positive integer.
 */
export function encodePairs(
  data: PairDataset,
  srcTokenizer: Tokenizer,
  tgtTokenizer: Tokenizer,
  options: { maxSrcLength?: number; maxTgtLength?: number } = {},
): EncodedPair[] {
  for (const [name, v] of Object.entries(options)) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new ValueError(`encodePairs: ${name} must be a positive integer, got ${v}`);
  }
  return data.examples.map((ex) => ({
    srcIds: srcTokenizer.encode(ex.src).slice(0, options.maxSrcLength),
    tgtIds: tgtTokenizer.encode(ex.tgt).slice(0, options.maxTgtLength),
  }));
}
