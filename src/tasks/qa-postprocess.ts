/**
 * From start/end logits of every window of an example to its answer text, as Hugging Face's
 * `postprocess_qa_predictions` does for SQuAD v1 (no null answer): in each window the `nBestSize`
 * highest start and end logits are paired, pairs outside the context, with end < start or longer
 * than `maxAnswerLength` tokens are dropped, a pair scores start + end logit, and the best pairs over
 * all windows are kept. Answers are the context's text between the character offsets of the span.
 */
import type { SquadFeature } from '../data/index.js';

export interface QaPostprocessOptions {
  /** Candidates per window for start and for end; also the number of answers returned. Default 20. */
  nBestSize?: number;
  /** Longest answer in tokens. Default 30. */
  maxAnswerLength?: number;
}

/** One candidate answer. */
export interface QaAnswer {
  text: string;
  /** start logit + end logit; -Infinity when no valid span exists. */
  score: number;
  /** Character offsets in the context (UTF-16 code units): text = context.slice(start, end). */
  start: number;
  end: number;
}

/** Indices of the k largest values of x[0..n) (ties: lower index first), largest first. */
function topK(x: ArrayLike<number>, n: number, k: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => x[b] - x[a] || a - b);
  return idx.slice(0, k);
}

/**
 * The best answers of one example, best first (at most `nBestSize`; one empty answer with score
 * -Infinity when no window has a valid span).
 * @param windows each window's feature with its start and end logits ([L] or longer, padding ignored).
 */
export function bestAnswers(
  context: string,
  windows: ReadonlyArray<{ feature: SquadFeature; startLogits: ArrayLike<number>; endLogits: ArrayLike<number> }>,
  options: QaPostprocessOptions = {},
): QaAnswer[] {
  const nBest = options.nBestSize ?? 20, maxLen = options.maxAnswerLength ?? 30;
  const cands: QaAnswer[] = [];
  for (const { feature: f, startLogits, endLogits } of windows) {
    const L = f.inputIds.length;
    for (const s of topK(startLogits, L, nBest)) {
      const a = f.offsets[s];
      if (!a) continue;
      for (const e of topK(endLogits, L, nBest)) {
        const b = f.offsets[e];
        if (!b || e < s || e - s + 1 > maxLen) continue;
        cands.push({ text: context.slice(a[0], b[1]), score: startLogits[s] + endLogits[e], start: a[0], end: b[1] });
      }
    }
  }
  cands.sort((x, y) => y.score - x.score);
  return cands.length ? cands.slice(0, nBest) : [{ text: '', score: -Infinity, start: 0, end: 0 }];
}
