/**
 * The four word-level operations of EDA (Wei & Zou, "EDA: Easy Data Augmentation Techniques for
 * Boosting Performance on Text Classification Tasks", EMNLP 2019, §2 and their eda.py), on a
 * sentence already split into words:
 * - synonym replacement (SR): n = max(1, ⌊α_sr · l⌋) distinct non-stop-words, taken in random order,
 *   are each replaced (every occurrence) by a random synonym;
 * - random insertion (RI): n = max(1, ⌊α_ri · l⌋) times, a random synonym of a random word is
 *   inserted at a random position (up to 10 draws of a word that has a synonym);
 * - random swap (RS): n = max(1, ⌊α_rs · l⌋) times, two random positions swap their words;
 * - random deletion (RD): each word is deleted with probability p_rd; a one-word sentence is kept,
 *   and when every word would go one random word stays.
 * l is the number of words. Differences from eda.py, on purpose: protected words (special tokens,
 * a configured list or pattern — e.g. entity names or numbers) are never replaced, deleted, moved
 * or used as the source of an insertion, and keep their order; the text is not reduced to a-z
 * (punctuation attached to a word stays around its synonym: "prize!" → "award!").
 * Every operation draws only from `rng`: the same generator state gives the same result.
 */
import type { DataRng } from './rng.js';

/** What the operations need to know about words. */
export interface EdaContext {
  /** Synonyms of a (lower-case, bare) word; [] when none. */
  synonyms(word: string): readonly string[];
  /** Words never changed, moved or deleted (tested on the word as written). */
  isProtected(word: string): boolean;
  /** Stop words: not chosen for synonym replacement (EDA's rule). */
  isStopWord(word: string): boolean;
}

/** A word split into leading punctuation, its letters, trailing punctuation: "(prize!" → ["(", "prize", "!"]. */
export function splitCore(word: string): [string, string, string] {
  const m = /^([^\p{L}\p{N}]*)(.*?)([^\p{L}\p{N}]*)$/u.exec(word)!;
  return [m[1], m[2], m[3]];
}

/** EDA's operation count: max(1, ⌊α · l⌋); 0 when α = 0. */
export function edaCount(alpha: number, numWords: number): number {
  return alpha > 0 ? Math.max(1, Math.floor(alpha * numWords)) : 0;
}

function synonymsOf(word: string, ctx: EdaContext): readonly string[] {
  const core = splitCore(word)[1].toLowerCase();
  return core === '' ? [] : ctx.synonyms(core).filter((s) => s !== core);
}

function withCore(word: string, core: string): string {
  const [pre, , post] = splitCore(word);
  return pre + core + post;
}

/** SR: see the module docs. Returns a new array; multi-word synonyms stay one element ("ice cream"). */
export function synonymReplacement(words: readonly string[], alpha: number, rng: DataRng, ctx: EdaContext): string[] {
  const n = edaCount(alpha, words.length);
  const out = words.slice();
  if (n === 0) return out;
  const candidates = [...new Set(words.filter((w) => !ctx.isProtected(w) && !ctx.isStopWord(splitCore(w)[1].toLowerCase())).map((w) => splitCore(w)[1].toLowerCase()))]
    .filter((c) => c !== '');
  rng.shuffle(candidates);
  let replaced = 0;
  for (const core of candidates) {
    const syn = ctx.synonyms(core).filter((s) => s !== core);
    if (syn.length === 0) continue;
    const pick = syn[rng.randint(syn.length)];
    for (let i = 0; i < out.length; i++) {
      if (out[i] === words[i] && !ctx.isProtected(words[i]) && splitCore(words[i])[1].toLowerCase() === core) out[i] = withCore(words[i], pick);
    }
    if (++replaced >= n) break;
  }
  return out;
}

/** RI: see the module docs. Returns a new array. */
export function randomInsertion(words: readonly string[], alpha: number, rng: DataRng, ctx: EdaContext): string[] {
  const n = edaCount(alpha, words.length);
  const out = words.slice();
  for (let k = 0; k < n; k++) {
    const sources = out.filter((w) => !ctx.isProtected(w));
    if (sources.length === 0) break;
    for (let tries = 0; tries < 10; tries++) {
      const syn = synonymsOf(sources[rng.randint(sources.length)], ctx);
      if (syn.length === 0) continue;
      out.splice(rng.randint(out.length + 1), 0, syn[rng.randint(syn.length)]);
      break;
    }
  }
  return out;
}

/** RS: see the module docs; only unprotected positions take part. Returns a new array (a permutation of `words`). */
export function randomSwap(words: readonly string[], alpha: number, rng: DataRng, ctx: EdaContext): string[] {
  const n = edaCount(alpha, words.length);
  const out = words.slice();
  const free = words.map((w, i) => (ctx.isProtected(w) ? -1 : i)).filter((i) => i >= 0);
  if (free.length < 2) return out;
  for (let k = 0; k < n; k++) {
    const a = rng.randint(free.length);
    const b = (a + 1 + rng.randint(free.length - 1)) % free.length; // a different position
    [out[free[a]], out[free[b]]] = [out[free[b]], out[free[a]]];
  }
  return out;
}

/** RD: see the module docs; protected words always stay. Returns a new array (a subsequence of `words`). */
export function randomDeletion(words: readonly string[], p: number, rng: DataRng, ctx: EdaContext): string[] {
  if (p <= 0 || words.length <= 1) return words.slice();
  const keep = words.map((w) => ctx.isProtected(w) || rng.random() >= p);
  const free = words.map((w, i) => (ctx.isProtected(w) ? -1 : i)).filter((i) => i >= 0);
  if (free.length > 0 && free.every((i) => !keep[i])) keep[free[rng.randint(free.length)]] = true;
  return words.filter((_, i) => keep[i]);
}
