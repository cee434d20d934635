/**
 * Byte-level BPE learned with Hugging Face's tokenizers (npm `tokenizers`): the vocabulary size is
 * honoured, every text round-trips (no out-of-vocabulary: all 256 bytes are symbols), a smaller
 * vocabulary is a prefix of a larger one (the first merges), and the saved form reloads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadTokenizer, trainBpeTokenizer, trainBpeTokenizerJson } from '../../src/data/tokenizers/index.js';
import { DATA } from './paths.js';

const pairs = readFileSync(`${DATA}eng_fra/train.jsonl`, 'utf8').split('\n').slice(0, 600).filter(Boolean).map((l) => JSON.parse(l) as { src: string; tgt: string });
const corpus = pairs.flatMap((p) => [p.src, p.tgt]);

test('vocabSize entries: 6 special tokens, 256 bytes, the first merges; special ids 0–5', () => {
  const tok = trainBpeTokenizer(corpus, { vocabSize: 700 });
  assert.equal(tok.vocabSize, 700);
  assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.bosId, tok.eosId], [0, 1, 2, 3, 4, 5]);
  const small = trainBpeTokenizerJson(corpus, { vocabSize: 400 }) as { model: { vocab: Record<string, number>; merges: string[][] } };
  const big = trainBpeTokenizerJson(corpus, { vocabSize: 700 }) as { model: { vocab: Record<string, number>; merges: string[][] } };
  assert.equal(small.model.merges.length, 400 - 262);
  assert.deepEqual(big.model.merges.slice(0, small.model.merges.length), small.model.merges);
  for (const [t, id] of Object.entries(small.model.vocab)) assert.equal(big.model.vocab[t], id);
});

test('no text is out of vocabulary: unseen scripts and emoji round-trip; merges shorten common words', () => {
  const tok = trainBpeTokenizer(corpus, { vocabSize: 1000 });
  for (const s of ["Je n'ai pas été là-bas.", 'Ça coûte 3,50 € — 東京 😀!', 'ÆØÅ\ttab']) {
    assert.equal(tok.decode(tok.encode(s)).trim(), s);
  }
  // A frequent word is one or two tokens, far fewer than its bytes.
  assert.ok(tok.encode(' pas').length <= 2);
  const re = loadTokenizer(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.deepEqual(re.encode('Il fait beau.'), tok.encode('Il fait beau.'));
});

test('a vocabulary too small for the bytes is refused, naming the field', () => {
  assert.throws(() => trainBpeTokenizer(corpus, { vocabSize: 200 }), /data\.tokenizer\.vocabSize: must be an integer above 262/);
});

test('training prints nothing on stdout (the Rust trainer printed three blank lines into the CLI output)', () => {
  const bpe = new URL('../../src/data/tokenizers/bpe.js', import.meta.url).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(bpe)}); m.trainBpeTokenizerJson(['hello world', 'foo bar baz'], { vocabSize: 300 });`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
});
