/**
 * Choosing the next token from a row of logits: greedy (temperature 0), temperature scaling, top-k
 * filtering and nucleus (top-p) filtering (Holtzman et al. 2020), then a draw from a seeded generator.
 */
import { ValueError } from '../errors.js';
import * as T from '../tensor/index.js';

/** Options of {@link sampleToken} and of the models' `generate`. */
export interface SamplingOptions {
  /** Divides the logits: finite and > 0, or 0 = greedy (argmax). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (ties at the k-th value kept); 0 or null: no top-k filtering (Hugging Face top_k=0). */
  topK?: number | null;
  /** Keep the smallest set of most likely tokens whose probability reaches p (0 < p ≤ 1). */
  topP?: number | null;
  /** Generator of the draw (default: the global one). */
  generator?: T.Generator;
}

/**
 * Checks the sampling options. Temperature as Hugging Face's TemperatureLogitsWarper: a finite
 * number > 0 (any size: a large one flattens the distribution towards uniform), plus 0 for greedy
 * decoding (Hugging Face's do_sample=False).
 * @throws ValueError `field: problem (got value)` for an out-of-range option.
 */
export function checkSampling(o: SamplingOptions): void {
  const t = o.temperature ?? 1;
  if (typeof t !== 'number' || !(t >= 0) || !Number.isFinite(t)) throw new ValueError(`temperature: must be a finite number > 0, or 0 for greedy decoding (got ${t})`);
  if (o.topK !== undefined && o.topK !== null && (!Number.isInteger(o.topK) || o.topK < 0)) throw new ValueError(`topK: must be an integer >= 0, 0 for no top-k filtering (got ${o.topK})`);
  if (o.topP !== undefined && o.topP !== null && !(o.topP > 0 && o.topP <= 1)) throw new ValueError(`topP: must be in (0, 1] (got ${o.topP})`);
}

/** Index of the largest finite-or-not value (first on ties; NaN never wins). */
export function argmaxRow(row: ArrayLike<number>): number {
  let best = 0, bv = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > bv) { bv = row[i]; best = i; }
  return best;
}

/**
 * The probabilities sampling draws from, after temperature, top-k and top-p (zeros elsewhere), as a
 * Float64Array summing to 1. With temperature 0 it is one-hot at the argmax.
 */
export function samplingDistribution(logits: ArrayLike<number>, o: SamplingOptions = {}): Float64Array {
  checkSampling(o);
  const V = logits.length;
  const p = new Float64Array(V);
  const temp = o.temperature ?? 1;
  if (temp === 0) { p[argmaxRow(logits)] = 1; return p; }
  let m = -Infinity;
  for (let i = 0; i < V; i++) if (logits[i] > m) m = logits[i];
  if (m === -Infinity) { p[argmaxRow(logits)] = 1; return p; }
  let s = 0;
  for (let i = 0; i < V; i++) { const e = Math.exp((logits[i] - m) / temp); p[i] = Number.isFinite(e) ? e : 0; s += p[i]; }
  for (let i = 0; i < V; i++) p[i] /= s;
  const k = o.topK ? o.topK : null, top = o.topP ?? null; // topK 0: no filtering (Hugging Face)
  if ((k !== null && k < V) || (top !== null && top < 1)) {
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => p[b] - p[a]);
    let keep = V;
    if (k !== null && k < V) {
      const kth = p[order[k - 1]];
      keep = k;
      while (keep < V && p[order[keep]] === kth) keep++;
    }
    if (top !== null && top < 1) {
      let c = 0, n = 0;
      while (n < keep) { c += p[order[n]]; n++; if (c >= top) break; }
      keep = n;
    }
    let kept = 0;
    for (let r = 0; r < V; r++) { if (r < keep) kept += p[order[r]]; else p[order[r]] = 0; }
    for (let i = 0; i < V; i++) p[i] /= kept;
  }
  return p;
}

/** Draws a token id from a row of logits (see {@link samplingDistribution}). */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, generator: T.Generator): number {
  const p = samplingDistribution(logits, o);
  if ((o.temperature ?? 1) === 0) return argmaxRow(p);
  const u = generator.random();
  let c = 0, last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    c += p[i];
    last = i;
    if (u < c) return i;
  }
  return last;
}

/**
 * An int32 tensor [shape] holding `data`, in pooled storage (so a scope releases it, unlike a
 * wrapped array that only the garbage collector reclaims).
 */
export function intTensor(data: ArrayLike<number>, shape: number[]): T.Tensor {
  const t = T.empty(shape, 'int32');
  (t.data() as Int32Array).set(data);
  return t;
}
