/**
 * The transfer set of knowledge distillation (issue 15; Hinton, Vinyals & Dean 2015 §2 "transfer
 * set"): in-domain texts the student sees only through the teacher's soft targets, never through a
 * label. Read from a JSONL file of `{"text": …}` lines (a `label` field, if present, is ignored), and
 * drawn alongside the labelled batches in a seeded order that depends only on (seed, step), so a
 * resumed run draws the same texts.
 */
import { FileFormatError } from '../errors.js';
import { asObject, readJsonl, stringField } from './jsonl.js';
import { permutation } from './rng.js';

/** Salt of the transfer order's permutation stream (keeps it apart from the labelled loader's epochs). */
const TRANSFER_STREAM = 0x7452;

/**
 * Reads the texts of a transfer-set JSONL file.
 * @param path JSONL file, one `{"text": string}` object per line; other fields are ignored, blank lines skipped.
 * @param textField the field holding the text (default "text").
 * @returns the texts in file order.
 * @throws FileFormatError one line: `<path>: no such file`, `<path>:<line>: field "text" is
 *   missing` (or invalid JSON, not an object, not a string), or `<path>: no texts` for an empty file.
 */
export async function loadTransferTexts(path: string, textField = 'text'): Promise<string[]> {
  const r = await readJsonl(path, (v) => stringField(asObject(v), textField));
  if (r.records.length === 0) throw new FileFormatError(`${path}: no texts (distillation.transferData must hold {"${textField}": …} lines)`);
  return r.records;
}

/**
 * The transfer-set indices of training step `step` (0-based, counted over the whole run): positions
 * [step·b, (step+1)·b) of the endless sequence made of permutations of 0..m-1, the c-th drawn from
 * (seed, c). Every text appears once per pass over the set; the result depends on nothing but the
 * arguments.
 * @param m transfer-set size (≥ 1); @param batchSize b (≥ 1; may exceed m: the sequence wraps).
 * @returns int32 [b] indices in 0..m-1.
 * @throws RangeError for m or b below 1 or a negative step.
 */
export function transferIndices(m: number, batchSize: number, seed: number, step: number): Int32Array {
  if (!(Number.isInteger(m) && m >= 1 && Number.isInteger(batchSize) && batchSize >= 1 && Number.isInteger(step) && step >= 0)) {
    throw new RangeError(`transferIndices: need m ≥ 1, batchSize ≥ 1, step ≥ 0 (integers), got ${m}, ${batchSize}, ${step}`);
  }
  const out = new Int32Array(batchSize);
  let cycle = -1;
  let perm: Int32Array | null = null;
  for (let j = 0; j < batchSize; j++) {
    const pos = step * batchSize + j;
    const c = Math.floor(pos / m);
    if (c !== cycle) { cycle = c; perm = permutation(m, seed ^ TRANSFER_STREAM, c); }
    out[j] = perm![pos - c * m];
  }
  return out;
}
