import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  CharTokenizer, Gpt2Tokenizer, HfTokenizer, WordTokenizer, loadTokenizer, readTokenizerFile, saveTokenizer,
  SEGMENT_CHUNK_LENGTH, segmentChunks, splitWords, tokenizerFromConfig,
} from '../../src/data/tokenizers/index.js';
import { ConfigError, FileFormatError, IndexError, ValueError } from '../../src/errors.js';
import { Vocab } from '../../src/data/tokenizers/vocab.js';
import { DATA, FIXTURES } from './paths.js';

const shakespeare = readFileSync(`${DATA}tinyshakespeare/input.txt`, 'utf8');

test('char: Tiny Shakespeare vocabulary is the 65 characters its README lists, in code-point order', () => {
  const tok = CharTokenizer.fromCorpus(shakespeare);
  // Character set from examples/data/tinyshakespeare/README.md: newline plus these 64.
  const listed = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  assert.equal(tok.vocabSize, 65);
  for (let i = 0; i < listed.length; i++) assert.equal(tok.tokenToId(listed[i]), i);
  assert.equal(tok.padId, undefined);
  assert.equal(tok.unkId, undefined);
});

test('char: encode → decode is exact on the whole corpus and after toJSON/fromJSON', () => {
  const tok = CharTokenizer.fromCorpus(shakespeare);
  const ids = tok.encode(shakespeare);
  assert.equal(ids.length, 1115394); // README: 1,115,394 characters
  assert.equal(tok.decode(ids), shakespeare);
  const again = loadTokenizer(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.deepEqual(again.encode('First Citizen:\n'), tok.encode('First Citizen:\n'));
  assert.equal(again.decode(ids.slice(0, 500)), shakespeare.slice(0, 500));
});

test('char: arbitrary Unicode (astral characters included) round-trips exactly', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', minLength: 1 }), (s) => {
    const tok = CharTokenizer.fromCorpus(s);
    const { ids, offsets } = tok.encodeWithOffsets(s);
    assert.equal(tok.decode(ids), s);
    assert.equal(ids.length, [...s].length);
    assert.equal(offsets.map(([a, b]) => s.slice(a, b)).join(''), s);
  }), { numRuns: 200 });
});

test('char: special tokens come first; unknown characters → [UNK], or an error naming the character', () => {
  const tok = CharTokenizer.fromCorpus('abca', { specialTokens: true });
  assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 1, 2, 3, 4]);
  assert.equal(tok.vocabSize, 8);
  assert.deepEqual(tok.encode('abz'), [5, 6, 1]);
  assert.equal(tok.decode([2, 5, 6, 3, 0], { skipSpecialTokens: true }), 'ab');
  assert.equal(tok.decode([2, 5]), '[CLS]a');
  const plain = CharTokenizer.fromCorpus('abc');
  assert.throws(() => plain.encode('abz'), (e: Error) => e instanceof ValueError && /"z".*index 2/.test(e.message));
  assert.throws(() => plain.decode([3]), IndexError);
  assert.throws(() => CharTokenizer.fromCorpus(''), ValueError);
});

test('gpt2: known ids of the GPT-2 vocabulary', () => {
  const tok = new Gpt2Tokenizer();
  assert.equal(tok.vocabSize, 50257);
  assert.deepEqual(tok.encode('Hello world'), [15496, 995]);
  assert.deepEqual(tok.encode('\n'), [198]);
  assert.equal(tok.tokenToId(' the'), 262);
  assert.equal(tok.eosId, 50256);
  assert.equal(tok.decode([50256]), '<|endoftext|>');
});

test('gpt2: encode → decode is exact on arbitrary Unicode text', () => {
  const tok = new Gpt2Tokenizer();
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
    assert.equal(tok.decode(tok.encode(s)), s);
  }), { numRuns: 300 });
  for (const s of ['naïve café — 東京 🙂👍🏽 \u0000\t\r\n  x', shakespeare.slice(0, 5000), 'text with <|endoftext|> inside']) {
    assert.equal(tok.decode(tok.encode(s)), s);
  }
  // By default the special text is plain text; with allowSpecial it is the single id 50256.
  assert.ok(!tok.encode('a<|endoftext|>').includes(50256));
  const sp = loadTokenizer(new Gpt2Tokenizer({ allowSpecial: true }).toJSON());
  assert.deepEqual(sp.encode('<|endoftext|>'), [50256]);
  assert.throws(() => tok.decode([50257]), IndexError);
});

const hfWord = JSON.parse(readFileSync(`${FIXTURES}hf-wordlevel.tokenizer.json`, 'utf8'));
const hfBpe = JSON.parse(readFileSync(`${FIXTURES}hf-bpe.tokenizer.json`, 'utf8'));

