/**
 * Pooling of window logits into document logits (classification of documents longer than maxLength,
 * `data.longDocuments`): the rows of a batch are every document's windows in order, `counts[b]` of
 * them for document b; each document's logits are the mean or the elementwise max of its windows'.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { intTensor } from './tensors.js';

/**
 * logits [R, K] float32 with R = Σ counts → [B, K], B = counts.length.
 * mean: a [B, R] averaging matrix (1/counts[b] on document b's rows) times the logits.
 * max: each document's rows gathered into [B, Wmax, K] (a shorter document repeats its first window,
 * which leaves the max unchanged), then the max over windows. Both are differentiable.
 * @throws ShapeError when the counts do not add up to R; ValueError for an unknown pool or a count < 1.
 */
export function poolWindows(logits: T.Tensor, counts: Int32Array, pool: 'mean' | 'max'): T.Tensor {
  const R = logits.shape[0], K = logits.shape[1], B = counts.length;
  let total = 0;
  for (const c of counts) {
    if (!(c >= 1)) throw new ValueError(`poolWindows: every document needs at least one window, got ${c}`);
    total += c;
  }
  if (logits.ndim !== 2 || total !== R) throw new ShapeError(`poolWindows: logits ${fmtShape(logits.shape)} do not hold the ${total} windows of the counts`);
  if (pool === 'mean') {
    const avg = T.zeros([B, R]);
    const d = avg.data();
    for (let b = 0, r = 0; b < B; r += counts[b], b++) for (let j = 0; j < counts[b]; j++) d[b * R + r + j] = 1 / counts[b];
    return T.matmul(avg, logits);
  }
  if (pool !== 'max') throw new ValueError(`poolWindows: pool must be 'mean' or 'max', got ${JSON.stringify(pool)}`);
  const W = Math.max(...counts);
  const idx = new Int32Array(B * W);
  for (let b = 0, r = 0; b < B; r += counts[b], b++) for (let j = 0; j < W; j++) idx[b * W + j] = r + (j < counts[b] ? j : 0);
  return T.max(T.reshape(T.indexSelect(logits, intTensor(idx, [B * W])), [B, W, K]), 1);
}
