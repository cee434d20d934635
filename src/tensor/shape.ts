// Broadcasting rules (NumPy / PyTorch) and helpers shared by ops.
import { ShapeError, fmtShape } from '../errors.js';

/** The broadcast shape of a and b. @throws ShapeError naming both shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[], what = 'broadcast'): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${what}: shapes ${fmtShape(a)} and ${fmtShape(b)} are not broadcastable (dimension ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Element strides to read `shape`-sized `target` broadcast from (shape, strides); 0 on broadcast dims. */
export function broadcastStrides(shape: readonly number[], strides: readonly number[], target: readonly number[]): number[] {
  const n = target.length, k = shape.length;
  const out = new Array<number>(n).fill(0);
  for (let i = 0; i < k; i++) {
    const d = n - k + i;
    out[d] = shape[i] === 1 && target[d] !== 1 ? 0 : strides[i];
  }
  return out;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}
