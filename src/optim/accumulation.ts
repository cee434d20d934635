/**
 * Gradient accumulation: N micro-batches whose losses are each multiplied by 1/N and back-propagated
 * into the same `.grad` give the gradient of one batch N times larger — exactly so when every
 * micro-batch loss is a mean over the same number of items (gradients add up; the mean of means of
 * equal-sized parts is the overall mean).
 *
 *   for (const mb of microBatches) backward(mulScalar(lossOf(mb), accumulationScale(mb.length)));
 *   optimizer.step(); optimizer.zeroGrad();
 *
 * When micro-batches hold different numbers of items (token-level losses with padding or
 * ignore_index), weigh each mean loss by its share of the items instead: {@link accumulationWeights}.
 */
import { ValueError } from '../errors.js';

/**
 * The factor 1/n each of n micro-batch losses is multiplied by before backward.
 * @throws ValueError unless n is an integer >= 1.
 */
export function accumulationScale(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`accumulationScale: gradientAccumulationSteps must be an integer >= 1, got ${String(n)}`);
  return 1 / n;
}

/**
 * Weights w_i = count_i / Σ count for micro-batch losses that are means over count_i items, so that
 * Σ w_i·mean_i is the mean over all items of the accumulated batch. All-zero counts give zeros
 * (nothing to learn from, as a fully ignored batch).
 * @throws ValueError for an empty list or a count that is not a finite number >= 0.
 */
export function accumulationWeights(counts: readonly number[]): number[] {
  if (!Array.isArray(counts) || counts.length === 0) throw new ValueError('accumulationWeights: counts must be a non-empty array of item counts');
  let total = 0;
  counts.forEach((c, i) => {
    if (typeof c !== 'number' || !Number.isFinite(c) || c < 0) throw new ValueError(`accumulationWeights: counts[${i}] must be a finite number >= 0, got ${String(c)}`);
    total += c;
  });
  return counts.map((c) => (total === 0 ? 0 : c / total));
}
