/**
 * Length-grouped epoch order (Hugging Face `group_by_length`, its `LengthGroupedSampler`): batches
 * of examples of similar length, so little of a padded batch is padding, while the order stays random.
 *
 * The epoch's shuffled order (`permutation(n, seed, epoch)`) is cut into megabatches of
 * `megabatchMult × batchSize` examples (megabatchMult = min(50, ⌊n / (4·batchSize)⌋), at least 1, as
 * Hugging Face); each megabatch is sorted by length, longest first, and cut into batches. Unlike
 * Hugging Face, the full batches of a megabatch are then visited in a shuffled order (as fairseq
 * does), so the length of a batch is not tied to its position inside the megabatch. A last, partial
 * batch of the epoch stays last.
 */
import { ValueError } from '../errors.js';
import { DataRng, permutation } from './rng.js';

/**
 * The order in which an epoch visits a dataset of `lengths.length` examples, a permutation that
 * depends only on (lengths, batchSize, seed, epoch).
 * @param lengths [n] length of each example (tokens; any non-negative number).
 * @param batchSize examples per (global) batch.
 * @returns Int32Array [n]: consecutive runs of batchSize indices are the batches.
 * @throws ValueError when batchSize or megabatchMult is not a positive integer or a length is negative / not finite.
 */
export function lengthGroupedPermutation(lengths: ArrayLike<number>, batchSize: number, seed: number, epoch: number, megabatchMult = 50): Int32Array {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ValueError(`lengthGroupedPermutation: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(megabatchMult) || megabatchMult < 1) throw new ValueError(`lengthGroupedPermutation: megabatchMult must be a positive integer, got ${megabatchMult}`);
  const n = lengths.length;
  for (let i = 0; i < n; i++) {
    if (!(lengths[i] >= 0) || !Number.isFinite(lengths[i])) throw new ValueError(`lengthGroupedPermutation: lengths[${i}] must be a finite number >= 0, got ${lengths[i]}`);
  }
  const perm = permutation(n, seed, epoch);
  const mult = Math.max(1, Math.min(megabatchMult, Math.floor(n / (4 * batchSize))));
  const mb = mult * batchSize;
  const rng = new DataRng(seed, 0x4c47, epoch); // 0x4c47 ("LG"): a stream of its own
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += mb) {
    // Longest first; ties keep their shuffled order (Array.prototype.sort is stable).
    const group = Array.from(perm.subarray(start, Math.min(start + mb, n))).sort((a, b) => lengths[b] - lengths[a]);
    const full = Math.floor(group.length / batchSize);
    const order = rng.shuffle(Int32Array.from({ length: full }, (_, i) => i));
    let o = start;
    for (const bi of order) for (let j = bi * batchSize; j < (bi + 1) * batchSize; j++) out[o++] = group[j];
    for (let j = full * batchSize; j < group.length; j++) out[o++] = group[j];
  }
  return out;
}
