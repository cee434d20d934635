/** Roles a special token can play; each tokenizer exposes the ids of those it has. */
export type SpecialRole = 'pad' | 'unk' | 'bos' | 'eos' | 'cls' | 'sep' | 'mask';

/** Role → token string, as stored in a tokenizer's JSON. */
export type SpecialTokenMap = Partial<Record<SpecialRole, string>>;

/** The five special tokens of the word-level tokenizer (BERT's names), in id order 0..4. */
export const BERT_SPECIALS: Readonly<Required<Pick<SpecialTokenMap, 'pad' | 'unk' | 'cls' | 'sep' | 'mask'>>> = {
  pad: '[PAD]',
  unk: '[UNK]',
  cls: '[CLS]',
  sep: '[SEP]',
  mask: '[MASK]',
};

/** Token ids with character spans: `offsets[i] = [start, end)` in UTF-16 code units of the input. */
export interface EncodingWithOffsets {
  ids: number[];
  offsets: Array<[number, number]>;
}

export interface DecodeOptions {
  /** Leave out special tokens (pad, cls, …) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

/** The JSON form of any tokenizer: `kind` selects the class in `loadTokenizer`. */
export interface TokenizerJSON {
  kind: string;
  [key: string]: unknown;
}

/**
 * What every tokenizer offers. Ids are integers in [0, vocabSize). A special-token id is
 * `undefined` when the tokenizer has no such token.
 */
export interface Tokenizer {
  /** 'char' | 'gpt2' | 'hf' | 'word'. */
  readonly kind: string;
  /** Number of ids (the model's embedding rows V). */
  readonly vocabSize: number;
  readonly padId: number | undefined;
  readonly unkId: number | undefined;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly clsId: number | undefined;
  readonly sepId: number | undefined;
  readonly maskId: number | undefined;
  /** Text → ids. Never adds special tokens (callers add [CLS]/[SEP]/BOS/EOS explicitly). */
  encode(text: string): number[];
  /** Ids → text: a pure function of `ids` (no state kept between calls); `decode([])` is ''. */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /** Like `encode`, with each token's character span; only tokenizers that can give spans have it. */
  encodeWithOffsets?(text: string): EncodingWithOffsets;
  /**
   * The UTF-8 bytes an id stands for, for byte-level tokenizers whose tokens may split a character
   * (gpt2); a {@link StreamDecoder} holds such bytes until the character is complete.
   */
  tokenBytes?(id: number): Uint8Array;
  /** The token string of an id (undefined when out of range). */
  idToToken(id: number): string | undefined;
  /** The id of a token string (undefined when absent). */
  tokenToId(token: string): number | undefined;
  /** A JSON-serialisable form; `loadTokenizer(tok.toJSON())` gives an identical tokenizer. */
  toJSON(): TokenizerJSON;
}
