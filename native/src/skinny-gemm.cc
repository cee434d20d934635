// C = alpha·A·Bᵀ + beta·C for A with at most kSkinnyMaxRows rows (see skinny-gemm.h). Each block of
// kCols rows of B is read once, 16 floats at a time, against every row of A: MR × kCols accumulators
// of 16 lanes (16 of the 32 AVX-512 registers at MR = 4), summed across lanes at the end of the row.
// Memory-bound by design: B streams through once, A stays in L1.
#include "skinny-gemm.h"

#include <cstring>

#include "common.h"

namespace tf {
namespace {

constexpr int kLanes = 16, kCols = 4;

// Weight bytes from which the columns are split across the pool (smaller products run on the caller:
// a hand-off costs ~5-20 µs, reading 1 MiB from L2 about as much).
constexpr int64_t kParallelFloats = int64_t{1} << 18;

inline v16f load(const float* p) {
  v16f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The last k % 16 floats, zero-padded.
inline v16f loadTail(const float* p, int64_t n) {
  v16f v = {};
  std::memcpy(&v, p, static_cast<size_t>(n) * sizeof(float));
  return v;
}

typedef float v8f __attribute__((vector_size(32)));
typedef float v4f __attribute__((vector_size(16)));

// Sum of the 16 lanes as a tree (halves added), not a chain of 15 dependent adds.
inline float laneSum(v16f v) {
  const v8f h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const v4f q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
  return (q[0] + q[2]) + (q[1] + q[3]);
}

// Columns j0 .. j0+NB-1 of C for MR rows of A.
template <int MR, int NB>
inline void block(const float* a, const float* b, float* c, int64_t j0, int64_t n, int64_t k, float alpha, float beta) {
  v16f acc[MR][NB];
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NB; ++q) acc[r][q] = v16f{};
  const int64_t kv = k - k % kLanes;
  for (int64_t p = 0; p < kv; p += kLanes) {
    v16f bv[NB];
    for (int q = 0; q < NB; ++q) bv[q] = load(b + (j0 + q) * k + p);
    for (int r = 0; r < MR; ++r) {
      const v16f av = load(a + r * k + p);
      for (int q = 0; q < NB; ++q) acc[r][q] += av * bv[q];
    }
  }
  if (kv < k) {
    v16f bv[NB];
    for (int q = 0; q < NB; ++q) bv[q] = loadTail(b + (j0 + q) * k + kv, k - kv);
    for (int r = 0; r < MR; ++r) {
      const v16f av = loadTail(a + r * k + kv, k - kv);
      for (int q = 0; q < NB; ++q) acc[r][q] += av * bv[q];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int q = 0; q < NB; ++q) {
      float& out = c[r * n + j0 + q];
      const float dot = alpha * laneSum(acc[r][q]);
      out = beta == 0.0f ? dot : dot + beta * out;
    }
}

template <int MR>
void columns(const float* a, const float* b, float* c, int64_t lo, int64_t hi, int64_t n, int64_t k, float alpha,
             float beta) {
  int64_t j = lo;
  for (; j + kCols <= hi; j += kCols) block<MR, kCols>(a, b, c, j, n, k, alpha, beta);
  for (; j < hi; ++j) block<MR, 1>(a, b, c, j, n, k, alpha, beta);
}

void columnsAnyRows(const float* a, const float* b, float* c, int64_t m, int64_t lo, int64_t hi, int64_t n, int64_t k,
                    float alpha, float beta) {
  switch (m) {
    case 1: columns<1>(a, b, c, lo, hi, n, k, alpha, beta); break;
    case 2: columns<2>(a, b, c, lo, hi, n, k, alpha, beta); break;
    case 3: columns<3>(a, b, c, lo, hi, n, k, alpha, beta); break;
    default: columns<4>(a, b, c, lo, hi, n, k, alpha, beta); break;
  }
}

}  // namespace

void skinnyGemmTransB(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, float alpha,
                      float beta) {
  static_assert(kSkinnyMaxRows == 4, "columnsAnyRows covers 1 to 4 rows");
  const int threads = numThreads();
  if (threads <= 1 || n * k < kParallelFloats) {
    columnsAnyRows(a, b, c, m, 0, n, n, k, alpha, beta);
    return;
  }
  // One block of columns (a multiple of kCols) per thread.
  const int64_t block = ((n + threads - 1) / threads + kCols - 1) / kCols * kCols;
  const int64_t parts = (n + block - 1) / block;
  parallelTasks(parts, [&](int64_t p, int) {
    const int64_t lo = p * block, hi = lo + block < n ? lo + block : n;
    columnsAnyRows(a, b, c, m, lo, hi, n, k, alpha, beta);
  });
}

}  // namespace tf
