/**
 * Decoding for encoder-decoder models: greedy and beam search, batched, reusing the keys and values
 * of earlier positions (each step feeds one new token per row; self-attention keys/values are
 * appended to a per-layer cache, cross-attention projections of the encoder output are computed
 * once). `useCache: false` recomputes the whole prefix every step (the reference and the
 * benchmark's baseline); both give the same tokens.
 *
 * Beam search follows Hugging Face's `generate(num_beams=K)`: every source keeps K beams; of the 2K
 * best (beam, token) continuations, EOS ones among the first K become finished hypotheses scored
 * sum-logprob / length^lengthPenalty (length without the start token, EOS included), the others
 * fill the K new beams. A source is done when it holds K finished hypotheses and no open beam can
 * still beat the worst of them; at the length limit open beams count as finished.
 */
import { ValueError } from '../errors.js';
import type { KVCache } from '../nn/attention.js';
import { linear } from '../nn/functional.js';
import * as T from '../tensor/index.js';
import { argmaxRow, intTensor } from './sampling.js';

/** Options of the decoding methods. */
export interface DecodeOptions {
  /** [B, S] HF convention (1 = real, 0 = padding). */
  srcAttentionMask?: T.Tensor | null;
  /** Longest output including the start token (default blockSize). */
  maxLength?: number;
  /** Tokens generated after the start token (default and cap: blockSize - 1); wins over maxLength. */
  maxNewTokens?: number;
  /** EOS is not chosen before this many new tokens (HF's min_new_tokens). Default 0. */
  minNewTokens?: number;
  /** Reuse keys/values of earlier positions. Default true. */
  useCache?: boolean;
}

export interface BeamSearchOptions extends DecodeOptions {
  /** Beams per source (default 4). */
  numBeams?: number;
  /** Finished hypotheses are ranked by logprob / length^lengthPenalty (default 1; HF's convention). */
  lengthPenalty?: number;
}

/** What decoding needs of an encoder-decoder model (EncoderDecoder provides it). */
export interface Seq2SeqModel {
  readonly config: { blockSize: number; bosTokenId: number; eosTokenId: number; padTokenId: number; tgtVocabSize: number; nDecoderLayer: number };
  encode(srcIds: T.Tensor, srcAttentionMask?: T.Tensor | null): T.Tensor;
  decodeHidden(tgtIds: T.Tensor, memory: T.Tensor, srcAttentionMask?: T.Tensor | null, cache?: { positionOffset: number; kvCaches: KVCache[]; crossKvCaches: KVCache[] }): T.Tensor;
  lmHeadWeight(): T.Tensor;
  inference<R>(fn: () => R): R;
}

function limit(m: Seq2SeqModel, o: DecodeOptions): number {
  const bs = m.config.blockSize;
  if (o.maxNewTokens !== undefined) {
    if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw new ValueError(`maxNewTokens must be a positive integer, got ${o.maxNewTokens}`);
    return Math.min(bs, o.maxNewTokens + 1);
  }
  const L = o.maxLength ?? bs;
  if (!Number.isInteger(L) || L < 1 || L > bs) throw new ValueError(`maxLength must be an integer in [1, ${bs}], got ${L}`);
  return L;
}

/**
 * Next-token log-probabilities of N rows, one step at a time. With the cache, each call feeds only
 * the positions not seen before; `reorder` moves cached rows (beam search).
 */
class DecoderSteps {
  private self: KVCache[] | null;
  private cross: KVCache[] | null;
  private seen = 0;

  constructor(private readonly m: Seq2SeqModel, private readonly memory: T.Tensor, private readonly mask: T.Tensor | null, useCache: boolean) {
    const n = m.config.nDecoderLayer;
    this.self = useCache ? Array.from({ length: n }, () => ({ k: null, v: null })) : null;
    this.cross = useCache ? Array.from({ length: n }, () => ({ k: null, v: null })) : null;
  }

  private cached(): T.Tensor[] {
    return [...(this.self ?? []), ...(this.cross ?? [])].flatMap((c) => [c.k, c.v]).filter((t): t is T.Tensor => t !== null);
  }

