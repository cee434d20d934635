// Row helpers shared by the row kernels (norm.cc: softmax, layer norm; cross_entropy.cc): grain,
// max with NaN flag, exp-shift-sum and float64-accumulated sums over float32 rows.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "common.h"

namespace tf {

inline int64_t rowGrain(int64_t cols) { return cols > 0 && kSerialElems / cols > 0 ? kSerialElems / cols : 1; }

// Max of a row; NaN if any entry is NaN. Written with vector types: GCC does not vectorise this
// max-and-NaN-flag reduction from scalar code.
inline float rowMax(const float* x, int64_t n) {
  typedef int32_t v16i __attribute__((vector_size(64)));
  const float kNegInf = -std::numeric_limits<float>::infinity();
  v16f acc = v16f{} + kNegInf;
  v16i nan = v16i{};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    v16f v;
    std::memcpy(&v, x + i, sizeof(v));
    nan |= v != v;
    acc = v > acc ? v : acc;
  }
  float m = kNegInf;
  int anyNan = 0;
  for (int j = 0; j < 16; ++j) {
    m = acc[j] > m ? acc[j] : m;
    anyNan |= nan[j];
  }
  for (; i < n; ++i) {
    const float v = x[i];
    anyNan |= v != v;
    m = v > m ? v : m;
  }
  return anyNan ? std::numeric_limits<float>::quiet_NaN() : m;
}

// out[j] = exp(x[j] - shift); returns the sum. 16 float lanes, flushed into float64 every 256
// elements, so that the loop vectorises and the sum keeps ~float64 accuracy over long rows.
template <bool kStore>
inline double expShiftSum(const float* x, float shift, float* out, int64_t n) {
  double total = 0;
  int64_t i = 0;
  while (i + 16 <= n) {
    float acc[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const int64_t end = i + 256 <= n ? i + 256 : n - (n - i) % 16;
    for (; i < end; i += 16)
      for (int j = 0; j < 16; ++j) {
        const float e = fastExp(x[i + j] - shift);
        if (kStore) out[i + j] = e;
        acc[j] += e;
      }
    double s = 0;
    for (int j = 0; j < 16; ++j) s += acc[j];
    total += s;
  }
  for (; i < n; ++i) {
    const float e = fastExp(x[i] - shift);
    if (kStore) out[i] = e;
    total += e;
  }
  return total;
}

// Float64 sums of float32 rows in kLanes independent lanes: 8 lanes (one AVX-512 register) made
// one chain of dependent adds, 4 cycles each, and ran at ~2.5 elements/ns on L1-resident data;
// 32 lanes (four chains) ran at ~11.7 (sum of squares, one thread). The lanes are added pairwise.
constexpr int kLanes = 32;

inline double addLanes(double* acc) {
  for (int w = kLanes / 2; w >= 1; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

inline double dot(const float* a, const float* b, int64_t n) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(a[i + j]) * b[i + j];
  double s = 0;
  for (; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s + addLanes(acc);
}

inline double sum(const float* a, int64_t n) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += a[i + j];
  double s = 0;
  for (; i < n; ++i) s += a[i];
  return s + addLanes(acc);
}

/** Σ (a[i] - mu)² in float64 (a row's variance numerator around its float64 mean). */
inline double centredSquares(const float* a, double mu, int64_t n) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double d = a[i + j] - mu;
      acc[j] += d * d;
    }
  double s = 0;
  for (; i < n; ++i) {
    const double d = a[i] - mu;
    s += d * d;
  }
  return s + addLanes(acc);
}

}  // namespace tf
