// Products with a few rows against a transposed weight, C[m×n] = alpha·A[m×k]·B[n×k]ᵀ + beta·C with
// m <= kSkinnyMaxRows (a Linear on one to a few tokens: a decoding step with the key/value cache).
// cblas_sgemm packs B on every call, which costs more than the product when A has one row; this
// reads each row of B once, for all rows of A. Row-major, leading dimensions k (A, B) and n (C).
#pragma once
#include <cstdint>

namespace tf {

/** Rows of A up to which matmul() takes skinnyGemmTransB instead of cblas_sgemm. */
constexpr int64_t kSkinnyMaxRows = 4;

/**
 * C = alpha·A·Bᵀ + beta·C (beta == 0 ignores C's old contents). A [m×k], B [n×k], C [m×n], row-major,
 * contiguous, any alignment; 1 <= m <= kSkinnyMaxRows, k >= 1. float32 sums in 16 lanes; splits the
 * columns of C across the pool when B is large.
 */
void skinnyGemmTransB(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, float alpha,
                      float beta);

}  // namespace tf
