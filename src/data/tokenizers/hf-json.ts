/**
 * A trainformer tokenizer as a Hugging Face `tokenizer.json` (the `tokenizers` library's format,
 * which `PreTrainedTokenizerFast` / `AutoTokenizer` and `@huggingface/tokenizers` load):
 * - `hf`: the tokenizer.json it was read from, unchanged;
 * - `gpt2`: GPT-2's byte-level BPE (vocabulary of 50,257 byte-level token strings, 50,000 merges,
 *   `<|endoftext|>` = 50256 as a special added token, ByteLevel pre-tokenizer / decoder). The merges
 *   are recovered from the ranks that `gpt-tokenizer` ships: a token of rank r is what byte-pair
 *   merging of its bytes, with the merges of ranks below r, ends in — two parts, whose merge has rank r;
 * - `char`: a BPE model without merges (every Unicode character one token, no pre-tokenizer, a Fuse
 *   decoder), special tokens as added tokens, the unk token as the model's `unk_token`.
 * `word` tokenizers split with `Intl.Segmenter`, which no tokenizer.json component reproduces.
 *
 * Byte ↔ character table of byte-level BPE: GPT-2's `bytes_to_unicode` (printable Latin-1 bytes stand
 * for themselves, the other 68 bytes map to U+0100 onwards in byte order).
 */
import { createRequire } from 'node:module';
import { ValueError } from '../../errors.js';
import type { SpecialTokenMap, Tokenizer, TokenizerJSON } from './types.js';

/** Byte → the character byte-level BPE writes for it. */
export function byteLevelAlphabet(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(printable(b) ? b : next++);
  return out;
}

let gpt2Cache: { vocab: Record<string, number>; merges: string[] } | undefined;

/** GPT-2's vocabulary (byte-level strings → id) and merges ("a b", in rank order). */
export function gpt2VocabAndMerges(): { vocab: Record<string, number>; merges: string[] } {
  if (gpt2Cache) return gpt2Cache;
  const mod = createRequire(import.meta.url)('gpt-tokenizer/bpeRanks/r50k_base') as { default?: unknown } | unknown[];
  const ranks = (Array.isArray(mod) ? mod : (mod as { default: unknown[] }).default) as Array<string | number[]>;
  const alphabet = byteLevelAlphabet();
  const bytesOf = (t: string | number[]): number[] => (typeof t === 'string' ? [...Buffer.from(t, 'utf8')] : t);
  const key = (bytes: number[]): string => bytes.map((b) => alphabet[b]).join('');
  const rankOf = new Map<string, number>();
  const tokens = ranks.map((t, r) => {
    const k = key(bytesOf(t));
    rankOf.set(k, r);
    return k;
  });
  const merges: string[] = [];
  ranks.forEach((t, r) => {
    const bytes = bytesOf(t);
    if (bytes.length < 2) return;
    let parts = bytes.map((b) => alphabet[b]);
    for (;;) {
      let best = -1, bestRank = r;
      for (let i = 0; i + 1 < parts.length; i++) {
        const pr = rankOf.get(parts[i] + parts[i + 1]);
        if (pr !== undefined && pr < bestRank) { bestRank = pr; best = i; }
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), parts[best] + parts[best + 1], ...parts.slice(best + 2)];
    }
    if (parts.length !== 2) throw new ValueError(`gpt2 ranks: token ${r} does not split into one merge (${parts.length} parts)`);
    merges.push(`${parts[0]} ${parts[1]}`);
  });
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => { vocab[t] = i; });
  vocab['<|endoftext|>'] = tokens.length;
  gpt2Cache = { vocab, merges };
  return gpt2Cache;
}

function addedToken(id: number, content: string): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

function gpt2Json(): Record<string, unknown> {
  const { vocab, merges } = gpt2VocabAndMerges();
  return byteLevelBpeJson(vocab, merges);
}

/**
 * A byte-level BPE tokenizer.json (GPT-2's components) from a `vocab.json` object and the merges of a
 * `merges.txt` ("a b" each, rank order); `<|endoftext|>`, when in the vocabulary, is a special added token.
 */
export function byteLevelBpeJson(vocab: Record<string, number>, merges: string[]): Record<string, unknown> {
  const eot = vocab['<|endoftext|>'];
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: eot === undefined ? [] : [addedToken(eot, '<|endoftext|>')],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
}

function charJson(json: TokenizerJSON): Record<string, unknown> {
  const tokens = json.tokens as string[];
  const specials = (json.specialTokens ?? {}) as SpecialTokenMap;
  const specialSet = new Set(Object.values(specials));
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => { vocab[t] = i; });
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: tokens.map((t, i) => [t, i] as const).filter(([t]) => specialSet.has(t)).map(([t, i]) => addedToken(i, t)),
    normalizer: null, pre_tokenizer: null, post_processor: null,
    decoder: { type: 'Fuse' },
    model: {
      type: 'BPE', dropout: null, unk_token: specials.unk ?? null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [],
    },
  };
}

/**
 * The Hugging Face tokenizer.json object for a tokenizer (see the file comment for each kind).
 * @throws ValueError for a `word` tokenizer (or an unknown kind), naming it.
 */
export function hfTokenizerJson(tokenizer: Tokenizer): Record<string, unknown> {
  const json = tokenizer.toJSON();
  switch (json.kind) {
    case 'hf': return json.tokenizer as Record<string, unknown>;
    case 'gpt2': return gpt2Json();
    case 'char': return charJson(json);
    default:
      throw new ValueError(`tokenizer kind '${json.kind}' has no Hugging Face tokenizer.json form (its words are split by Intl.Segmenter); export supports gpt2, char and hf tokenizers`);
  }
}

/**
 * The tokenizer_config.json beside it: the generic fast tokenizer class, the special tokens by role
 * (Hugging Face's `bos_token`, `eos_token`, `unk_token`, `pad_token`), `model_max_length`.
 */
export function hfTokenizerConfig(tokenizer: Tokenizer, modelMaxLength: number): Record<string, unknown> {
  const name = (id: number | undefined): string | null => (id === undefined ? null : tokenizer.idToToken(id) ?? null);
  const gpt2 = tokenizer.kind === 'gpt2';
  const out: Record<string, unknown> = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: modelMaxLength,
    clean_up_tokenization_spaces: false,
    add_prefix_space: false,
  };
  const roles: Array<[string, number | undefined]> = [
    ['bos_token', tokenizer.bosId], ['eos_token', tokenizer.eosId], ['unk_token', tokenizer.unkId],
    ['pad_token', gpt2 ? undefined : tokenizer.padId], ['cls_token', tokenizer.clsId], ['sep_token', tokenizer.sepId], ['mask_token', tokenizer.maskId],
  ];
  for (const [k, id] of roles) {
    const n = gpt2 && id === 50256 ? '<|endoftext|>' : name(id);
    if (n !== null) out[k] = n;
  }
  return out;
}
