import { createRequire } from 'node:module';
import { FileFormatError, IndexError } from '../../errors.js';
import type { DecodeOptions, Tokenizer, TokenizerJSON } from './types.js';

type R50k = typeof import('gpt-tokenizer/encoding/r50k_base');

let r50k: R50k | undefined;
/** Loads the GPT-2 ranks on first use (about 50k merges; shipped inside the npm package). */
function encoding(): R50k {
  r50k ??= createRequire(import.meta.url)('gpt-tokenizer/encoding/r50k_base') as R50k;
  return r50k;
}

/**
 * The bytes of one token, from gpt-tokenizer's byte-pair core (`tryDecodeToken`: the token's bytes,
 * or the text of a special token). Its own `decode` runs every call through ONE module-wide
 * streaming TextDecoder, so bytes of a character split across calls leak into the next call (a
 * second `decode` printed U+FFFD, issue 19); decoding bytes here keeps `decode` a pure function.
 */
interface BpeCore { tryDecodeToken(id: number): Uint8Array | string | undefined }
const utf8 = new TextEncoder();
const byteCache = new Map<number, Uint8Array>();
function tokenBytesOf(id: number): Uint8Array {
  let b = byteCache.get(id);
  if (b === undefined) {
    const core = (encoding() as unknown as { default: { bytePairEncodingCoreProcessor: BpeCore } }).default.bytePairEncodingCoreProcessor;
    const raw = core.tryDecodeToken(id);
    if (raw === undefined) throw new IndexError(`decode: id ${id} is not in the gpt2 vocabulary`);
    b = typeof raw === 'string' ? utf8.encode(raw) : Uint8Array.from(raw);
    byteCache.set(id, b);
  }
  return b;
}

/** GPT-2's `<|endoftext|>` id. */
export const GPT2_EOT_ID = 50256;
const GPT2_VOCAB_SIZE = 50257;

export interface Gpt2TokenizerOptions {
  /**
   * When true, the literal text `<|endoftext|>` is encoded as the special id 50256. Default false:
   * it is encoded as ordinary text, so that any input string round-trips exactly.
   */
  allowSpecial?: boolean;
}

/**
 * GPT-2 byte-level BPE (the `r50k_base` encoding: 50,257 ids, `<|endoftext|>` = 50256), through
 * the `gpt-tokenizer` package, whose vocabulary ships with it (no download at run time).
 * Byte-level BPE encodes any Unicode string and decodes it back exactly.
 *
 * GPT-2 has no padding token; as is customary, `padId` is `<|endoftext|>` (the attention mask,
 * not the id, is what hides padding). bos = eos = `<|endoftext|>`.
 */
export class Gpt2Tokenizer implements Tokenizer {
  readonly kind = 'gpt2';
  readonly vocabSize = GPT2_VOCAB_SIZE;
  readonly padId = GPT2_EOT_ID;
  readonly unkId = undefined;
  readonly bosId = GPT2_EOT_ID;
  readonly eosId = GPT2_EOT_ID;
  readonly clsId = undefined;
  readonly sepId = undefined;
  readonly maskId = undefined;
  readonly allowSpecial: boolean;

  constructor(options: Gpt2TokenizerOptions = {}) {
    this.allowSpecial = options.allowSpecial ?? false;
  }

  /** @throws FileFormatError when the JSON is not a gpt2 tokenizer. */
  static fromJSON(json: TokenizerJSON): Gpt2Tokenizer {
    if (json.kind !== 'gpt2') throw new FileFormatError(`gpt2 tokenizer JSON: kind must be "gpt2", got ${JSON.stringify(json.kind)}`);
    if (json.encoding !== undefined && json.encoding !== 'r50k_base') {
      throw new FileFormatError(`gpt2 tokenizer JSON: encoding must be "r50k_base", got ${JSON.stringify(json.encoding)}`);
    }
    return new Gpt2Tokenizer({ allowSpecial: json.allowSpecial === true });
  }

  encode(text: string): number[] {
    const enc = encoding();
    return this.allowSpecial
      ? enc.encode(text, { allowedSpecial: new Set(['<|endoftext|>']) })
      : enc.encode(text, { disallowedSpecial: new Set() });
  }

  /** @throws IndexError for an id outside [0, 50257). */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const list: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= GPT2_VOCAB_SIZE) {
        throw new IndexError(`decode: ids[${i}] = ${id} is outside the vocabulary [0, ${GPT2_VOCAB_SIZE})`);
      }
      if (options.skipSpecialTokens && id === GPT2_EOT_ID) continue;
      list.push(id);
    }
    const parts = list.map(tokenBytesOf);
    const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) { bytes.set(p, o); o += p.length; }
    // A fresh decoder per call: a pure function of `ids` (an incomplete character at the end is U+FFFD).
    return new TextDecoder('utf-8').decode(bytes);
  }

  /** The UTF-8 bytes of one token (a token may hold part of a character): for streaming decoders. */
  tokenBytes(id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= GPT2_VOCAB_SIZE) throw new IndexError(`tokenBytes: id ${id} is outside the vocabulary [0, ${GPT2_VOCAB_SIZE})`);
    return tokenBytesOf(id);
  }

  /** The text of one token (may be a partial UTF-8 sequence shown with U+FFFD). */
  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < GPT2_VOCAB_SIZE ? this.decode([id]) : undefined;
  }

  /** The id of a string that is exactly one token, else undefined. */
  tokenToId(token: string): number | undefined {
    if (token === '<|endoftext|>') return GPT2_EOT_ID;
    const ids = encoding().encode(token, { disallowedSpecial: new Set() });
    return ids.length === 1 ? ids[0] : undefined;
  }

  toJSON(): TokenizerJSON {
    return { kind: 'gpt2', version: 1, encoding: 'r50k_base', allowSpecial: this.allowSpecial };
  }
}