  /**
   * rows: N token lists of equal length → log-probabilities [N·V] at their last position (or the
   * logits, when `logits` is set: greedy needs only their arg-max).
   */
  step(rows: number[][], logits = false): Float32Array {
    const N = rows.length, len = rows[0].length;
    const start = this.self ? this.seen : 0;
    const n = len - start;
    const flat = new Int32Array(N * n);
    rows.forEach((r, i) => flat.set(r.slice(start), i * n));
    const before = new Set(this.cached());
    const self = this.self, cross = this.cross;
    const { lp } = T.scope(() => {
      const cache = self && cross ? { positionOffset: start, kvCaches: self, crossKvCaches: cross } : undefined;
      const h = this.m.decodeHidden(intTensor(flat, [N, n]), this.memory, this.mask, cache);
      const last = linear(T.narrow(h, 1, n - 1, 1), this.m.lmHeadWeight());
      // The caches' new tensors must outlive this scope.
      return { lp: Float32Array.from((logits ? last : T.logSoftmax(last, -1)).data()), kept: this.cached() };
    });
    const now = new Set(this.cached());
    for (const t of before) if (!now.has(t)) t.storage.release();
    this.seen = len;
    return lp;
  }

  /** Cached row i becomes cached row index[i] (self-attention only: the memory rows stay). */
  reorder(index: Int32Array): void {
    if (!this.self || this.self[0].k === null) return;
    const self = this.self;
    const old = this.cached().filter((t) => self.some((c) => c.k === t || c.v === t));
    T.scope(() => {
      const idx = intTensor(index, [index.length]);
      for (const c of self) { c.k = T.indexSelect(c.k!, idx); c.v = T.indexSelect(c.v!, idx); }
      return { kept: self.flatMap((c) => [c.k!, c.v!]) };
    });
    for (const t of old) t.storage.release();
  }

  release(): void {
    for (const t of this.cached()) t.storage.release();
    this.self = null;
    this.cross = null;
  }
}

/**
 * Greedy decoding: srcIds [B, S] → int32 [B, L] starting with `bosTokenId`; a row that emitted
 * `eosTokenId` continues with `padTokenId`; stops when every row has finished or at the limit.
 */
export function greedyDecode(m: Seq2SeqModel, srcIds: T.Tensor, opts: DecodeOptions = {}): T.Tensor {
  const L = limit(m, opts), minNew = opts.minNewTokens ?? 0;
  const { bosTokenId: bos, eosTokenId: eos, padTokenId: pad, tgtVocabSize: V } = m.config;
  return m.inference(() => T.scope(() => {
    const [B] = srcIds.shape;
    const mask = opts.srcAttentionMask ?? null;
    const steps = new DecoderSteps(m, m.encode(srcIds, mask), mask, opts.useCache ?? true);
    const rows = Array.from({ length: B }, () => [bos]);
    const done = new Array<boolean>(B).fill(false);
    try {
      while (rows[0].length < L && !done.every((d) => d)) {
        const lp = steps.step(rows, true);
        const early = rows[0].length - 1 < minNew;
        for (let b = 0; b < B; b++) {
          const row = lp.subarray(b * V, (b + 1) * V);
          if (early) row[eos] = -Infinity;
          const next = done[b] ? pad : argmaxRow(row);
          rows[b].push(next);
          if (next === eos) done[b] = true;
        }
      }
    } finally {
      steps.release();
    }
    const out = new Int32Array(B * rows[0].length);
    rows.forEach((r, b) => out.set(r, b * r.length));
    return intTensor(out, [B, rows[0].length]);
  }));
}

interface Hyp { tokens: number[]; score: number }

/** The k best of (score, payload) pairs pushed one by one, best first. */
class TopK {
  readonly items: Array<{ score: number; beam: number; tok: number }> = [];
  constructor(private readonly k: number) {}
  push(score: number, beam: number, tok: number): void {
    const it = this.items;
    if (it.length === this.k && score <= it[it.length - 1].score) return;
    let i = it.length;
    while (i > 0 && it[i - 1].score < score) i--;
    it.splice(i, 0, { score, beam, tok });
    if (it.length > this.k) it.pop();
  }
}

/**
 * Beam search over B sources at once (B·numBeams decoder rows): returns the best hypothesis per
 * source as int32 [B, L] (BOS first, padded with `padTokenId`) and its normalised score.
 * @throws ValueError for bad options.
 */
