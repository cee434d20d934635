// Index kernels: gather / scatter-add along a middle axis, embedding lookup and its backward.
// Accumulating kernels split the work so that no two threads ever write the same element.
#include "common.h"
#include "kernels.h"

namespace tf {

void gather(const float* x, const int32_t* idx, float* out, int64_t outer, int64_t len, int64_t inner, int64_t idxLen) {
  const int64_t rows = outer * idxLen;
  const int64_t grain = inner > 0 && kSerialElems / inner > 0 ? kSerialElems / inner : 1;
  parallelFor(rows, grain, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const int64_t o = r / idxLen;
      const float* xo = x + o * len * inner;
      const int32_t* ir = idx + r * inner;
      float* outr = out + r * inner;
      for (int64_t i = 0; i < inner; ++i) outr[i] = xo[static_cast<int64_t>(ir[i]) * inner + i];
    }
  });
}

void scatterAdd(float* out, const int32_t* idx, const float* src, int64_t outer, int64_t len, int64_t inner,
                int64_t idxLen) {
  // Each task owns one outer slice and a block of columns: writes land only in its own columns.
  const int64_t colBlock = inner < 256 ? inner : 256;
  if (colBlock == 0 || outer == 0) return;
  const int64_t blocks = (inner + colBlock - 1) / colBlock;
  auto task = [&](int64_t t) {
    const int64_t o = t / blocks, c0 = (t % blocks) * colBlock;
    const int64_t c1 = c0 + colBlock < inner ? c0 + colBlock : inner;
    float* oo = out + o * len * inner;
    for (int64_t l = 0; l < idxLen; ++l) {
      const int64_t r = (o * idxLen + l) * inner;
      for (int64_t i = c0; i < c1; ++i) oo[static_cast<int64_t>(idx[r + i]) * inner + i] += src[r + i];
    }
  };
  const int64_t tasks = outer * blocks;
  if (outer * idxLen * inner < kSerialElems) {
    for (int64_t t = 0; t < tasks; ++t) task(t);
  } else {
    parallelTasks(tasks, [&](int64_t t, int) { task(t); });
  }
}

void indexSelect(const float* table, const int32_t* idx, float* out, int64_t n, int64_t cols) {
  const int64_t grain = cols > 0 && kSerialElems / cols > 0 ? kSerialElems / cols : 1;
  parallelFor(n, grain, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r)
      std::memcpy(out + r * cols, table + static_cast<int64_t>(idx[r]) * cols, cols * sizeof(float));
  });
}

void indexAdd(float* dTable, const int32_t* idx, const float* g, int64_t n, int64_t cols) {
  // Rows may repeat an index, so threads split the columns, not the rows; each thread keeps the
  // serial row order (deterministic sums).
  if (n * cols < kSerialElems || cols < 64) {
    for (int64_t r = 0; r < n; ++r) {
      float* d = dTable + static_cast<int64_t>(idx[r]) * cols;
      const float* gr = g + r * cols;
      for (int64_t j = 0; j < cols; ++j) d[j] += gr[j];
    }
    return;
  }
  parallelFor(cols, 16, [&](int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < n; ++r) {
      float* d = dTable + static_cast<int64_t>(idx[r]) * cols;
      const float* gr = g + r * cols;
      for (int64_t j = c0; j < c1; ++j) d[j] += gr[j];
    }
  });
}

}  // namespace tf
