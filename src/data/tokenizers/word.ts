import { FileFormatError, ValueError, withArticle } from '../../errors.js';
import { BERT_SPECIALS } from './types.js';
import type { DecodeOptions, EncodingWithOffsets, Tokenizer, TokenizerJSON } from './types.js';
import { Vocab } from './vocab.js';

export interface WordTokenizerOptions {
  /** Keep only words seen at least this often in the corpus. Default 1. */
  minFrequency?: number;
  /** Cap on the vocabulary size, the 5 special tokens included (most frequent words kept). */
  maxVocabSize?: number;
  /** Lower-case every word (the span still points at the original text). Default true. */
  lowercase?: boolean;
}

// The locale only picks dictionary data for languages without spaces; 'en' keeps it fixed.
const segmenter = new Intl.Segmenter('en', { granularity: 'word' });
const SPACE = /^\s+$/u;

/**
 * Longest piece of text handed to `Intl.Segmenter` at once (UTF-16 code units). V8's segment
 * iterator costs time proportional to the whole string at every step (40k words: 42 s), so long
 * texts are cut into pieces of about this length at places where the word-boundary rules always
 * break; each piece is segmented alone and the spans shifted back.
 */
export const SEGMENT_CHUNK_LENGTH = 2048;

// A cut before index i is exact when UAX #29 always breaks there and no rule looks across it:
// the character before is white space or a bracket / ! / ? (no Mid*, quote, ExtendNumLet or
// Hebrew-quote class; CJK full stops and commas included: they also end dictionary runs), and the
// character at i is a letter or digit that is not an Extend mark (WB4 would glue it to the left).
const CUT_BEFORE = /[\s!?()[\]{}\u3001\u3002\u300C-\u3011\uFF01\uFF08\uFF09\uFF1F]/u;
const CUT_AFTER = /[\p{L}\p{N}]/u;
const EXTEND_LETTERS = /[\p{M}\uFF9E\uFF9F]/u;

function isCut(text: string, i: number): boolean {
  if (!CUT_BEFORE.test(text[i - 1]!)) return false;
  const next = String.fromCodePoint(text.codePointAt(i)!);
  return CUT_AFTER.test(next) && !EXTEND_LETTERS.test(next);
}

/**
 * `[start, end)` ranges covering `text` in order, each at most `maxLength` code units long where
 * an exact cut (see `isCut`) lies in its second half, longer only when none does.
 */
export function segmentChunks(text: string, maxLength = SEGMENT_CHUNK_LENGTH): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  while (text.length - start > maxLength) {
    let cut = -1;
    for (let i = start + maxLength; i > start + (maxLength >> 1); i--) if (isCut(text, i)) { cut = i; break; }
    for (let i = start + maxLength + 1; cut < 0 && i < text.length; i++) if (isCut(text, i)) cut = i;
    if (cut < 0) break;
    out.push([start, cut]);
    start = cut;
  }
  if (start < text.length || out.length === 0) out.push([start, text.length]);
  return out;
}

/**
 * Splits text into words and punctuation with `[start, end)` spans in UTF-16 code units, using the
 * Unicode word-boundary rules (UAX #29) of the runtime's ICU through `Intl.Segmenter`: words keep
 * inner apostrophes and decimal points ("don't", "3.14"), each punctuation mark or symbol is its
 * own piece, whitespace is dropped. Time is linear in the text length: `chunkLength` (default
 * SEGMENT_CHUNK_LENGTH) bounds the pieces handed to the segmenter; it does not change the result.
 */
export function splitWords(text: string, chunkLength = SEGMENT_CHUNK_LENGTH): Array<{ piece: string; start: number; end: number }> {
  const out: Array<{ piece: string; start: number; end: number }> = [];
  for (const [from, to] of segmentChunks(text, chunkLength)) {
    const chunk = from === 0 && to === text.length ? text : text.slice(from, to);
    for (const s of segmenter.segment(chunk)) {
      if (!s.isWordLike && SPACE.test(s.segment)) continue;
      out.push({ piece: s.segment, start: from + s.index, end: from + s.index + s.segment.length });
    }
  }
  return out;
}

/**
 * Word-level tokenizer for the classification, QA and translation examples: (lower-cased) words
 * and punctuation marks, with ids 0..4 = [PAD] [UNK] [CLS] [SEP] [MASK] followed by the corpus
 * vocabulary sorted by frequency (descending, ties by code-unit order: deterministic).
 * Unknown words map to [UNK]. bos/eos are [CLS]/[SEP] (used as start/end markers for seq2seq).
 * Decoding joins pieces with single spaces, so it is not an exact inverse (the spans from
 * `encodeWithOffsets` are, on the original text).
 */
