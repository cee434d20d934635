// Batched GEMM on OpenBLAS's cblas_sgemm (row-major). Products share OpenBLAS's threads; batches of
// small products (which OpenBLAS runs on one thread anyway) go to our pool instead.
#include <cblas.h>

#include "common.h"
#include "kernels.h"

namespace tf {
namespace {

// OpenBLAS runs a GEMM on one thread when m·n·k is at most 65536·4 (interface/gemm.c,
// SMP_THRESHOLD_MIN · GEMM_MULTITHREAD_THRESHOLD), so such products can run side by side.
constexpr double kSingleThreadMnk = 65536.0 * 4.0;

inline void gemm(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, bool transA, bool transB,
                 float alpha, float beta) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(transA ? m : k), b, static_cast<blasint>(transB ? k : n), beta, c,
              static_cast<blasint>(n));
}

}  // namespace

void matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n, int64_t k, bool transA,
            bool transB, int64_t aBatchStride, int64_t bBatchStride, float alpha, float beta) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  const int64_t cSize = m * n;
  if (k == 0) {
    // Empty inner dimension: C = beta·C, with beta = 0 ignoring C's old contents.
    for (int64_t i = 0; i < batch * cSize; ++i) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
    return;
  }
  if (batch > 1 && bBatchStride == 0 && !transA && aBatchStride == m * k) {
    // A shared right operand and stacked row-major lefts are one tall product (Linear on [B, T, C]).
    gemm(a, b, c, batch * m, n, k, false, transB, alpha, beta);
    return;
  }
  const double mnk = static_cast<double>(m) * n * k;
  auto one = [&](int64_t i) {
    gemm(a + i * aBatchStride, b + i * bBatchStride, c + i * cSize, m, n, k, transA, transB, alpha, beta);
  };
  if (batch > 1 && mnk <= kSingleThreadMnk && numThreads() > 1 && mnk * batch >= 32768.0) {
    parallelTasks(batch, [&](int64_t i, int) { one(i); });
  } else {
    for (int64_t i = 0; i < batch; ++i) one(i);
  }
}

}  // namespace tf
