/**
 * The V8 heap policy of a training loop (issue 19: resident memory flat over a long run).
 *
 * A training step leaves almost nothing alive on the JavaScript heap (tensor data lives outside it,
 * in pooled buffers), yet with V8's default policy the resident size of a long run drifts: after each
 * major garbage collection V8 sets the next old-generation limit to the live size times a growing
 * factor it picks from its GC speed (up to 4×), and the pages the old generation commits on the way
 * up are only given back after a later collection. Measured on the soak benchmark (bench/soak.ts,
 * 20,000 steps): live heap flat at 13 MiB while the old space committed 13–33 MiB, and RSS swung by
 * 20 MiB (110.7 → 132.3 MiB) with the step at which it was sampled; the young generation, malloc
 * arenas and trainformer's buffer pool stayed flat. A fixed 10% growing factor
 * (`--heap-growing-percent=10`, read by V8 at every collection, so it takes effect when set at run
 * time) keeps the old space within ~1.1× of what is live, and the soak's RSS flat.
 */
import { setFlagsFromString } from 'node:v8';

/** Old-generation growth after a major collection, percent of the live size. */
export const HEAP_GROWING_PERCENT = 10;

let applied = false;

/**
 * Sets V8's old-generation growing factor to 1 + HEAP_GROWING_PERCENT/100 for the rest of the process
 * (once; later calls do nothing). Called by the Trainer when its loop starts, after data loading, so
 * that building large datasets keeps V8's default (fewer full collections).
 */
export function limitHeapGrowth(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