export function beamSearch(m: Seq2SeqModel, srcIds: T.Tensor, opts: BeamSearchOptions = {}): { sequences: T.Tensor; scores: number[] } {
  const L = limit(m, opts), minNew = opts.minNewTokens ?? 0;
  const K = opts.numBeams ?? 4;
  if (!Number.isInteger(K) || K < 1) throw new ValueError(`numBeams must be a positive integer, got ${K}`);
  const lpen = opts.lengthPenalty ?? 1;
  if (!Number.isFinite(lpen)) throw new ValueError(`lengthPenalty must be a finite number, got ${lpen}`);
  const { bosTokenId: bos, eosTokenId: eos, padTokenId: pad, tgtVocabSize: V } = m.config;
  const norm = (score: number, len: number): number => score / Math.pow(Math.max(len, 1), lpen);
  return m.inference(() => T.scope(() => {
    const [B] = srcIds.shape;
    const N = B * K;
    const rep = intTensor(Int32Array.from({ length: N }, (_, i) => Math.floor(i / K)), [N]);
    const mask1 = opts.srcAttentionMask ?? null;
    const memory = T.indexSelect(m.encode(srcIds, mask1), rep);
    const mask = mask1 ? T.indexSelect(mask1, rep) : null;
    const steps = new DecoderSteps(m, memory, mask, opts.useCache ?? true);
    let rows: number[][] = Array.from({ length: N }, () => [bos]);
    // At the start all K beams of a source are the same: only the first may expand.
    let scores = Float64Array.from({ length: N }, (_, i) => (i % K === 0 ? 0 : -Infinity));
    const finished: Hyp[][] = Array.from({ length: B }, () => []);
    const done = new Array<boolean>(B).fill(false);
    try {
      while (!done.every((d) => d)) {
        const len = rows[0].length;
        if (len >= L) {
          for (let b = 0; b < B; b++) {
            if (done[b]) continue;
            for (let j = 0; j < K; j++) if (Number.isFinite(scores[b * K + j])) finished[b].push({ tokens: rows[b * K + j], score: norm(scores[b * K + j], len - 1) });
          }
          break;
        }
        const lp = steps.step(rows);
        const early = len - 1 < minNew;
        const nextRows: number[][] = new Array(N);
        const nextScores = new Float64Array(N).fill(-Infinity);
        const origin = new Int32Array(N);
        for (let b = 0; b < B; b++) {
          if (done[b]) {
            for (let j = 0; j < K; j++) { const r = b * K + j; nextRows[r] = [...rows[r], pad]; origin[r] = r; }
            continue;
          }
          const top = new TopK(2 * K);
          for (let j = 0; j < K; j++) {
            const r = b * K + j, base = scores[r];
            if (!Number.isFinite(base)) continue;
            for (let v = 0; v < V; v++) {
              if (early && v === eos) continue;
              top.push(base + lp[r * V + v], r, v);
            }
          }
          let j = 0;
          top.items.forEach((c, rank) => {
            if (j >= K || !Number.isFinite(c.score)) return;
            const toks = [...rows[c.beam], c.tok];
            if (c.tok === eos) {
              if (rank < K) finished[b].push({ tokens: toks, score: norm(c.score, toks.length - 1) });
              return;
            }
            const r = b * K + j++;
            nextRows[r] = toks;
            nextScores[r] = c.score;
            origin[r] = c.beam;
          });
          for (; j < K; j++) { const r = b * K + j; nextRows[r] = [...rows[b * K], pad]; origin[r] = b * K; }
          const f = finished[b];
          if (f.length >= K) {
            const worst = f.map((h) => h.score).sort((x, y) => y - x)[K - 1];
            // An open beam's log-prob can only fall: for lengthPenalty >= 0 its best final score is
            // today's over the longest length; for a negative penalty, today's at today's length.
            let bestOpen = -Infinity;
            for (let q = 0; q < K; q++) {
              const s = nextScores[b * K + q];
              if (Number.isFinite(s)) bestOpen = Math.max(bestOpen, lpen >= 0 ? s / Math.pow(Math.max(L - 1, 1), lpen) : norm(s, len));
            }
            if (bestOpen <= worst) done[b] = true;
          } else if (!nextScores.subarray(b * K, (b + 1) * K).some(Number.isFinite)) done[b] = true;
        }
        steps.reorder(origin);
        rows = nextRows;
        scores = nextScores;
      }
    } finally {
      steps.release();
    }
    const best = finished.map((f) => f.sort((x, y) => y.score - x.score)[0] ?? { tokens: [bos], score: -Infinity });
    const Lout = Math.max(...best.map((h) => h.tokens.length));
    const out = new Int32Array(B * Lout).fill(pad);
    best.forEach((h, b) => out.set(h.tokens, b * Lout));
    return { sequences: intTensor(out, [B, Lout]), scores: best.map((h) => h.score) };
  }));
}
