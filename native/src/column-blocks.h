// Column sums in a fixed order, whatever the thread count: blocks of kSumRows rows, each block's
// sums in row order (by the caller's blockSums), then the blocks' sums added in block order. Shared by
// castToLowpColumnSums and columnSumsBf16, which must agree on it (the bias gradient is the same
// whether the output gradient arrives as float32 or bf16).
#pragma once
#include <cstdint>
#include <vector>

#include "common.h"

namespace tf {

constexpr int64_t kSumRows = 256;

/** sums[j] = Σ_i x[i, j]; blockSums(r0, r1, acc) writes the sums of rows [r0, r1) into acc[0, cols). */
template <typename BlockSums>
void columnSumsInBlocks(int64_t rows, int64_t cols, float* sums, BlockSums blockSums) {
  if (rows <= 0 || cols <= 0) return;
  const int64_t blocks = (rows + kSumRows - 1) / kSumRows;
  std::vector<float> partial(static_cast<size_t>(blocks * cols));
  const int64_t grain = (kSerialElems + kSumRows * cols - 1) / (kSumRows * cols);
  parallelFor(blocks, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const int64_t r0 = b * kSumRows, r1 = r0 + kSumRows < rows ? r0 + kSumRows : rows;
      blockSums(r0, r1, partial.data() + b * cols);
    }
  });
  for (int64_t j = 0; j < cols; ++j) sums[j] = partial[static_cast<size_t>(j)];
  for (int64_t b = 1; b < blocks; ++b)
    for (int64_t j = 0; j < cols; ++j) sums[j] += partial[static_cast<size_t>(b * cols + j)];
}

}  // namespace tf
