// Column sums of a bfloat16 matrix into float32 (the bias gradient of a linear layer whose output
// gradient is bf16, as PyTorch's autocast gives it): the order of castToLowpColumnSums (bf16-gemm.cc),
// blocks of 256 rows summed in row order, then the block sums in block order, whatever the threads.
#include <cstdint>
#include <cstring>
#include <vector>

#include "common.h"
#include "kernels.h"

namespace tf {
namespace {
constexpr int64_t kSumRows = 256;

inline float f32FromBits16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

void columnSumsBf16(const uint16_t* x, float* sums, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  const int64_t blocks = (rows + kSumRows - 1) / kSumRows;
  std::vector<float> partial(static_cast<size_t>(blocks * cols));
  const int64_t grain = (kSerialElems + kSumRows * cols - 1) / (kSumRows * cols);
  parallelFor(blocks, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const int64_t r0 = b * kSumRows, r1 = r0 + kSumRows < rows ? r0 + kSumRows : rows;
      float* acc = partial.data() + b * cols;
      for (int64_t j = 0; j < cols; ++j) acc[j] = 0.0f;
      for (int64_t i = r0; i < r1; ++i) {
        const uint16_t* xi = x + i * cols;
        for (int64_t j = 0; j < cols; ++j) acc[j] += f32FromBits16(xi[j]);
      }
    }
  });
  for (int64_t j = 0; j < cols; ++j) sums[j] = partial[static_cast<size_t>(j)];
  for (int64_t b = 1; b < blocks; ++b)
    for (int64_t j = 0; j < cols; ++j) sums[j] += partial[static_cast<size_t>(b * cols + j)];
}

}  // namespace tf
