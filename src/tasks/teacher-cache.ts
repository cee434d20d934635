/**
 * The teacher-logit cache of distillation (issue 15): for a fixed training set (no augmentation),
 * the teacher's logits of every example are computed once and kept in a safetensors file instead of
 * running the teacher at every step of every epoch.
 *
 * File: tensors `logits` F32 [N, K] and, with top-k, `indices` I32 [N, K] (the class of each column,
 * largest logit first); `__metadata__` `{ key, topK, examples }`. The key is the sha256 of the
 * teacher's weights, the training examples' token ids and labels, and top-k, so a new teacher or
 * changed data makes the file stale: it is then recomputed and rewritten (atomically).
 *
 * Top-k: only each row's k largest logits are kept; the kd term then renormalises the teacher's
 * softened distribution over those k classes (losses/distillation.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileFormatError } from '../errors.js';
import { ensureDir } from '../io/ensure-dir.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/safetensors.js';

/** Teacher logits of N examples: [N, K] row-major, with the class of each column when top-k. */
export interface TeacherLogits {
  n: number;
  k: number;
  logits: Float32Array;
  /** int32 [N, K] classes (top-k only). */
  indices?: Int32Array;
}

/**
 * The cache key: sha256 over the teacher's weight digest, every example's token ids and label, and
 * top-k (hex).
 */
export function teacherCacheKey(weightsSha256: string, examples: readonly { inputIds: ArrayLike<number>; label: number }[], topK: number | undefined): string {
  const h = createHash('sha256');
  h.update(`teacher ${weightsSha256}\ntopK ${topK ?? 'all'}\nexamples ${examples.length}\n`);
  for (const e of examples) {
    h.update(Int32Array.from(e.inputIds as ArrayLike<number>));
    h.update(`|${e.label}\n`);
  }
  return h.digest('hex');
}

/**
 * Each row's k largest values, largest first (ties: lower class first).
 * @param logits [N, C] row-major.
 */
export function topKRows(logits: Float32Array, n: number, c: number, k: number): { values: Float32Array; indices: Int32Array } {
  const kk = Math.min(k, c);
  const values = new Float32Array(n * kk), indices = new Int32Array(n * kk);
  const order = Array.from({ length: c }, (_, j) => j);
  for (let i = 0; i < n; i++) {
    const row = logits.subarray(i * c, (i + 1) * c);
    order.sort((a, b) => row[b] - row[a] || a - b);
    for (let j = 0; j < kk; j++) { indices[i * kk + j] = order[j]; values[i * kk + j] = row[order[j]]; }
    for (let j = 0; j < c; j++) order[j] = j;
  }
  return { values, indices };
}

/**
 * The cached logits when `file` holds the ones of `key`, else null (absent or stale file).
 * @throws FileFormatError naming the file when it is not a readable safetensors file.
 */
export function readTeacherCache(file: string, key: string): TeacherLogits | null {
  if (!existsSync(file)) return null;
  let c;
  try {
    c = readSafetensorsFile(file);
  } catch (e) {
    throw new FileFormatError(`${file}: the teacher-logit cache cannot be read (${(e as Error).message}); delete it to recompute`);
  }
  if (c.metadata.key !== key) return null;
  const l = c.tensors.logits, ix = c.tensors.indices;
  if (!l || l.dtype !== 'F32' || l.shape.length !== 2) throw new FileFormatError(`${file}: the teacher-logit cache has no F32 [N, K] tensor "logits"; delete it to recompute`);
  return { n: l.shape[0], k: l.shape[1], logits: l.data as Float32Array, indices: ix ? (ix.data as Int32Array) : undefined };
}

/** Writes the cache atomically (a crash leaves the old file or none). */
export function writeTeacherCache(file: string, key: string, t: TeacherLogits, topK: number | undefined): void {
  ensureDir(dirname(file), 'the teacher-logit cache');
  const tensors: Parameters<typeof writeSafetensorsFile>[1] = { logits: { dtype: 'F32', shape: [t.n, t.k], data: t.logits } };
  if (t.indices) tensors.indices = { dtype: 'I32', shape: [t.n, t.k], data: t.indices };
  writeSafetensorsFile(file, tensors, { key, topK: String(topK ?? 'all'), examples: String(t.n) });
}
