/**
 * A byte-level BPE tokenizer (Sennrich et al. 2016; GPT-2's byte-level variant) learned from the
 * training texts with Hugging Face's `tokenizers` library (its Rust implementation through the
 * Node binding, npm `tokenizers`; trains offline). The binding trains with the library's default
 * BPE trainer (no vocabulary-size setting), so the vocabulary is cut afterwards: BPE learns its
 * merges greedily, most frequent pair first, so the first K merges of a long run are the merges a
 * run stopped at K would learn. The result has the special tokens [PAD] [UNK] [CLS] [SEP] [BOS]
 * [EOS] (ids 0–5), all 256 byte symbols (so no text is out of vocabulary) and the first merges, up
 * to `vocabSize` entries; it is a standard `tokenizer.json`, run by {@link HfTokenizer}.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ValueError } from '../../errors.js';
import { HfTokenizer } from './hf.js';

export const BPE_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[BOS]', '[EOS]'] as const;

export interface BpeTrainOptions {
  /** Entries of the vocabulary: special tokens + 256 byte symbols + merges. Default 8000. */
  vocabSize?: number;
  /** Lower-case texts first (a normalizer in the tokenizer). Default false. */
  lowercase?: boolean;
}

/** GPT-2's map of the 256 bytes to printable characters (the byte-level alphabet). */
function byteAlphabet(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + n++);
  return out;
}

interface TokenizersLib {
  Tokenizer: new (model: unknown) => { setPreTokenizer(p: unknown): void; train(files: string[]): void; save(path: string, pretty?: boolean): void };
  BPE: { empty(): unknown };
  byteLevelPreTokenizer(addPrefixSpace?: boolean, useRegex?: boolean): unknown;
}

function loadLib(): TokenizersLib {
  try {
    return createRequire(import.meta.url)('tokenizers') as TokenizersLib;
  } catch (e) {
    throw new ConfigError(`data.tokenizer.type: "bpe" needs the npm package tokenizers (Hugging Face's binding), which did not load: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * The library's trainer writes its progress (blank lines when stdout is not a terminal) to the
 * process's stdout from Rust, past Node's streams, and the binding has no option to turn it off;
 * so it trains in a child Node process whose stdout is discarded.
 * @throws ConfigError when the library cannot be loaded; ValueError with the child's message when training fails.
 */
function trainInChild(corpus: string, out: string): void {
  loadLib(); // the library's absence is named here, in this process
  const lib = createRequire(import.meta.url).resolve('tokenizers');
  const script = `const [lib, corpus, out] = process.argv.slice(1); const t = require(lib);
const tok = new t.Tokenizer(t.BPE.empty()); tok.setPreTokenizer(t.byteLevelPreTokenizer(true, true)); tok.train([corpus]); tok.save(out, false);`;
  const r = spawnSync(process.execPath, ['-e', script, lib, corpus, out], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new ValueError(`bpe tokenizer: training failed (${(r.error?.message ?? r.stderr.trim().split('\n').at(-1)) || `exit ${r.status ?? r.signal}`})`);
}

/**
 * Learns the merges from `texts` and returns the `tokenizer.json` object.
 * @throws ValueError when vocabSize cannot hold the special tokens and the byte alphabet plus one
 *   merge, or the corpus is empty; ConfigError when the library cannot be loaded.
 */
export function trainBpeTokenizerJson(texts: Iterable<string>, options: BpeTrainOptions = {}): Record<string, unknown> {
  const vocabSize = options.vocabSize ?? 8000;
  const base = BPE_SPECIAL_TOKENS.length + 256;
  if (!Number.isInteger(vocabSize) || vocabSize <= base) throw new ValueError(`data.tokenizer.vocabSize: must be an integer above ${base} (special tokens + 256 bytes), got ${vocabSize}`);
  const dir = mkdtempSync(join(tmpdir(), 'trainformer-bpe-'));
  try {
    const corpus = join(dir, 'corpus.txt');
    const lines: string[] = [];
    for (const t of texts) lines.push(options.lowercase ? t.toLowerCase() : t);
    if (lines.length === 0) throw new ValueError('bpe tokenizer: the training corpus is empty');
    writeFileSync(corpus, lines.join('\n') + '\n');
    const out = join(dir, 'tokenizer.json');
    trainInChild(corpus, out);
    const trained = JSON.parse(readFileSync(out, 'utf8')) as { model: { merges: Array<[string, string] | string> } };
    const merges = trained.model.merges.map((m) => (typeof m === 'string' ? (m.split(' ') as [string, string]) : m));
    const ids = new Map<string, number>();
    for (const s of [...BPE_SPECIAL_TOKENS, ...byteAlphabet()]) ids.set(s, ids.size);
    const kept: Array<[string, string]> = [];
    for (const [a, b] of merges) {
      if (ids.size >= vocabSize) break;
      if (!ids.has(a) || !ids.has(b) || ids.has(a + b)) continue;
      ids.set(a + b, ids.size);
      kept.push([a, b]);
    }
    const vocab = Object.fromEntries(ids);
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: BPE_SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: options.lowercase ? { type: 'Lowercase' } : null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: kept,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** {@link trainBpeTokenizerJson}, as a trainformer tokenizer. */
export function trainBpeTokenizer(texts: Iterable<string>, options: BpeTrainOptions = {}): HfTokenizer {
  return new HfTokenizer(trainBpeTokenizerJson(texts, options));
}
