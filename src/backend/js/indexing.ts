// Portable index kernels: gather / scatter-add along a middle axis, row lookup and accumulation.
import type { FloatArray } from '../backend.js';

export function gather(x: FloatArray, idx: Int32Array, out: FloatArray, outer: number, len: number, inner: number,
  idxLen: number): void {
  for (let o = 0; o < outer; o++) {
    for (let l = 0; l < idxLen; l++) {
      const io = (o * idxLen + l) * inner;
      for (let i = 0; i < inner; i++) out[io + i] = x[(o * len + idx[io + i]) * inner + i];
    }
  }
}

export function scatterAdd(out: FloatArray, idx: Int32Array, src: FloatArray, outer: number, len: number, inner: number,
  idxLen: number): void {
  for (let o = 0; o < outer; o++) {
    for (let l = 0; l < idxLen; l++) {
      const io = (o * idxLen + l) * inner;
      for (let i = 0; i < inner; i++) out[(o * len + idx[io + i]) * inner + i] += src[io + i];
    }
  }
}

export function indexSelect(table: FloatArray, idx: Int32Array, out: FloatArray, n: number, cols: number): void {
  for (let r = 0; r < n; r++) {
    const s = idx[r] * cols, o = r * cols;
    for (let j = 0; j < cols; j++) out[o + j] = table[s + j];
  }
}

export function indexAdd(dTable: FloatArray, idx: Int32Array, g: FloatArray, n: number, cols: number): void {
  for (let r = 0; r < n; r++) {
    const s = idx[r] * cols, o = r * cols;
    for (let j = 0; j < cols; j++) dTable[s + j] += g[o + j];
  }
}
