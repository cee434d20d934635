/**
 * The one fixed 10 % slice of a classification training file that issue 15's benchmarks share
 * (bench/data-efficiency.ts for augmentation, bench/data-efficiency-distill.ts for the students of
 * distillation): the first ceil(10 %) lines of a permutation drawn from SLICE_SEED
 * (src/data/rng `permutation(n, SLICE_SEED, 0)`), kept in file order. Blank lines are not counted.
 * The rest of the file, labels removed, is the distillation benchmark's transfer set.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { permutation } from '../src/data/rng.js';

/** The slice's share of the training file. */
export const SLICE_FRACTION = 0.1;
/** The permutation seed: the same examples for every run, seed and benchmark. */
export const SLICE_SEED = 2019;

/** Indices (into the non-blank lines) of the fixed slice, ascending. */
function sliceIndices(count: number, fraction: number): number[] {
  return Array.from(permutation(count, SLICE_SEED, 0).subarray(0, Math.ceil(count * fraction))).sort((a, b) => a - b);
}

/**
 * Writes the fixed slice of the JSONL file `src` to `dest`.
 * @param fraction share of the non-blank lines kept, rounded up (default SLICE_FRACTION).
 * @returns the kept lines (without newlines), in file order.
 * @throws the fs error naming `src` when it cannot be read.
 */
export function writeSlice(src: string, dest: string, fraction = SLICE_FRACTION): string[] {
  const lines = readFileSync(src, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const kept = sliceIndices(lines.length, fraction).map((i) => lines[i]);
  writeFileSync(dest, kept.join('\n') + '\n');
  return kept;
}

/**
 * Writes the lines of `src` outside the fixed slice to `dest` as `{"text"}` lines, their labels
 * removed (the unlabelled transfer set of distillation).
 * @param textField the field holding the text (default "text").
 * @returns the number of lines written.
 * @throws the fs error naming `src` when it cannot be read; Error naming `src` and the line for a line without text.
 */
export function writeSliceRestUnlabelled(src: string, dest: string, fraction = SLICE_FRACTION, textField = 'text'): number {
  const lines = readFileSync(src, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const inSlice = new Set(sliceIndices(lines.length, fraction));
  const out: string[] = [];
  lines.forEach((l, i) => {
    if (inSlice.has(i)) return;
    const text = (JSON.parse(l) as Record<string, unknown>)[textField];
    if (typeof text !== 'string') throw new Error(`${src}: non-blank line ${i + 1}: no string field "${textField}"`);
    out.push(JSON.stringify({ text }));
  });
  writeFileSync(dest, out.join('\n') + '\n');
  return out.length;
}
