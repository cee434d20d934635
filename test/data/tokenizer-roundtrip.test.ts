/**
 * Tokenizer round trips (issue 19), as fast-check properties over texts built from the pieces that
 * break tokenizers: emoji, ZWJ sequences, flags, combining marks, CJK, tabs, CRLF, leading spaces.
 * For every tokenizer: `decode` is a pure function of its ids (gpt2's library decoder kept bytes
 * between calls, so a second decode printed U+FFFD), `decode([])` is '', and a StreamDecoder fed one
 * id at a time prints exactly `decode(ids)`, never a U+FFFD for a character split across tokens.
 * Lossless tokenizers (char, gpt2) give `decode(encode(s)) === s`; an hf BPE model without an unk
 * token refuses a character it would drop instead of dropping it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { CharTokenizer, Gpt2Tokenizer, HfTokenizer, StreamDecoder, WordTokenizer, type Tokenizer } from '../../src/data/index.js';
import { ValueError } from '../../src/errors.js';
import { FIXTURES } from './paths.js';

const PIECES = [
  '\u{1F600}', '\u{1F44D}\u{1F3FD}', '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}', '\u{1F1EB}\u{1F1F7}', '\u{1F3F3}\uFE0F\u200D\u{1F308}',
  'e\u0301', 'n\u0303o', '\u0915\u094D\u0937', '\u4E2D\u6587', '\u65E5\u672C\u8A9E', '\uD55C\uAD6D\uC5B4', '\t', '\r\n', '\n', ' ', '  ', ' lead',
  'plain', 'caf\u00E9', '\u00DF', '\u{10348}', 'a\u00A0b', '\u200B', '!?', '42',
];
const text = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((a) => a.join('')),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);
const RUNS = { numRuns: 150, seed: 19 };

/** Feeds `ids` one at a time; also checks that no piece ends inside a character. */
function streamed(tok: Tokenizer, ids: readonly number[]): string {
  const sd = new StreamDecoder(tok);
  let out = '';
  for (const id of ids) out += sd.push(id);
  return out + sd.flush();
}

function pureAndStreamed(tok: Tokenizer, ids: number[]): void {
  const once = tok.decode(ids);
  if (ids.length > 0) tok.decode(ids.slice(0, 1)); // may leave half a character behind in a stateful decoder
  assert.equal(tok.decode(ids), once, 'decode is a pure function of its ids');
  assert.equal(streamed(tok, ids), once, 'one id at a time prints what decode(ids) prints');
  assert.equal(tok.decode([]), '');
}

test('gpt2: decode(encode(s)) === s, decode is pure, the stream decoder holds split characters', () => {
  const tok = new Gpt2Tokenizer();
  fc.assert(fc.property(text, (s) => {
    const ids = tok.encode(s);
    assert.equal(tok.decode(ids), s);
    pureAndStreamed(tok, ids);
  }), RUNS);
  // The case found by the acceptance run: the emoji's first token alone, then the whole text.
  const ids = tok.encode('\u{1F600} hi');
  tok.decode([ids[0]]);
  assert.equal(tok.decode(ids), '\u{1F600} hi');
});

test('char: decode(encode(s)) === s over a vocabulary built from s', () => {
  fc.assert(fc.property(text, (s) => {
    const tok = CharTokenizer.fromCorpus([s.length > 0 ? s : 'x']);
    const ids = tok.encode(s);
    assert.equal(tok.decode(ids), s);
    pureAndStreamed(tok, ids);
  }), RUNS);
});

test('word: decode is pure and streams as it decodes', () => {
  fc.assert(fc.property(text, (s) => {
    const tok = WordTokenizer.fromCorpus([s, 'x']);
    pureAndStreamed(tok, tok.encode(s));
  }), RUNS);
});

test('hf (word-level with [UNK]): decode is pure, streams as it decodes, decode([]) is empty', () => {
  const tok = new HfTokenizer(JSON.parse(readFileSync(`${FIXTURES}hf-wordlevel.tokenizer.json`, 'utf8')));
  fc.assert(fc.property(text, (s) => { pureAndStreamed(tok, tok.encode(s)); }), RUNS);
});

test('hf (byte-level BPE without unk): a character the vocabulary lacks is an error, not dropped', () => {
  const tok = new HfTokenizer(JSON.parse(readFileSync(`${FIXTURES}hf-bpe.tokenizer.json`, 'utf8')));
  assert.equal(tok.decode(tok.encode('lower newest')), 'lower newest');
  assert.throws(() => tok.encode('lowx'), (e: unknown) => e instanceof ValueError && /character "x" \(U\+0078\) is not in the vocabulary and the model has no unk_token/.test(e.message));
  fc.assert(fc.property(text, (s) => {
    let ids: number[];
    try {
      ids = tok.encode(s);
    } catch (e) {
      assert.ok(e instanceof ValueError, String(e));
      return;
    }
    // What encodes at all, round-trips: nothing was left out.
    assert.equal(tok.decode(ids), s);
    pureAndStreamed(tok, ids);
  }), RUNS);
});
