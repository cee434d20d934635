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
    if (typeof tokenizerJson !== 'object' || tokenizerJson === null || typeof tokenizerJson.model !== 'object') {
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
    return enc.ids.map((id: number | undefined, i: number) => {
      if (id !== undefined && id !== null) return id;
      if (this.unkId === undefined) {
        throw new ValueError(`hf tokenizer: piece ${JSON.stringify(enc.tokens[i])} is not in the vocabulary and there is no unk token`);
      }
      return this.unkId;
    });
  }

  /** @throws IndexError for an id outside [0, vocabSize). */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
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
