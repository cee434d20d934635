// A small register-blocked GEMM for the attention tiles: C[M×N] (+)= A[M×K] · B[K×N], row-major,
// with N a multiple of 16 and B, C 64-byte aligned with leading dimensions that are multiples of
// 16. Written with GCC vector extensions, so it compiles to AVX-512, AVX2 or SSE as the target
// allows; the 4×64 block keeps 16 accumulators in registers (AVX-512 has 32).
#pragma once
#include <cstdint>

#include "common.h"

namespace tf {

template <int MR, int NV>
inline void tileMicro(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                      bool accumulate) {
  v16f c[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v)
      c[r][v] = accumulate ? *reinterpret_cast<const v16f*>(C + r * ldc + 16 * v) : v16f{};
  for (int64_t k = 0; k < K; ++k) {
    v16f b[NV];
    for (int v = 0; v < NV; ++v) b[v] = *reinterpret_cast<const v16f*>(B + k * ldb + 16 * v);
    for (int r = 0; r < MR; ++r) {
      const v16f a = v16f{} + A[r * lda + k];
      for (int v = 0; v < NV; ++v) c[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) *reinterpret_cast<v16f*>(C + r * ldc + 16 * v) = c[r][v];
}

template <int MR>
inline void tileRows(int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                     int64_t ldc, bool accumulate) {
  int64_t j = 0;
  for (; j + 64 <= N; j += 64) tileMicro<MR, 4>(K, A, lda, B + j, ldb, C + j, ldc, accumulate);
  switch ((N - j) / 16) {
    case 3: tileMicro<MR, 3>(K, A, lda, B + j, ldb, C + j, ldc, accumulate); break;
    case 2: tileMicro<MR, 2>(K, A, lda, B + j, ldb, C + j, ldc, accumulate); break;
    case 1: tileMicro<MR, 1>(K, A, lda, B + j, ldb, C + j, ldc, accumulate); break;
    default: break;
  }
}

/** C[M×N] = A·B, or C += A·B when accumulate; N % 16 == 0, B and C aligned as described above. */
inline void tileGemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                     int64_t ldc, bool accumulate) {
  int64_t i = 0;
  for (; i + 4 <= M; i += 4) tileRows<4>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
  switch (M - i) {
    case 3: tileRows<3>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate); break;
    case 2: tileRows<2>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate); break;
    case 1: tileRows<1>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate); break;
    default: break;
  }
}

}  // namespace tf