export class WordTokenizer implements Tokenizer {
  readonly kind = 'word';
  readonly vocab: Vocab;
  readonly lowercase: boolean;

  constructor(vocab: Vocab, lowercase = true) {
    for (const role of ['pad', 'unk'] as const) {
      if (vocab.roleId(role) === undefined) throw new ValueError(`word tokenizer: the vocabulary needs ${withArticle(role)} token`);
    }
    this.vocab = vocab;
    this.lowercase = lowercase;
  }

  /**
   * Builds the vocabulary from training texts.
   * @throws ValueError when minFrequency < 1 or maxVocabSize < 6.
   */
  static fromCorpus(texts: Iterable<string>, options: WordTokenizerOptions = {}): WordTokenizer {
    const minFrequency = options.minFrequency ?? 1;
    const lowercase = options.lowercase ?? true;
    if (!Number.isInteger(minFrequency) || minFrequency < 1) {
      throw new ValueError(`word tokenizer: minFrequency must be an integer >= 1, got ${minFrequency}`);
    }
    const specials = Object.values(BERT_SPECIALS);
    const max = options.maxVocabSize ?? Infinity;
    if (max !== Infinity && (!Number.isInteger(max) || max < specials.length + 1)) {
      throw new ValueError(`word tokenizer: maxVocabSize must be an integer >= ${specials.length + 1}, got ${max}`);
    }
    const counts = new Map<string, number>();
    for (const text of texts) {
      for (const { piece } of splitWords(text)) {
        const w = lowercase ? piece.toLowerCase() : piece;
        counts.set(w, (counts.get(w) ?? 0) + 1);
      }
    }
    const words = [...counts.entries()]
      .filter(([w, c]) => c >= minFrequency && !specials.includes(w))
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, max - specials.length)
      .map(([w]) => w);
    return new WordTokenizer(new Vocab([...specials, ...words], { ...BERT_SPECIALS }), lowercase);
  }

  /** @throws FileFormatError when the JSON lacks or mistypes a field. */
  static fromJSON(json: TokenizerJSON): WordTokenizer {
    if (json.kind !== 'word') throw new FileFormatError(`word tokenizer JSON: kind must be "word", got ${JSON.stringify(json.kind)}`);
    if (json.lowercase !== undefined && typeof json.lowercase !== 'boolean') {
      throw new FileFormatError('word tokenizer JSON: field "lowercase" must be a boolean');
    }
    try {
      return new WordTokenizer(Vocab.fromJSON(json, 'word'), json.lowercase ?? true);
    } catch (e) {
      if (e instanceof FileFormatError) throw e;
      throw new FileFormatError(`word tokenizer JSON: ${(e as Error).message}`);
    }
  }

  get vocabSize(): number { return this.vocab.size; }
  get padId(): number | undefined { return this.vocab.roleId('pad'); }
  get unkId(): number | undefined { return this.vocab.roleId('unk'); }
  get bosId(): number | undefined { return this.vocab.roleId('bos') ?? this.vocab.roleId('cls'); }
  get eosId(): number | undefined { return this.vocab.roleId('eos') ?? this.vocab.roleId('sep'); }
  get clsId(): number | undefined { return this.vocab.roleId('cls'); }
  get sepId(): number | undefined { return this.vocab.roleId('sep'); }
  get maskId(): number | undefined { return this.vocab.roleId('mask'); }

  encode(text: string): number[] {
    return this.encodeWithOffsets(text).ids;
  }

  /** Ids with each word's `[start, end)` span in UTF-16 code units of `text`. */
  encodeWithOffsets(text: string): EncodingWithOffsets {
    const unk = this.unkId!;
    const ids: number[] = [];
    const offsets: Array<[number, number]> = [];
    for (const { piece, start, end } of splitWords(text)) {
      ids.push(this.vocab.id(this.lowercase ? piece.toLowerCase() : piece) ?? unk);
      offsets.push([start, end]);
    }
    return { ids, offsets };
  }

  /** Pieces joined by single spaces. @throws IndexError for an id outside [0, vocabSize). */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    return this.vocab.tokensOf(ids, options.skipSpecialTokens ?? false).join(' ');
  }

  idToToken(id: number): string | undefined { return this.vocab.token(id); }
  tokenToId(token: string): number | undefined { return this.vocab.id(token); }

  toJSON(): TokenizerJSON {
    return { kind: 'word', version: 1, lowercase: this.lowercase, tokens: [...this.vocab.tokens], specialTokens: { ...this.vocab.specials } };
  }
}
