// Portable batched GEMM. Loop order i-k-j keeps the inner loop contiguous in B and C.
import type { FloatArray } from '../backend.js';

export function matmul(a: FloatArray, b: FloatArray, c: FloatArray, batch: number, m: number, n: number, k: number,
  transA: boolean, transB: boolean, aBatchStride: number, bBatchStride: number, alpha: number, beta: number): void {
  const row = new Float64Array(n);
  for (let bi = 0; bi < batch; bi++) {
    const ao = bi * aBatchStride, bo = bi * bBatchStride, co = bi * m * n;
    for (let i = 0; i < m; i++) {
      row.fill(0);
      for (let p = 0; p < k; p++) {
        const av = transA ? a[ao + p * m + i] : a[ao + i * k + p];
        if (transB) {
          for (let j = 0; j < n; j++) row[j] += av * b[bo + j * k + p];
        } else {
          const bRow = bo + p * n;
          for (let j = 0; j < n; j++) row[j] += av * b[bRow + j];
        }
      }
      const cRow = co + i * n;
      if (beta === 0) for (let j = 0; j < n; j++) c[cRow + j] = alpha * row[j];
      else for (let j = 0; j < n; j++) c[cRow + j] = alpha * row[j] + beta * c[cRow + j];
    }
  }
}
