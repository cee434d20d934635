// A small register-blocked GEMM for the attention tiles: C[M×N] (+)= A[M×K] · B[K×N], row-major,
// with N a multiple of 16 and B, C 64-byte aligned with leading dimensions that are multiples of
// 16. Written with GCC vector extensions at the target's native width, and a register block sized
// so that the accumulators stay in registers: 4 rows × 64 columns with AVX-512 (16 of 32 zmm),
// 4 × 16 with AVX (8 of 16 ymm), 4 × 8 with 128-bit vectors (SSE, or NEON on Arm: 8 of 16/32).
#pragma once
#include <cstdint>

#include "common.h"

namespace tf {

#if defined(__AVX512F__)
typedef float vecf __attribute__((vector_size(64)));
constexpr int kVecLanes = 16, kTileNv = 4;
#elif defined(__AVX__)
typedef float vecf __attribute__((vector_size(32)));
constexpr int kVecLanes = 8, kTileNv = 2;
#else
typedef float vecf __attribute__((vector_size(16)));
constexpr int kVecLanes = 4, kTileNv = 2;
#endif
constexpr int kTileMr = 4;

template <int MR, int NV>
inline void tileMicro(int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
                      bool accumulate) {
  vecf c[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v)
      c[r][v] = accumulate ? *reinterpret_cast<const vecf*>(C + r * ldc + kVecLanes * v) : vecf{};
  for (int64_t k = 0; k < K; ++k) {
    vecf b[NV];
    for (int v = 0; v < NV; ++v) b[v] = *reinterpret_cast<const vecf*>(B + k * ldb + kVecLanes * v);
    for (int r = 0; r < MR; ++r) {
      const vecf a = vecf{} + A[r * lda + k];
      for (int v = 0; v < NV; ++v) c[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) *reinterpret_cast<vecf*>(C + r * ldc + kVecLanes * v) = c[r][v];
}

template <int MR>
inline void tileRows(int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                     int64_t ldc, bool accumulate) {
  constexpr int64_t kStep = kVecLanes * kTileNv;
  int64_t j = 0;
  for (; j + kStep <= N; j += kStep) tileMicro<MR, kTileNv>(K, A, lda, B + j, ldb, C + j, ldc, accumulate);
  for (; j < N; j += kVecLanes) tileMicro<MR, 1>(K, A, lda, B + j, ldb, C + j, ldc, accumulate);
}

/** C[M×N] = A·B, or C += A·B when accumulate; N % 16 == 0, B and C aligned as described above. */
inline void tileGemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                     int64_t ldc, bool accumulate) {
  int64_t i = 0;
  for (; i + kTileMr <= M; i += kTileMr) tileRows<kTileMr>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate);
  switch (M - i) {
    case 3: tileRows<3>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate); break;
    case 2: tileRows<2>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate); break;
    case 1: tileRows<1>(N, K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, accumulate); break;
    default: break;
  }
}

}  // namespace tf
