/**
 * Corpus BLEU against sacreBLEU's published values (its test/test_bleu.py and README, sacreBLEU 2.x)
 * and against NLTK's corpus_bleu on pre-tokenised text (test/metrics/fixtures/nltk-bleu.py, run
 * live when /usr/bin/python3 has nltk; its output is also committed as nltk-bleu-expected.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { bleuFromStats, corpusBleu, tokenize13a } from '../../src/metrics/index.js';
import { FIXTURES } from './paths.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) < tol, `${what}: ${a} vs ${b}`);

// sacreBLEU's README example (two reference streams).
const refs = [
  ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
  ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
];
const hyps = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];

test('sacreBLEU test_corpus_bleu: 48.530827 (13a, exp), 49.1919566 (none), empty hypotheses 0', () => {
  close(corpusBleu(hyps, refs).score, 48.530827, 1e-6, 'default');
  close(corpusBleu(hyps, refs, { tokenize: '13a' }).score, 48.530827, 1e-6, '13a');
  close(corpusBleu(hyps, refs, { tokenize: 'none' }).score, 49.1919566, 1e-6, 'none');
  close(corpusBleu(hyps, refs, { smoothMethod: 'none' }).score, 48.530827, 1e-6, 'smooth none');
  assert.equal(corpusBleu(['', '', ''], refs).score, 0);
});

test("sacreBLEU README: 'BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)'", () => {
  const r = corpusBleu(hyps, refs);
  assert.deepEqual(r.precisions.map((p) => p.toFixed(1)), ['82.4', '50.0', '45.5', '37.5']);
  assert.equal(r.bp.toFixed(3), '0.943');
  assert.equal(r.sysLen, 17);
  assert.equal(r.refLen, 18);
});

test('sacreBLEU test_raw_bleu and test_effective_order (sacreBLEU 2.x: tokenize none, floor 0.01, effective order)', () => {
  const raw = (h: string[], r: string[]) => corpusBleu(h, [r], { tokenize: 'none', smoothMethod: 'floor', smoothValue: 0.01, effectiveOrder: true }).score / 100;
  // No match at all scores 0 (sacreBLEU >= 2.0, its issue #141).
  assert.equal(raw(['this is a test', 'another test'], ['ref1', 'ref2']), 0);
  close(raw(['this is a test'], ['this is a test']), 1.0, 1e-8, 'raw 2');
  close(raw(['this is a fest'], ['this is a test']), 0.223606797749979, 1e-8, 'raw 3');
  close(raw(['test'], ['a test']), 0.3678794411714425, 1e-8, 'eff 1');
  close(raw(['a test'], ['a test']), 1.0, 1e-8, 'eff 2');
  close(raw(['a little test'], ['a test']), 0.03218297948685433, 1e-8, 'eff 3');
});

test('sacreBLEU test_statistics and test_offset (tokenize none, floor smoothing 0.1 and 0)', () => {
  const h = ['am I am a character sequence'], r = [['I am a symbol string sequence a a']];
  const s = corpusBleu(h, r, { tokenize: 'none', smoothMethod: 'floor', smoothValue: 0.1, effectiveOrder: true });
  assert.deepEqual(s.counts, [4, 2, 1, 0]);
  assert.deepEqual(s.totals, [6, 5, 4, 3]);
  close(s.score / 100, 0.1555722182, 1e-8, 'floor 0.1');
  assert.equal(corpusBleu(h, r, { tokenize: 'none', smoothMethod: 'floor', smoothValue: 0, effectiveOrder: true }).score, 0);
});

test('sacreBLEU test_scoring and test_degenerate_statistics (from sufficient statistics)', () => {
  close(bleuFromStats([9, 7, 5, 3], [10, 8, 6, 4], 11, 11, 'none').score / 100, 0.8375922397, 1e-8, 'scoring');
  assert.equal(bleuFromStats([0, 0, 0, 0], [4, 4, 2, 1], 0, 1, 'floor', 0).score, 0);
  assert.equal(bleuFromStats([0, 0, 0, 0], [10, 11, 12, 0], 14, 10, 'floor', 0).score, 0);
  assert.equal(bleuFromStats([0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 'floor', 0).score, 0);
  assert.equal(bleuFromStats([6, 5, 4, 0], [6, 5, 4, 3], 6, 6, 'floor', 0).score, 0);
  assert.equal(bleuFromStats([0, 0, 0, 0], [0, 0, 0, 0], 1, 5, 'floor', 0.01).score, 0);
});

test('exp smoothing: the k-th order without a match gets 1/(2^k · total)', () => {
  // counts 3,1,0,0 of totals 4,3,2,1, no brevity penalty: precisions 75, 33.3, 100/(2·2), 100/(4·1).
  const r = bleuFromStats([3, 1, 0, 0], [4, 3, 2, 1], 4, 4, 'exp');
  close(r.score, Math.exp((Math.log(75) + Math.log(100 / 3) + Math.log(25) + Math.log(25)) / 4), 1e-12, 'exp');
});

test('13a tokenisation: punctuation split, periods and commas kept between digits, dash after a digit, entities', () => {
  // The apostrophe and a dash between letters are not split (sacreBLEU's README counts 17 hypothesis tokens).
  assert.equal(tokenize13a("It wasn't well-known."), "It wasn't well-known .");
  assert.equal(tokenize13a('Pay $3,000.50 (net) by 2020-05-01, ok?'), 'Pay $ 3,000.50 ( net ) by 2020 - 05 - 01 , ok ?');
  assert.equal(tokenize13a('a &amp; b &lt;c&gt; &quot;d&quot; <skipped>e'), 'a & b < c > " d " e');
  assert.equal(tokenize13a('  spaced\tout  '), 'spaced out');
});

test('lowercase and the number of reference streams are checked', () => {
  close(corpusBleu(['THE CAT SAT ON THE MAT'], [['the cat sat on the mat']], { lowercase: true }).score, 100, 1e-9, 'lowercase');
  assert.equal(corpusBleu(['THE CAT SAT ON THE MAT'], [['the cat sat on the mat']]).score, 0);
  assert.throws(() => corpusBleu(['a', 'b'], [['a']]), /references\[0\] has 1 segments, the hypotheses 2/);
});

const cases = JSON.parse(readFileSync(`${FIXTURES}nltk-bleu-cases.json`, 'utf8')) as Array<{ name: string; hypotheses: string[]; references: string[][] }>;

/** Our BLEU of a case in NLTK's setting: pre-tokenised, no smoothing, 0–1 scale. */
function ours(c: (typeof cases)[number]): number {
  const nRefs = Math.max(...c.references.map((r) => r.length));
  const streams = Array.from({ length: nRefs }, (_, k) => c.references.map((r) => r[k]));
  return corpusBleu(c.hypotheses, streams, { tokenize: 'none', smoothMethod: 'none' }).score / 100;
}

test('NLTK corpus_bleu on pre-tokenised text (committed output of fixtures/nltk-bleu.py), within 1e-12', () => {
  const expected = JSON.parse(readFileSync(`${FIXTURES}nltk-bleu-expected.json`, 'utf8')) as Record<string, number>;
  for (const c of cases) close(ours(c), expected[c.name], 1e-12, c.name);
});

test('NLTK corpus_bleu run live (/usr/bin/python3 with python3-nltk), within 1e-12', (t) => {
  let out: string;
  try {
    out = execFileSync('/usr/bin/python3', [`${FIXTURES}nltk-bleu.py`, `${FIXTURES}nltk-bleu-cases.json`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    t.skip(`python3-nltk not available: ${(e as Error).message.split('\n')[0]}`);
    return;
  }
  const live = JSON.parse(out) as Record<string, number>;
  for (const c of cases) close(ours(c), live[c.name], 1e-12, c.name);
});
