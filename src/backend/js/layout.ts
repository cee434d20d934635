// Portable layout kernels: strided copy and reductions over a middle axis.
import type { AnyArray, FloatArray, ReduceOp } from '../backend.js';

export function copyStrided(src: AnyArray, srcOffset: number, shape: readonly number[], strides: readonly number[],
  out: AnyArray): void {
  const nd = shape.length;
  let n = 1;
  for (const s of shape) n *= s;
  if (n === 0) return;
  if (nd === 0) { out[0] = src[srcOffset]; return; }
  const last = shape[nd - 1], ls = strides[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let so = srcOffset;
  for (let o = 0; o < n; o += last) {
    if (ls === 1) for (let j = 0; j < last; j++) out[o + j] = src[so + j];
    else for (let j = 0; j < last; j++) out[o + j] = src[so + j * ls];
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      so += strides[d];
      if (idx[d] < shape[d]) break;
      so -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

export function reduce(op: ReduceOp, x: FloatArray, out: FloatArray, outer: number, len: number, inner: number,
  argOut?: Int32Array): void {
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    for (let i = 0; i < inner; i++) {
      const oi = o * inner + i;
      if (op === 'sum') {
        let s = 0;
        for (let l = 0; l < len; l++) s += x[base + l * inner + i];
        out[oi] = s;
        continue;
      }
      let best = op === 'max' ? -Infinity : Infinity;
      let arg = 0;
      for (let l = 0; l < len; l++) {
        const v = x[base + l * inner + i];
        if (v !== v) { best = NaN; arg = l; break; } // NaN wins, as in PyTorch
        if (op === 'max' ? v > best : v < best) { best = v; arg = l; }
      }
      out[oi] = len === 0 ? NaN : best;
      if (argOut) argOut[oi] = arg;
    }
  }
}

export function sumSquares(x: FloatArray, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}
