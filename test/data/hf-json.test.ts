/**
 * Tokenizers written as Hugging Face tokenizer.json (data/tokenizers/hf-json.ts), loaded back by
 * @huggingface/tokenizers: the same ids and text as the tokenizer they came from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tokenizer as HfLib } from '@huggingface/tokenizers';
import { byteLevelAlphabet, CharTokenizer, hfTokenizerConfig, hfTokenizerJson, WordTokenizer } from '../../src/data/index.js';

test('byte-level alphabet: GPT-2 bytes_to_unicode (space → Ġ U+0120, newline → Ċ U+010A, "!" itself, 256 distinct)', () => {
  const a = byteLevelAlphabet();
  assert.equal(a[32], 'Ġ');
  assert.equal(a[10], 'Ċ');
  assert.equal(a[33], '!');
  assert.equal(a[0xad], 'Ń'); // the soft hyphen is not printable: 0x143
  assert.equal(new Set(a).size, 256);
});

test('char tokenizer → tokenizer.json: same ids (special tokens, unk), exact decode', () => {
  const c = CharTokenizer.fromCorpus('hello world! 🤖\n', { specialTokens: true });
  const json = hfTokenizerJson(c);
  const lib = new HfLib(json, hfTokenizerConfig(c, 64));
  for (const s of ['hello world', 'lol🤖 \n', 'hexq']) {
    assert.deepEqual(lib.encode(s, { add_special_tokens: false }).ids, c.encode(s), s);
  }
  const ids = c.encode('hello world! 🤖\n');
  assert.equal(lib.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }), 'hello world! 🤖\n');
  assert.equal(hfTokenizerConfig(c, 64).unk_token, '[UNK]');
});

test('word tokenizer: one clear error (no tokenizer.json form)', () => {
  const w = WordTokenizer.fromCorpus(['a b c']);
  assert.throws(() => hfTokenizerJson(w), /tokenizer kind 'word' has no Hugging Face tokenizer.json form/);
});
