// Batched GEMM on OpenBLAS's cblas_sgemm (row-major); products of a few rows with a transposed B
// (a Linear on a decoding step's tokens) on skinnyGemmTransB instead. OpenBLAS runs single-threaded;
// products are split across our own pool instead (by columns or rows of C, or by batch), so that one set of
// threads does all the work: no OpenBLAS threads spinning between calls while our kernels run, and
// the same behaviour whichever libopenblas.so.0 (pthread or OpenMP build) the process loads.
// TRAINFORMER_BLAS_THREADS=n (n > 1) hands threading back to OpenBLAS instead.
#include <cblas.h>

#include <cstdlib>

#include "common.h"
#include "kernels.h"
#include "skinny-gemm.h"

namespace tf {
namespace {

inline void gemm(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, bool transA, bool transB,
                 float alpha, float beta, int64_t lda, int64_t ldb, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

// Products below this many multiply-adds run on the calling thread (a hand-off costs ~5-20 µs).
constexpr double kSerialMnk = 48.0 * 48.0 * 48.0;

// A·Bᵀ with at most kSkinnyMaxRows rows and a B of at least this many floats takes skinnyGemmTransB
// (sgemm re-packs B on every call: 3x slower for one row against an 8000×256 B, 4-7x for two to
// four rows against 768×256; below 64 KiB of B sgemm is as fast or faster).
constexpr int64_t kSkinnyMinB = int64_t{1} << 14;

bool blasThreads() {
  static const bool own = [] {
    const char* env = std::getenv("TRAINFORMER_BLAS_THREADS");
    return env != nullptr && std::atoi(env) > 1;
  }();
  return own;
}

// One product C[m×n] = alpha·op(A)·op(B) + beta·C, split across the pool into column blocks (or
// row blocks when C is tall), each a cblas_sgemm on a sub-matrix of the same arrays.
void gemmSplit(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, bool transA, bool transB,
               float alpha, float beta) {
  const int64_t lda = transA ? m : k, ldb = transB ? k : n, ldc = n;
  if (!transA && transB && m <= kSkinnyMaxRows && n * k >= kSkinnyMinB) {
    skinnyGemmTransB(a, b, c, m, n, k, alpha, beta);
    return;
  }
  const int threads = numThreads();
  const double mnk = static_cast<double>(m) * n * k;
  if (threads <= 1 || mnk < kSerialMnk * threads || blasThreads()) {
    gemm(a, b, c, m, n, k, transA, transB, alpha, beta, lda, ldb, ldc);
    return;
  }
  // Split the larger side into one block per thread (multiples of 16 columns). Two blocks per
  // thread measured slower on `small` (each block re-packs the other operand).
  const bool byCols = n >= m;
  const int64_t side = byCols ? n : m;
  int64_t parts = threads;
  int64_t block = (side + parts - 1) / parts;
  if (byCols) block = (block + 15) / 16 * 16;
  parts = (side + block - 1) / block;
  parallelTasks(parts, [&](int64_t p, int) {
    const int64_t lo = p * block, hi = lo + block < side ? lo + block : side;
    if (byCols) {
      // Columns lo..hi of B (rows lo..hi when B is transposed) and of C.
      const float* bp = transB ? b + lo * k : b + lo;
      gemm(a, bp, c + lo, m, hi - lo, k, transA, transB, alpha, beta, lda, ldb, ldc);
    } else {
      // Rows lo..hi of A (columns lo..hi when A is transposed) and of C.
      const float* ap = transA ? a + lo : a + lo * k;
      gemm(ap, b, c + lo * n, hi - lo, n, k, transA, transB, alpha, beta, lda, ldb, ldc);
    }
  });
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
    gemmSplit(a, b, c, batch * m, n, k, false, transB, alpha, beta);
    return;
  }
  const double mnk = static_cast<double>(m) * n * k;
  const int threads = numThreads();
  if (batch >= threads && threads > 1 && !blasThreads() && mnk * batch >= kSerialMnk * threads) {
    // Many products: one per task, each on one thread.
    parallelTasks(batch, [&](int64_t i, int) {
      gemm(a + i * aBatchStride, b + i * bBatchStride, c + i * cSize, m, n, k, transA, transB, alpha, beta,
           transA ? m : k, transB ? k : n, n);
    });
    return;
  }
  for (int64_t i = 0; i < batch; ++i)
    gemmSplit(a + i * aBatchStride, b + i * bBatchStride, c + i * cSize, m, n, k, transA, transB, alpha, beta);
}

/** OpenBLAS's own thread count for the process: 1 unless TRAINFORMER_BLAS_THREADS asks for more. */
int defaultBlasThreads() {
  const char* env = std::getenv("TRAINFORMER_BLAS_THREADS");
  const int n = env != nullptr ? std::atoi(env) : 1;
  return n >= 1 ? n : 1;
}

}  // namespace tf
