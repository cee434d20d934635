/**
 * SQuAD v1.1 exact match and F1 on hand-checked cases (the official evaluate-v1.1.py definition:
 * lower-case, drop string.punctuation, remove a/an/the, collapse whitespace; F1 over token counts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactMatchScore, f1Score, normalizeAnswer, squadMetrics } from '../../src/metrics/index.js';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test('normalisation: case, articles as whole words, ASCII punctuation, whitespace', () => {
  assert.equal(normalizeAnswer('The  Eiffel Tower!'), 'eiffel tower');
  assert.equal(normalizeAnswer('an apple, a pear'), 'apple pear');
  // Articles only as words: "theatre", "anatomy", "Ana" stay.
  assert.equal(normalizeAnswer('The theatre of anatomy, Ana'), 'theatre of anatomy ana');
  // Punctuation goes first, so "the-end" becomes "theend" (one word) and "(the)" loses its article.
  assert.equal(normalizeAnswer('the-end (the) A.D.'), 'theend ad');
  // Hyphen removal can join words: "state-of-the-art" -> "stateoftheart".
  assert.equal(normalizeAnswer('state-of-the-art'), 'stateoftheart');
});

test('normalisation: unicode — accents kept, non-ASCII punctuation kept, Unicode word boundaries', () => {
  assert.equal(normalizeAnswer('Café «Le Monde»'), 'café «le monde»');
  // "éthe": é is a letter, so "the" is not a word here (Python's \b is Unicode-aware; ASCII \b would cut it).
  assert.equal(normalizeAnswer('éthe thé'), 'éthe thé');
  assert.equal(normalizeAnswer('Ünter the Straße'), 'ünter straße');
  // An em dash is not in string.punctuation: it stays a token of its own.
  assert.equal(normalizeAnswer('1914 — 1918'), '1914 — 1918');
  // No-break space separates words, as Python's split() does.
  assert.equal(normalizeAnswer('New\u00a0York'), 'new york');
});

test('exact match', () => {
  assert.equal(exactMatchScore('the Eiffel Tower.', 'Eiffel tower'), 1);
  assert.equal(exactMatchScore('Eiffel', 'Eiffel Tower'), 0);
  assert.equal(exactMatchScore('', 'the'), 1); // both normalise to ''
});

test('F1 counts repeated tokens (multiset), not sets', () => {
  // pred [the the the] -> [] after articles; use a non-article word instead.
  // pred "paris paris paris" vs ref "paris": common 1, P = 1/3, R = 1 -> F1 = 0.5 (a set version would give 1).
  close(f1Score('Paris Paris Paris', 'Paris'), 0.5, 'repeated pred');
  // pred "new york new" vs ref "new york new york": common {new:2, york:1} = 3, P = 3/3, R = 3/4 -> 6/7.
  close(f1Score('new york new', 'New York, New York'), 6 / 7, 'repeated both');
  // pred "tower in paris" vs ref "eiffel tower": overlap 1, P = 1/3, R = 1/2 -> 0.4.
  close(f1Score('tower in Paris', 'the Eiffel Tower'), 0.4, 'partial');
  assert.equal(f1Score('London', 'Paris'), 0);
  // v1.1: no shared token scores 0, also when both are empty after normalisation.
  assert.equal(f1Score('the', 'an'), 0);
  assert.equal(f1Score('', 'Paris'), 0);
});

test('corpus EM/F1 in percent, best reference per question', () => {
  const m = squadMetrics(['Denver Broncos', 'Paris Paris', 'x'], [['Denver Broncos', 'the Broncos'], ['Paris', 'France'], []]);
  close(m.exactMatch, 100 / 3, 'em');
  // F1s: 1, max(2·(1/2·1)/(3/2) = 2/3, 0) = 2/3, 0 -> mean 5/9.
  close(m.f1, (100 * (1 + 2 / 3)) / 3, 'f1');
});
