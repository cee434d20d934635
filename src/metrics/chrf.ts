/**
 * chrF (Popović 2015) and chrF++ (Popović 2017) at corpus level, as sacreBLEU 2.x computes them:
 * character n-grams of orders 1..charOrder (6) over the segment with whitespace removed, plus for
 * chrF++ word n-grams of orders 1..wordOrder (2) after splitting one punctuation mark off the start
 * or end of each word; per segment the statistics of the reference with the best F-score; the
 * statistics are summed over the corpus and the F_beta (beta 2) of the averaged precision and
 * recall over the orders that have hypothesis and reference n-grams ("effective order", sacreBLEU's
 * default) — or, with `epsSmoothing`, the mean of the per-order F-scores (chrF++.py, NLTK, Moses).
 * Characters are Unicode code points, as in Python. Scores on the 0–100 scale.
 */
import { ValueError } from '../errors.js';
import { pySplit } from './whitespace.js';

export interface ChrfOptions {
  /** Default 6. */
  charOrder?: number;
  /** 0 = chrF (default), 2 = chrF++. */
  wordOrder?: number;
  /** Recall weight. Default 2. */
  beta?: number;
  /** Default false. */
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams. Default false. */
  whitespace?: boolean;
  /** Default false (effective order). */
  epsSmoothing?: boolean;
}

export interface ChrfResult {
  /** 0–100. */
  score: number;
  /** chrF2, chrF2++, … (sacreBLEU's name for the setting). */
  name: string;
  /** Per order (chars first, then words): [hyp n-grams, ref n-grams, matches], summed. */
  stats: number[];
}

const PUNCTS = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** sacreBLEU's chrF word splitting: one punctuation mark split off the end, else off the start. */
export function chrfWords(sent: string): string[] {
  const out: string[] = [];
  for (const w of pySplit(sent)) {
    const cps = Array.from(w);
    if (cps.length === 1) out.push(w);
    else if (PUNCTS.has(cps[cps.length - 1])) out.push(cps.slice(0, -1).join(''), cps[cps.length - 1]);
    else if (PUNCTS.has(cps[0])) out.push(cps[0], cps.slice(1).join(''));
    else out.push(w);
  }
  return out;
}

function count(items: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of items) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

function* charNgrams(cps: string[], n: number): Iterable<string> {
  for (let i = 0; i + n <= cps.length; i++) {
    let s = cps[i];
    for (let j = 1; j < n; j++) s += cps[i + j];
    yield s;
  }
}

function* wordNgrams(words: string[], n: number): Iterable<string> {
  for (let i = 0; i + n <= words.length; i++) yield words.slice(i, i + n).join(' ');
}

/** Counters per order for one segment. */
function segmentNgrams(sent: string, o: Required<ChrfOptions>): Array<Map<string, number>> {
  const s = o.whitespace ? sent : pySplit(sent).join('');
  const cps = Array.from(s);
  const out: Array<Map<string, number>> = [];
  for (let n = 1; n <= o.charOrder; n++) out.push(count(charNgrams(cps, n)));
  if (o.wordOrder > 0) {
    const words = chrfWords(sent);
    for (let n = 1; n <= o.wordOrder; n++) out.push(count(wordNgrams(words, n)));
  }
  return out;
}

/** F_beta from per-order statistics (sacreBLEU's `_compute_f_score`). */
export function chrfFromStats(stats: readonly number[], beta = 2, epsSmoothing = false): number {
  const eps = 1e-16, factor = beta * beta, nOrders = stats.length / 3;
  let score = 0, effective = 0, avgP = 0, avgR = 0;
  for (let i = 0; i < nOrders; i++) {
    const h = stats[3 * i], r = stats[3 * i + 1], m = stats[3 * i + 2];
    const p = h > 0 ? m / h : eps, rc = r > 0 ? m / r : eps;
    const d = factor * p + rc;
    score += d > 0 ? ((1 + factor) * p * rc) / d : eps;
    if (h > 0 && r > 0) { avgP += p; avgR += rc; effective++; }
  }
  if (epsSmoothing) return (100 * score) / nOrders;
  if (effective === 0) return 0;
  avgP /= effective;
  avgR /= effective;
  return avgP + avgR ? (100 * (1 + factor) * avgP * avgR) / (factor * avgP + avgR) : 0;
}

/**
 * Corpus chrF / chrF++ of `hypotheses` against reference streams (`references[k][i]`, sacreBLEU's
 * layout; `null`/`undefined` leaves a reference out for that segment).
 * @throws ValueError when a reference stream's length differs from the hypotheses', or an order is bad.
 */
export function corpusChrf(hypotheses: readonly string[], references: ReadonlyArray<ReadonlyArray<string | null | undefined>>, options: ChrfOptions = {}): ChrfResult {
  const o: Required<ChrfOptions> = {
    charOrder: options.charOrder ?? 6, wordOrder: options.wordOrder ?? 0, beta: options.beta ?? 2,
    lowercase: options.lowercase ?? false, whitespace: options.whitespace ?? false, epsSmoothing: options.epsSmoothing ?? false,
  };
  if (!Number.isInteger(o.charOrder) || o.charOrder < 1) throw new ValueError(`corpusChrf: charOrder must be a positive integer, got ${o.charOrder}`);
  if (!Number.isInteger(o.wordOrder) || o.wordOrder < 0) throw new ValueError(`corpusChrf: wordOrder must be a non-negative integer, got ${o.wordOrder}`);
  if (references.length === 0) throw new ValueError('corpusChrf: references: give at least one reference stream');
  references.forEach((r, k) => {
    if (r.length !== hypotheses.length) throw new ValueError(`corpusChrf: references[${k}] has ${r.length} segments, the hypotheses ${hypotheses.length}`);
  });
  const nOrders = o.charOrder + o.wordOrder;
  const total = new Array<number>(3 * nOrders).fill(0);
  const pre = (s: string) => (o.lowercase ? s.toLowerCase() : s);
  for (let i = 0; i < hypotheses.length; i++) {
    const hyp = segmentNgrams(pre(hypotheses[i]), o);
    let best: number[] | null = null, bestF = -1;
    for (const stream of references) {
      const r = stream[i];
      if (r === null || r === undefined) continue;
      const ref = segmentNgrams(pre(r), o);
      const st: number[] = [];
      for (let k = 0; k < nOrders; k++) {
        let hc = 0, rc = 0, mc = 0;
        for (const [g, c] of hyp[k]) { hc += c; const x = ref[k].get(g); if (x !== undefined) mc += Math.min(c, x); }
        for (const c of ref[k].values()) rc += c;
        st.push(ref[k].size > 0 ? hc : 0, rc, mc);
      }
      const f = chrfFromStats(st, o.beta, o.epsSmoothing);
      if (f > bestF) { bestF = f; best = st; }
    }
    if (best) for (let k = 0; k < best.length; k++) total[k] += best[k];
  }
  const name = `chrF${o.beta}${'+'.repeat(o.wordOrder)}`;
  return { score: chrfFromStats(total, o.beta, o.epsSmoothing), name, stats: total };
}
