/**
 * Exact match and token F1 of extractive question answering with the normalisation of the official
 * SQuAD v1.1 evaluation (Rajpurkar et al. 2016): lower-case, drop ASCII punctuation
 * (Python's `string.punctuation`), replace the words a/an/the by a space, collapse whitespace. F1
 * counts shared tokens with multiplicity (a multiset intersection, not sets); an answer with no
 * shared token — including an empty one — scores 0. Over several references the best is taken.
 * Word boundaries for the articles follow Python's Unicode `\b` (letters, digits, `_`), not ASCII's.
 */
import { pySplit } from './whitespace.js';

const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/** SQuAD v1.1 answer normalisation. */
export function normalizeAnswer(s: string): string {
  return pySplit(s.toLowerCase().replace(PUNCT, '').replace(ARTICLES, ' ')).join(' ');
}

/** 1 when the normalised texts are equal, else 0. */
export function exactMatchScore(prediction: string, reference: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(reference) ? 1 : 0;
}

/** Token F1 of the normalised texts (multiset overlap). */
export function f1Score(prediction: string, reference: string): number {
  const p = pySplit(normalizeAnswer(prediction)), r = pySplit(normalizeAnswer(reference));
  const counts = new Map<string, number>();
  for (const w of r) counts.set(w, (counts.get(w) ?? 0) + 1);
  let same = 0;
  for (const w of p) {
    const c = counts.get(w) ?? 0;
    if (c > 0) { same++; counts.set(w, c - 1); }
  }
  if (same === 0) return 0;
  const precision = same / p.length, recall = same / r.length;
  return (2 * precision * recall) / (precision + recall);
}

/**
 * Mean exact match and F1 in percent over questions, each against its best reference.
 * A question with no reference answer counts 0.
 */
export function squadMetrics(predictions: readonly string[], references: ReadonlyArray<readonly string[]>): { exactMatch: number; f1: number } {
  let em = 0, f1 = 0;
  predictions.forEach((p, i) => {
    const refs = references[i] ?? [];
    if (refs.length === 0) return;
    em += Math.max(...refs.map((r) => exactMatchScore(p, r)));
    f1 += Math.max(...refs.map((r) => f1Score(p, r)));
  });
  const n = predictions.length;
  return { exactMatch: n ? (100 * em) / n : NaN, f1: n ? (100 * f1) / n : NaN };
}