test('hf: WordLevel tokenizer.json (lower-case normalizer, whitespace pre-tokenizer)', () => {
  const tok = new HfTokenizer(hfWord);
  assert.equal(tok.vocabSize, 11);
  // Ids read off the fixture's vocab by hand: the=4 cat=5 sat=6 on=7 mat=8 .=9, unknown → [UNK]=1.
  assert.deepEqual(tok.encode('The cat sat on the mat.'), [4, 5, 6, 7, 4, 8, 9]);
  assert.deepEqual(tok.encode('the dog'), [4, 1]);
  assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 1, 2, 3, undefined]);
  assert.equal(tok.decode([2, 5, 6, 3], { skipSpecialTokens: true }), 'cat sat');
  const again = loadTokenizer(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.deepEqual(again.encode('A cat.'), [10, 5, 9]);
});

test('hf: byte-level BPE tokenizer.json applies the merges in rank order and decodes exactly', () => {
  const tok = new HfTokenizer(hfBpe);
  // Worked by hand from the 7 merges: lower → low+er; Ġlowest → Ġlow+est; Ġnewer → Ġn e w er.
  assert.deepEqual(tok.encode('lower lowest newer'), [13, 14, 15, 16, 18, 6, 5, 14]);
  assert.equal(tok.decode(tok.encode('lower lowest newer')), 'lower lowest newer');
  assert.deepEqual([tok.unkId, tok.bosId, tok.eosId], [0, 1, 2]);
  assert.throws(() => new HfTokenizer({ version: '1.0' }), FileFormatError);
});

test('word: a vocabulary without [PAD] or [UNK] is refused naming the role, with its article ("an unk token")', () => {
  assert.throws(() => new WordTokenizer(new Vocab(['[UNK]', 'a'], { unk: '[UNK]' })), /^ValueError: word tokenizer: the vocabulary needs a pad token$/);
  assert.throws(() => new WordTokenizer(new Vocab(['[PAD]', 'a'], { pad: '[PAD]' })), /^ValueError: word tokenizer: the vocabulary needs an unk token$/);
});

test('word: Intl.Segmenter pieces with spans on the original text', () => {
  const text = "Don't panic, Arthur: it's 3.14 km!";
  const pieces = splitWords(text);
  assert.deepEqual(pieces.map((p) => p.piece), ["Don't", 'panic', ',', 'Arthur', ':', "it's", '3.14', 'km', '!']);
  for (const p of pieces) assert.equal(text.slice(p.start, p.end), p.piece);
});

// Reference: the whole text through one Intl.Segmenter pass (what splitWords did before chunking).
function splitWordsWhole(text: string): Array<{ piece: string; start: number; end: number }> {
  const out: Array<{ piece: string; start: number; end: number }> = [];
  for (const s of new Intl.Segmenter('en', { granularity: 'word' }).segment(text)) {
    if (!s.isWordLike && /^\s+$/u.test(s.segment)) continue;
    out.push({ piece: s.segment, start: s.index, end: s.index + s.segment.length });
  }
  return out;
}

test('word: cutting long texts into chunks gives the same pieces and spans as one segmenter pass', () => {
  const tricky = [
    "Don't panic, Arthur: it's 3.14 km! (really) [yes] {no} ? ok",
    'e\u0301t\u00e9 \u0301x caf\u00e9 \u200dy \uFF9Ea 1,000.5 a_b a.b a:b',
    '\u05d0"\u05d1 \u05d0 "\u05d1 \u{1F468}\u200D\u{1F469}\u200D\u{1F467} \u{1F1EB}\u{1F1F7}\u{1F1E9}\u{1F1EA} \u{1F44D}\u{1F3FD} x',
    '我们的世界很大。东京タワーに行きました、とても高い！ 好吗？（是的）「引用」ภาษาไทย ง่าย มาก',
    '  leading and trailing \t\n\r\n spaces\u3000full width\u00a0nbsp  ',
  ];
  for (const text of tricky) {
    for (const k of [2, 3, 5, 8, 13]) assert.deepEqual(splitWords(text, k), splitWordsWhole(text), `chunk length ${k}: ${text}`);
  }
  const alphabet = ['a', 'Z', '3', ' ', '  ', '\n', '.', ',', "'", ':', '!', '?', '(', ')', '"', '_', '-', '\u0301', '\u200d',
    '\u05d0', '我', '。', 'タ', 'ภา', '\u{1F1EB}', '\u{1F468}', '\u{1F3FD}', '\u3000', '\uFF9E'];
  fc.assert(fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 60 }), fc.integer({ min: 2, max: 12 }), (parts, k) => {
    const text = parts.join('');
    assert.deepEqual(splitWords(text, k), splitWordsWhole(text));
  }), { numRuns: 500, seed: 7 });
  // Chunks cover the text in order; a text with white space every 6 units is cut near the limit.
  const long = 'word5 '.repeat(1000);
  const chunks = segmentChunks(long, 100);
  assert.deepEqual(chunks[0]![0], 0);
  assert.deepEqual(chunks.at(-1)![1], long.length);
  for (let i = 1; i < chunks.length; i++) assert.equal(chunks[i]![0], chunks[i - 1]![1]);
  for (const [a, b] of chunks.slice(0, -1)) assert.ok(b - a <= 100 && b - a > 50, `chunk [${a}, ${b})`);
  assert.ok(chunks.length > 60);
});

