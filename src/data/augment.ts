import { ValueError } from '../errors.js';
import { DataRng } from './rng.js';

/**
 * Token-level text augmentation for classification training, after EDA (Wei & Zou, "EDA: Easy
 * Data Augmentation Techniques for Boosting Performance on Text Classification Tasks", EMNLP 2019:
 * random deletion, random swap) plus BERT-style masking. All probabilities default to 0: off.
 */
export interface AugmentOptions {
  /** Each token is deleted with this probability (at least one token always stays). */
  deleteProb?: number;
  /** round(swapProb · n) random pairs of positions are swapped (EDA's α_rs). */
  swapProb?: number;
  /** Each token is replaced by `maskId` with this probability. */
  maskProb?: number;
  /** Required when maskProb > 0. */
  maskId?: number;
  /** Ids never deleted, moved or masked (e.g. [CLS], [SEP], [PAD]). */
  protectedIds?: readonly number[];
}

/** Whether the options change anything. */
export function augmentEnabled(o: AugmentOptions | undefined): boolean {
  return !!o && ((o.deleteProb ?? 0) > 0 || (o.swapProb ?? 0) > 0 || (o.maskProb ?? 0) > 0);
}

/**
 * Returns an augmented copy of `ids` (deletion, then swaps, then masking), drawing from `rng`
 * only (the same rng state gives the same result). Protected tokens keep their positions
 * relative to each other: only unprotected tokens are deleted, swapped among themselves, masked.
 * With every probability 0 it returns a copy of `ids` and draws nothing.
 * @throws ValueError for a probability outside [0, 1] or maskProb > 0 without maskId.
 */
export function augmentTokens(ids: readonly number[], rng: DataRng, options: AugmentOptions = {}): number[] {
  const del = prob('deleteProb', options.deleteProb);
  const swap = prob('swapProb', options.swapProb);
  const mask = prob('maskProb', options.maskProb);
  if (mask > 0 && options.maskId === undefined) throw new ValueError('augmentTokens: maskProb > 0 needs maskId');
  const prot = new Set(options.protectedIds ?? []);
  let out = ids.slice();

  if (del > 0) {
    const free = out.filter((t) => !prot.has(t)).length;
    const keep = out.map((t) => prot.has(t) || rng.random() >= del);
    const kept = out.filter((t, i) => keep[i] && !prot.has(t)).length;
    if (kept === 0 && free > 0) {
      // EDA keeps one random word when all would go.
      const candidates = out.map((t, i) => (prot.has(t) ? -1 : i)).filter((i) => i >= 0);
      keep[candidates[rng.randint(candidates.length)]] = true;
    }
    out = out.filter((_, i) => keep[i]);
  }

  if (swap > 0) {
    const pos = out.map((t, i) => (prot.has(t) ? -1 : i)).filter((i) => i >= 0);
    const n = Math.round(swap * pos.length);
    if (pos.length >= 2) {
      for (let k = 0; k < n; k++) {
        const a = pos[rng.randint(pos.length)];
        const b = pos[rng.randint(pos.length)];
        [out[a], out[b]] = [out[b], out[a]];
      }
    }
  }

  if (mask > 0) {
    for (let i = 0; i < out.length; i++) {
      if (!prot.has(out[i]) && rng.random() < mask) out[i] = options.maskId!;
    }
  }
  return out;
}

function prob(name: string, v: number | undefined): number {
  const p = v ?? 0;
  if (!(p >= 0 && p <= 1)) throw new ValueError(`augmentTokens: ${name} must be in [0, 1], got ${v}`);
  return p;
}

/**
 * The generator for augmenting batch `index` of `epoch`: a function of (seed, epoch, index) only,
 * so a resumed run augments each batch exactly as an uninterrupted one (no RNG state to save).
 */
export function augmentRng(seed: number, epoch: number, index: number): DataRng {
  return new DataRng(seed, 0x4147, epoch, index); // 0x4147 ("AG") keeps this stream apart
}

/**
 * Augments the token ids of a batch of classification examples (labels unchanged), with
 * [CLS]/[SEP]/[PAD] style ids protected through `options.protectedIds`. Returns new objects.
 */
export function augmentExamples<E extends { inputIds: number[] }>(examples: readonly E[], rng: DataRng, options: AugmentOptions): E[] {
  if (!augmentEnabled(options)) return examples.slice();
  return examples.map((e) => ({ ...e, inputIds: augmentTokens(e.inputIds, rng, options) }));
}
