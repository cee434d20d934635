/**
 * chrF / chrF++ against sacreBLEU's published values (test/test_chrf.py: beta 3, with and without
 * epsilon smoothing, keep-whitespace; README: chrF2 = 59.73) and hand-computed chrF++ cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chrfWords, corpusChrf } from '../../src/metrics/index.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) < tol, `${what}: ${a} vs ${b}`);

test('sacreBLEU README: chrF2 = 59.73 on the two-reference example', () => {
  const refs = [
    ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
    ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
  ];
  const r = corpusChrf(['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'], refs);
  assert.equal(r.name, 'chrF2');
  assert.equal(r.score.toFixed(2), '59.73');
});

const epsCases: Array<[string[], string[], number]> = [
  [['abcdefg'], ['hijklmnop'], 0.0],
  [['a'], ['b'], 0.0],
  [[''], ['b'], 0.0],
  [[''], ['ref'], 0.0],
  [[''], ['reference'], 0.0],
  [['aa'], ['ab'], 8.3333],
  [['a', 'b'], ['a', 'c'], 8.3333],
  [['a'], ['a'], 16.6667],
  [['a b c'], ['a b c'], 50.0],
  [['a b c'], ['abc'], 50.0],
  [[' risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .'],
    ['risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .'], 63.361730],
  [[' Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. '],
    ['Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.'], 64.1302698],
  [['Niemand hat die Absicht, eine Mauer zu errichten'], ['Niemand hat die Absicht, eine Mauer zu errichten'], 100.0],
];

test('sacreBLEU test_chrf (beta 3, epsilon smoothing), within 1e-4', () => {
  for (const [h, r, want] of epsCases) close(corpusChrf(h, [r], { beta: 3, epsSmoothing: true }).score, want, 1e-4, JSON.stringify(h));
});

test('sacreBLEU test_chrf_eff_order (beta 3, effective order), within 1e-4', () => {
  const cases: Array<[string[], string[], number]> = [
    [['a'], ['a'], 100.0], [[''], ['reference'], 0.0], [['a b c'], ['a b c'], 100.0], [['a b c'], ['abc'], 100.0],
    [[''], ['c'], 0.0], [['a', 'b'], ['a', 'c'], 50.0], [['aa'], ['ab'], 25.0],
  ];
  for (const [h, r, want] of cases) close(corpusChrf(h, [r], { beta: 3 }).score, want, 1e-4, JSON.stringify(h));
});

test('sacreBLEU test_chrf_keep_whitespace and test_chrf_sentence_level, within 1e-4', () => {
  close(corpusChrf(['Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.'],
    [['Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.']], { beta: 3, whitespace: true }).score, 67.3481606, 1e-4, 'ws 1');
  close(corpusChrf(['risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .'],
    [['risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .']], { beta: 3, whitespace: true }).score, 65.2414427, 1e-4, 'ws 2');
  // sentence_chrf(eps_smoothing=True) with sacreBLEU's default beta 2; unicode (Czech) text.
  close(corpusChrf(['Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.'],
    [['Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.']], { epsSmoothing: true }).score, 39.14078509, 1e-4, 'sent 1');
  close(corpusChrf(['Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.'],
    [['A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.']], { epsSmoothing: true }).score, 31.22557079, 1e-4, 'sent 2');
  close(corpusChrf(['Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.'],
    [['Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.']], { epsSmoothing: true }).score, 57.15704367, 1e-4, 'sent 3');
});

test('chrF++ by hand: "ab c" vs "ab d" (33.33; chrF 38.89) and "ab." vs "ab" (25/29)', () => {
  // chars "abc"/"abd": orders 1-3 have P = R = 2/3, 1/2, 0; words [ab c]/[ab d]: 1/2, 0. Five effective orders.
  close(corpusChrf(['ab c'], [['ab d']], { wordOrder: 2 }).score, 100 / 3, 1e-12, 'chrF++');
  close(corpusChrf(['ab c'], [['ab d']]).score, (100 * 7) / 18, 1e-12, 'chrF');
  // "ab." vs "ab": char1 P 2/3 R 1, char2 P 1/2 R 1, word1 ([ab .] vs [ab]) P 1/2 R 1; F2 = 5·(5/9)/(4·5/9 + 1).
  const r = corpusChrf(['ab.'], [['ab']], { wordOrder: 2 });
  assert.equal(r.name, 'chrF2++');
  close(r.score, (100 * 25) / 29, 1e-12, 'punct');
});

test('chrF++ word split: one punctuation mark off the end, else off the start; code points', () => {
  assert.deepEqual(chrfWords('"Hello, world!" (x) é.'), ['"Hello', ',', 'world!', '"', '(x', ')', 'é', '.']);
  // An astral character is one character, as in Python.
  close(corpusChrf(['𝒳a'], [['𝒳b']], { beta: 3, epsSmoothing: true }).score, corpusChrf(['xa'], [['xb']], { beta: 3, epsSmoothing: true }).score, 1e-12, 'astral');
});

test('the best reference per segment is the one with the highest F-score', () => {
  const one = corpusChrf(['the cat'], [['a dog']]).score;
  const best = corpusChrf(['the cat'], [['a dog'], ['the cat']]).score;
  assert.ok(one < 50);
  assert.equal(best, 100);
});