test('word: a 100k-word text reaches the segmenter in bounded pieces, each character once (linear work)', () => {
  // V8 spends time proportional to the whole string at each segment step (the trial: one 100k-word
  // JSONL line never finished), so the work is bounded by the longest string segmented at once.
  const text = Array.from({ length: 100_000 }, (_, i) => `w${i % 1000}${i % 7 === 0 ? '.' : ''}`).join(' ');
  const proto = Intl.Segmenter.prototype;
  const original = proto.segment;
  const lengths: number[] = [];
  proto.segment = function (this: Intl.Segmenter, input: string) {
    lengths.push(input.length);
    if (input.length > 4 * SEGMENT_CHUNK_LENGTH) throw new Error(`segmenter given ${input.length} code units at once`);
    return original.call(this, input);
  };
  let pieces;
  try { pieces = splitWords(text); } finally { proto.segment = original; }
  assert.equal(lengths.reduce((a, b) => a + b, 0), text.length);
  assert.ok(Math.max(...lengths) <= SEGMENT_CHUNK_LENGTH);
  assert.equal(pieces.length, 100_000 + Math.ceil(100_000 / 7));
  assert.deepEqual(pieces.slice(0, 3).map((p) => p.piece), ['w0', '.', 'w1']);
  assert.deepEqual(pieces.at(-1), { piece: 'w999', start: text.length - 4, end: text.length });
});

test('word: vocabulary by frequency with minFrequency and maxVocabSize; [PAD] [UNK] [CLS] [SEP] [MASK] = 0..4', () => {
  const corpus = ['the cat sat.', 'The dog sat!', 'the end'];
  const tok = WordTokenizer.fromCorpus(corpus);
  // Counts: the 3, sat 2, then 1 each: '!' '.' cat dog end (code-unit order).
  assert.deepEqual(tok.vocab.tokens, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'sat', '!', '.', 'cat', 'dog', 'end']);
  assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId, tok.bosId, tok.eosId], [0, 1, 2, 3, 4, 2, 3]);
  assert.deepEqual(WordTokenizer.fromCorpus(corpus, { minFrequency: 2 }).vocab.tokens.slice(5), ['the', 'sat']);
  assert.deepEqual(WordTokenizer.fromCorpus(corpus, { maxVocabSize: 6 }).vocab.tokens.slice(5), ['the']);
  assert.deepEqual(tok.encode('THE bird sat'), [5, 1, 6]);
  const { ids, offsets } = tok.encodeWithOffsets('  Cat,  dog ');
  assert.deepEqual(ids, [9, 1, 10]);
  assert.deepEqual(offsets, [[2, 5], [5, 6], [8, 11]]);
  assert.equal(tok.decode([2, 5, 9, 3, 0], { skipSpecialTokens: true }), 'the cat');
  const again = loadTokenizer(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.deepEqual(again.encode('the dog sat!'), tok.encode('the dog sat!'));
  assert.throws(() => WordTokenizer.fromCorpus(corpus, { minFrequency: 0 }), ValueError);
});

test('tokenizerFromConfig, saveTokenizer / readTokenizerFile, and loader errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-tok-'));
  try {
    const hf = tokenizerFromConfig({ type: 'hf', path: `${FIXTURES}hf-wordlevel.tokenizer.json` });
    assert.equal(hf.kind, 'hf');
    const word = tokenizerFromConfig({ type: 'word', minFrequency: 1 }, () => ['a b a']);
    saveTokenizer(word, join(dir, 'tokenizer.json'));
    assert.deepEqual(readTokenizerFile(join(dir, 'tokenizer.json')).encode('b a c'), word.encode('b a c'));
    assert.equal(tokenizerFromConfig({ type: 'gpt2' }).vocabSize, 50257);
    assert.equal(tokenizerFromConfig({ type: 'char' }, ['xyz']).vocabSize, 3);
    assert.throws(() => tokenizerFromConfig({ type: 'char' }), ValueError);
    assert.throws(() => tokenizerFromConfig({ type: 'sentencepiece' } as never), (e: Error) => e instanceof ConfigError && /tokenizer\.type/.test(e.message));
    assert.throws(() => tokenizerFromConfig({ type: 'hf' }), (e: Error) => e instanceof ConfigError && /tokenizer\.path/.test(e.message));
    assert.throws(() => tokenizerFromConfig({ type: 'hf', path: join(dir, 'missing.json') }), (e: Error) => e instanceof FileFormatError && /missing\.json: no such file$/.test(e.message));
    assert.throws(() => loadTokenizer({ kind: 'nope' }), FileFormatError);
    assert.throws(() => loadTokenizer({ kind: 'char', tokens: 'abc' }), (e: Error) => e instanceof FileFormatError && /"tokens"/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
