import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';
import { FileFormatError, IndexError, ValueError } from '../../errors.js';
import type { DecodeOptions, SpecialRole, Tokenizer, TokenizerJSON } from './types.js';

/** Usual spellings of special tokens, tried when `tokenizer_config.json` does not name them. */
const USUAL_NAMES: Record<SpecialRole, readonly string[]> = {
  pad: ['[PAD]', '<pad>', '<|pad|>'],
  unk: ['[UNK]', '<unk>', '<|unk|>'],
  bos: ['[BOS]', '<s>', '<bos>', '<|startoftext|>', '<|begin_of_text|>'],
  eos: ['[EOS]', '</s>', '<eos>', '<|endoftext|>', '<|end_of_text|>'],
  cls: ['[CLS]', '<cls>'],
  sep: ['[SEP]', '<sep>'],
  mask: ['[MASK]', '<mask>'],
};
const ROLES = Object.keys(USUAL_NAMES) as SpecialRole[];

/** GPT-2's byte → printable character map of byte-level BPE (bytes_to_unicode). */
const BYTE_TO_CHAR: readonly string[] = (() => {
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  return out;
})();

/** Whether a tokenizer.json pre_tokenizer (or one in its Sequence) is ByteLevel. */
function usesByteLevel(pre: unknown): boolean {
  const p = pre as { type?: unknown; pretokenizers?: unknown[] } | null | undefined;
  if (!p || typeof p !== 'object') return false;
  if (p.type === 'ByteLevel') return true;
  return p.type === 'Sequence' && Array.isArray(p.pretokenizers) && p.pretokenizers.some(usesByteLevel);
}

/**
 * A Hugging Face `tokenizer.json` (WordLevel, WordPiece, BPE, Unigram models with their
 * normalizers, pre-tokenizers and decoders) run by `@huggingface/tokenizers` (pure JS).
 *
 * `encode` never adds the post-processor's special tokens (callers add them explicitly, as with
 * every trainformer tokenizer). Special-token ids come from `tokenizer_config.json`
 * (`pad_token`, `unk_token`, …) when given, otherwise from the usual spellings among the
 * tokenizer's tokens ([PAD]/<pad>, [UNK]/<unk>, [CLS], [SEP], [MASK]/<mask>, <s>, </s>).
 */
export class HfTokenizer implements Tokenizer {
  readonly kind = 'hf';
  readonly vocabSize: number;
  readonly padId: number | undefined;
  readonly unkId: number | undefined;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly clsId: number | undefined;
  readonly sepId: number | undefined;
  readonly maskId: number | undefined;
  private readonly lib: HfLibTokenizer;
  private readonly json: Record<string, unknown>;
  private readonly config: Record<string, unknown>;

