// Column sums of a bfloat16 matrix into float32 (the bias gradient of a linear layer whose output
// gradient is bf16, as PyTorch's autocast gives it): the order of castToLowpColumnSums (bf16-gemm.cc),
// through the same columnSumsInBlocks (column-blocks.h), whatever the threads.
#include <cstdint>
#include <cstring>

#include "column-blocks.h"
#include "common.h"
#include "kernels.h"

namespace tf {
namespace {
inline float f32FromBits16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

void columnSumsBf16(const uint16_t* x, float* sums, int64_t rows, int64_t cols) {
  columnSumsInBlocks(rows, cols, sums, [&](int64_t r0, int64_t r1, float* acc) {
    for (int64_t j = 0; j < cols; ++j) acc[j] = 0.0f;
    for (int64_t i = r0; i < r1; ++i) {
      const uint16_t* xi = x + i * cols;
      for (int64_t j = 0; j < cols; ++j) acc[j] += f32FromBits16(xi[j]);
    }
  });
}

}  // namespace tf
