/**
 * Corpus BLEU (Papineni et al. 2002) exactly as sacreBLEU 2.x computes it by default: segments
 * right-stripped, optionally lower-cased, tokenized with `13a` (or not at all), word n-grams of
 * orders 1–4 clipped by their largest count in any one reference, the closest reference length per
 * segment (the shorter one on a tie), the brevity penalty `exp(1 − r/c)` when c < r, and the `exp`
 * smoothing of mteval-v13a (the k-th order with no match gets precision 1 / (2^k · total)).
 * Scores are on sacreBLEU's 0–100 scale.
 */
import { ValueError } from '../errors.js';
import { tokenize13a } from './tokenize-13a.js';
import { pyRstrip, pySplit } from './whitespace.js';

export type BleuTokenize = '13a' | 'none';
export type BleuSmooth = 'exp' | 'none' | 'floor' | 'add-k';

export interface BleuOptions {
  /** Default '13a'. */
  tokenize?: BleuTokenize;
  /** Lower-case hypotheses and references first. Default false. */
  lowercase?: boolean;
  /** Default 'exp' (sacreBLEU's default). */
  smoothMethod?: BleuSmooth;
  /** For 'floor' (default 0.1) and 'add-k' (default 1). */
  smoothValue?: number;
  /** Default 4. */
  maxNgramOrder?: number;
  /** Average only over the orders up to the last with hypothesis n-grams (sentence-level use). Default false. */
  effectiveOrder?: boolean;
}

export interface BleuResult {
  /** 0–100. */
  score: number;
  /** Matched n-grams per order 1..N. */
  counts: number[];
  /** Hypothesis n-grams per order 1..N. */
  totals: number[];
  /** Per-order precisions in percent (after smoothing). */
  precisions: number[];
  /** Brevity penalty. */
  bp: number;
  /** Hypothesis tokens. */
  sysLen: number;
  /** Closest reference tokens, summed. */
  refLen: number;
}

/** n-gram → count for orders 1..maxOrder; keys are the tokens joined by U+0001 (not in tokens). */
function ngramCounts(tokens: string[], maxOrder: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < tokens.length; i++) {
    let key = '';
    for (let n = 1; n <= maxOrder && i + n <= tokens.length; n++) {
      key = n === 1 ? tokens[i] : `${key}\u0001${tokens[i + n - 1]}`;
      m.set(key, (m.get(key) ?? 0) + 1);
    }
  }
  return m;
}

function order(key: string): number {
  let n = 1;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) === 1) n++;
  return n;
}

/** The tokens of one segment after sacreBLEU's preprocessing. */
export function bleuTokens(segment: string, options: { tokenize?: BleuTokenize; lowercase?: boolean } = {}): string[] {
  let s = options.lowercase ? segment.toLowerCase() : segment;
  s = pyRstrip(s);
  if ((options.tokenize ?? '13a') === '13a') s = tokenize13a(s);
  return pySplit(s);
}

/**
 * BLEU from summed statistics (sacreBLEU's `compute_bleu`).
 * @param counts matched n-grams per order; @param totals hypothesis n-grams per order.
 */
export function bleuFromStats(counts: number[], totals: number[], sysLen: number, refLen: number, smoothMethod: BleuSmooth = 'exp', smoothValue?: number, effectiveOrder = false): BleuResult {
  const N = counts.length;
  const c = counts.slice(), t = totals.slice();
  let bp = 1;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0;
  const precisions = new Array<number>(N).fill(0);
  if (!c.some((x) => x > 0)) return { score: 0, counts: c, totals: t, precisions, bp, sysLen, refLen };
  const sv = smoothValue ?? (smoothMethod === 'floor' ? 0.1 : 1);
  let smoothMteval = 1, effOrder = N;
  for (let n = 0; n < N; n++) {
    if (smoothMethod === 'add-k' && n > 0) { c[n] += sv; t[n] += sv; }
    if (t[n] === 0) break;
    if (effectiveOrder) effOrder = n + 1;
    if (c[n] === 0) {
      if (smoothMethod === 'exp') { smoothMteval *= 2; precisions[n] = 100 / (smoothMteval * t[n]); }
      else if (smoothMethod === 'floor') precisions[n] = (100 * sv) / t[n];
    } else precisions[n] = (100 * c[n]) / t[n];
  }
  let logSum = 0;
  for (let n = 0; n < effOrder; n++) logSum += precisions[n] > 0 ? Math.log(precisions[n]) : -9999999999;
  return { score: bp * Math.exp(logSum / effOrder), counts: c, totals: t, precisions, bp, sysLen, refLen };
}

/**
 * Corpus BLEU of `hypotheses` against one or more reference streams.
 * @param references `references[k][i]` is the k-th reference of segment i (sacreBLEU's layout);
 *   a reference that is `undefined`/`null` is left out for that segment.
 * @throws ValueError when a reference stream's length differs from the hypotheses'.
 */
export function corpusBleu(hypotheses: readonly string[], references: ReadonlyArray<ReadonlyArray<string | null | undefined>>, options: BleuOptions = {}): BleuResult {
  const N = options.maxNgramOrder ?? 4;
  if (references.length === 0) throw new ValueError('corpusBleu: references: give at least one reference stream');
  references.forEach((r, k) => {
    if (r.length !== hypotheses.length) throw new ValueError(`corpusBleu: references[${k}] has ${r.length} segments, the hypotheses ${hypotheses.length}`);
  });
  const tok = { tokenize: options.tokenize, lowercase: options.lowercase };
  const counts = new Array<number>(N).fill(0), totals = new Array<number>(N).fill(0);
  let sysLen = 0, refLen = 0;
  for (let i = 0; i < hypotheses.length; i++) {
    const refNgrams = new Map<string, number>();
    const refLens: number[] = [];
    for (const stream of references) {
      const r = stream[i];
      if (r === null || r === undefined) continue;
      const rt = bleuTokens(r, tok);
      refLens.push(rt.length);
      for (const [g, n] of ngramCounts(rt, N)) if (n > (refNgrams.get(g) ?? 0)) refNgrams.set(g, n);
    }
    const ht = bleuTokens(hypotheses[i], tok);
    const hl = ht.length;
    let best = -1, closest = -1;
    for (const rl of refLens) {
      const d = Math.abs(hl - rl);
      if (best < 0 || d < best || (d === best && rl < closest)) { best = d; closest = rl; }
    }
    sysLen += hl;
    refLen += closest;
    for (const [g, n] of ngramCounts(ht, N)) {
      const o = order(g) - 1;
      totals[o] += n;
      const rn = refNgrams.get(g);
      if (rn !== undefined) counts[o] += Math.min(n, rn);
    }
  }
  return bleuFromStats(counts, totals, sysLen, refLen, options.smoothMethod ?? 'exp', options.smoothValue, options.effectiveOrder);
}