  /**
   * @param tokenizerJson the parsed `tokenizer.json`.
   * @param tokenizerConfig the parsed `tokenizer_config.json` (optional).
   * @throws FileFormatError when the library cannot build a tokenizer from the JSON.
   */
  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> = {}) {
    if (typeof tokenizerJson !== 'object' || tokenizerJson === null || Array.isArray(tokenizerJson) || typeof tokenizerJson.model !== 'object' || tokenizerJson.model === null) {
      throw new FileFormatError('tokenizer.json: field "model" is missing; this is not a Hugging Face tokenizer.json');
    }
    this.json = tokenizerJson;
    this.config = tokenizerConfig;
    try {
      this.lib = new HfLibTokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new FileFormatError(`tokenizer.json: @huggingface/tokenizers cannot load it: ${(e as Error).message}`);
    }
    let maxId = -1;
    for (const id of this.lib.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    const ids = {} as Record<SpecialRole, number | undefined>;
    for (const role of ROLES) ids[role] = this.findSpecial(role);
    this.padId = ids.pad;
    this.unkId = ids.unk;
    this.clsId = ids.cls;
    this.sepId = ids.sep;
    this.maskId = ids.mask;
    this.bosId = ids.bos ?? ids.cls;
    this.eosId = ids.eos ?? ids.sep;
  }

  /** @throws FileFormatError when the JSON is not an hf tokenizer. */
  static fromJSON(json: TokenizerJSON): HfTokenizer {
    if (json.kind !== 'hf') throw new FileFormatError(`hf tokenizer JSON: kind must be "hf", got ${JSON.stringify(json.kind)}`);
    const tj = json.tokenizer;
    if (typeof tj !== 'object' || tj === null) throw new FileFormatError('hf tokenizer JSON: field "tokenizer" must be the tokenizer.json object');
    const cfg = json.config;
    return new HfTokenizer(tj as Record<string, unknown>, (typeof cfg === 'object' && cfg !== null ? cfg : {}) as Record<string, unknown>);
  }

  private findSpecial(role: SpecialRole): number | undefined {
    const named = this.config[`${role}_token`];
    const content = typeof named === 'string' ? named : (named as { content?: unknown } | undefined)?.content;
    if (typeof content === 'string') return this.lib.token_to_id(content);
    for (const name of USUAL_NAMES[role]) {
      const id = this.lib.token_to_id(name);
      if (id !== undefined) return id;
    }
    // The model's own unk token (WordLevel / WordPiece / BPE models name it).
    if (role === 'unk') {
      const unk = (this.json.model as { unk_token?: unknown }).unk_token;
      if (typeof unk === 'string') return this.lib.token_to_id(unk);
    }
    return undefined;
  }

  /**
   * @throws ValueError when a piece has no id and the tokenizer has no unk token (the library
   *   returns no id for unknown WordLevel words; trainformer maps those to unk).
   */
  encode(text: string): number[] {
    const enc: { ids: Array<number | undefined>; tokens: string[] } = this.lib.encode(text, { add_special_tokens: false });
    const model = this.json.model as { unk_token?: unknown; byte_fallback?: unknown };
    // Without a model unk_token (or byte fallback) the library drops what its vocabulary lacks.
    if ((model.unk_token === null || model.unk_token === undefined) && model.byte_fallback !== true) this.checkNothingDropped(text, enc.tokens);
    return enc.ids.map((id: number | undefined, i: number) => {
      if (id !== undefined && id !== null) return id;
      if (this.unkId === undefined) {
        throw new ValueError(`hf tokenizer: piece ${JSON.stringify(enc.tokens[i])} is not in the vocabulary and there is no unk token`);
      }
      return this.unkId;
    });
  }

  /**
   * A BPE model without an unk token leaves out, in silence, every character whose symbols are not
   * in its vocabulary (issue 19: "lowx" encoded as "low"). Byte-level models: every byte of the text
   * must be a symbol of the vocabulary; others without a normalizer: every non-space character of
   * the text must be in some token.
   * @throws ValueError naming the first character the library dropped.
   */
  private checkNothingDropped(text: string, tokens: readonly string[]): void {
    if (text === '') return;
    const fail = (ch: string): never => {
      const cp = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      throw new ValueError(`hf tokenizer: character ${JSON.stringify(ch)} (U+${cp}) is not in the vocabulary and the model has no unk_token; it would be dropped from the text`);
    };
    if (usesByteLevel(this.json.pre_tokenizer)) {
      const have = tokens.reduce((a, t) => a + [...t].length, 0);
      if (!this.json.normalizer && have === Buffer.byteLength(text, 'utf8')) return;
      const enc = new TextEncoder();
      for (const ch of text) for (const b of enc.encode(ch)) if (this.lib.token_to_id(BYTE_TO_CHAR[b]) === undefined) fail(ch);
      return;
    }
    if (this.json.normalizer) return; // the text the model sees differs from the input: nothing to compare
    const joined = tokens.join('');
    const counts = new Map<string, number>();
    for (const ch of joined) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    for (const ch of text) {
      if (/\s/.test(ch)) continue;
      const n = counts.get(ch) ?? 0;
      if (n === 0) fail(ch);
      counts.set(ch, n - 1);
    }
  }

  /** @throws IndexError for an id outside [0, vocabSize). `decode([])` is ''. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    const list: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new IndexError(`decode: ids[${i}] = ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      }
      list.push(id);
    }
    return this.lib.decode(list, { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  }

  idToToken(id: number): string | undefined { return this.lib.id_to_token(id); }
  tokenToId(token: string): number | undefined { return this.lib.token_to_id(token); }

  /** The whole tokenizer.json (and config) travel with the model, so loading needs no other file. */
  toJSON(): TokenizerJSON {
    return { kind: 'hf', version: 1, tokenizer: this.json, config: this.config };
  }
}
