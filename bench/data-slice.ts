/**
 * The one fixed 10 % slice of a classification training file that issue 15's benchmarks share
 * (bench/data-efficiency.ts for augmentation, bench/data-efficiency-distill.ts for the students of
 * distillation): the first ceil(10 %) lines of a permutation drawn from SLICE_SEED
 * (src/data/rng `permutation(n, SLICE_SEED, 0)`), kept in file order. Blank lines are not counted.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { permutation } from '../src/data/rng.js';

/** The slice's share of the training file. */
export const SLICE_FRACTION = 0.1;
/** The permutation seed: the same examples for every run, seed and benchmark. */
export const SLICE_SEED = 2019;

/**
 * Writes the fixed slice of the JSONL file `src` to `dest`.
 * @param fraction share of the non-blank lines kept, rounded up (default SLICE_FRACTION).
 * @returns the kept lines (without newlines), in file order.
 * @throws the fs error naming `src` when it cannot be read.
 */
export function writeSlice(src: string, dest: string, fraction = SLICE_FRACTION): string[] {
  const lines = readFileSync(src, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const n = Math.ceil(lines.length * fraction);
  const kept = Array.from(permutation(lines.length, SLICE_SEED, 0).subarray(0, n)).sort((a, b) => a - b).map((i) => lines[i]);
  writeFileSync(dest, kept.join('\n') + '\n');
  return kept;
}
