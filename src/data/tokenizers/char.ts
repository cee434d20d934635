import { FileFormatError, ValueError } from '../../errors.js';
import { BERT_SPECIALS } from './types.js';
import type { DecodeOptions, EncodingWithOffsets, SpecialTokenMap, Tokenizer, TokenizerJSON } from './types.js';
import { Vocab } from './vocab.js';

export interface CharTokenizerOptions {
  /**
   * Special tokens placed first (ids 0..k-1) before the characters. `true` gives BERT's five
   * ([PAD] [UNK] [CLS] [SEP] [MASK]) for classification use; default none, so that ids are the
   * character's rank in the sorted character set (nanoGPT's `shakespeare_char` ids).
   */
  specialTokens?: boolean | SpecialTokenMap;
}

/**
 * Character-level tokenizer: one id per Unicode code point. The vocabulary is the sorted set of
 * code points seen in the corpus (sorted by code point, like Python's `sorted(set(text))`),
 * optionally preceded by special tokens. Unknown characters map to the unk token when there is
 * one, and are an error otherwise. Decoding is exact: `decode(encode(s)) === s` for every string
 * made of known characters.
 */
export class CharTokenizer implements Tokenizer {
  readonly kind = 'char';
  readonly vocab: Vocab;
  private readonly bmp = new Int32Array(65536).fill(-1); // fast path for code points < 2^16
  private readonly astral = new Map<number, number>();

  constructor(vocab: Vocab) {
    this.vocab = vocab;
    vocab.tokens.forEach((t, id) => {
      if (vocab.isSpecial(id)) return;
      const cp = t.codePointAt(0);
      if (cp === undefined || String.fromCodePoint(cp) !== t) {
        throw new ValueError(`char tokenizer: token ${id} = ${JSON.stringify(t)} is not a single code point`);
      }
      if (cp < 65536) this.bmp[cp] = id;
      else this.astral.set(cp, id);
    });
  }

  /**
   * Builds the vocabulary from a corpus (one string or several chunks; deterministic: sorted).
   * @throws ValueError when the corpus is empty.
   */
  static fromCorpus(corpus: string | Iterable<string>, options: CharTokenizerOptions = {}): CharTokenizer {
    const seen = new Set<number>();
    for (const chunk of typeof corpus === 'string' ? [corpus] : corpus) {
      for (const ch of chunk) seen.add(ch.codePointAt(0)!);
    }
    if (seen.size === 0) throw new ValueError('char tokenizer: the corpus is empty; no characters to build a vocabulary from');
    const specials: SpecialTokenMap =
      options.specialTokens === true ? { ...BERT_SPECIALS } : options.specialTokens ? { ...options.specialTokens } : {};
    const specialList = [...new Set(Object.values(specials))] as string[];
    const chars = [...seen].sort((a, b) => a - b).map((cp) => String.fromCodePoint(cp));
    // A special token that is itself one character would collide with that character's entry.
    const clash = specialList.find((s) => chars.includes(s));
    if (clash !== undefined) throw new ValueError(`char tokenizer: special token ${JSON.stringify(clash)} is also a corpus character`);
    return new CharTokenizer(new Vocab([...specialList, ...chars], specials));
  }

  /** @throws FileFormatError when the JSON lacks or mistypes a field. */
  static fromJSON(json: TokenizerJSON): CharTokenizer {
    if (json.kind !== 'char') throw new FileFormatError(`char tokenizer JSON: kind must be "char", got ${JSON.stringify(json.kind)}`);
    return new CharTokenizer(Vocab.fromJSON(json, 'char'));
  }

  get vocabSize(): number { return this.vocab.size; }
  get padId(): number | undefined { return this.vocab.roleId('pad'); }
  get unkId(): number | undefined { return this.vocab.roleId('unk'); }
  get bosId(): number | undefined { return this.vocab.roleId('bos') ?? this.vocab.roleId('cls'); }
  get eosId(): number | undefined { return this.vocab.roleId('eos') ?? this.vocab.roleId('sep'); }
  get clsId(): number | undefined { return this.vocab.roleId('cls'); }
  get sepId(): number | undefined { return this.vocab.roleId('sep'); }
  get maskId(): number | undefined { return this.vocab.roleId('mask'); }

  /**
   * One id per code point.
   * @throws ValueError naming the character and its index when it is not in the vocabulary and
   *   the tokenizer has no unk token.
   */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      ids.push(this.idOf(cp, i));
      i += cp >= 65536 ? 2 : 1;
    }
    return ids;
  }

  /** Ids with `[start, end)` spans in UTF-16 code units (2 units for astral characters). */
  encodeWithOffsets(text: string): EncodingWithOffsets {
    const ids: number[] = [];
    const offsets: Array<[number, number]> = [];
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      const w = cp >= 65536 ? 2 : 1;
      ids.push(this.idOf(cp, i));
      offsets.push([i, i + w]);
      i += w;
    }
    return { ids, offsets };
  }

  private idOf(cp: number, index: number): number {
    const id = cp < 65536 ? this.bmp[cp] : (this.astral.get(cp) ?? -1);
    if (id >= 0) return id;
    const unk = this.unkId;
    if (unk === undefined) {
      throw new ValueError(
        `char tokenizer: character ${JSON.stringify(String.fromCodePoint(cp))} (U+${cp.toString(16).toUpperCase().padStart(4, '0')}) at index ${index} is not in the vocabulary and there is no unk token`,
      );
    }
    return unk;
  }

  /** @throws IndexError for an id outside [0, vocabSize). */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    return this.vocab.tokensOf(ids, options.skipSpecialTokens ?? false).join('');
  }

  idToToken(id: number): string | undefined { return this.vocab.token(id); }
  tokenToId(token: string): number | undefined { return this.vocab.id(token); }

  toJSON(): TokenizerJSON {
    return { kind: 'char', version: 1, tokens: [...this.vocab.tokens], specialTokens: { ...this.vocab.specials } };
  }
}
