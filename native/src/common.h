// Shared helpers of the native kernels: the thread pool API and vectorisable math.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>

namespace tf {

/**
 * 16 floats as one GCC vector: one AVX-512 register, or split by the compiler into AVX2 / SSE / NEON
 * registers on targets with narrower vectors (generic code, no intrinsics).
 */
typedef float v16f __attribute__((vector_size(64)));

// ---- thread pool (pool.cc) ----------------------------------------------------------------------
/** Threads the pool uses for kernels (the calling thread included); >= 1. */
int numThreads();
/** Resizes the pool (>= 1). Not safe while a kernel runs. */
void setNumThreads(int n);
/**
 * Splits [0, n) into contiguous ranges of at least `grain` items (at most 4 per thread, so that a
 * thread that starts late still gets a share) and runs fn(begin, end) on each, threads claiming
 * ranges one at a time, the calling thread included. Runs inline when one range suffices, or when
 * the pool is busy (a kernel called from a second JS thread), so results never depend on threads.
 */
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
/**
 * Runs fn(task, worker) for task in [0, tasks), handing tasks out one by one (for uneven work such
 * as causal attention); worker < numThreads() identifies the thread (for per-thread scratch).
 */
void parallelTasks(int64_t tasks, const std::function<void(int64_t, int)>& fn);

// Elements below which a memory-bound kernel stays on one thread (hand-off costs ~ a few µs).
constexpr int64_t kSerialElems = 1 << 15;

// ---- math ---------------------------------------------------------------------------------------
inline float bitsToFloat(int32_t b) { float f; std::memcpy(&f, &b, 4); return f; }

/**
 * exp(hi + lo) in float32 for a two-part argument (|lo| small next to ulp(hi) or not; lo joins the
 * reduced argument, so its bits are not lost to rounding hi + lo), written so that GCC vectorises it:
 * Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2 (about), then a degree-7 Taylor polynomial
 * (truncation error < 6e-9 relative) and a scale by 2^n split in two factors so that results near
 * the overflow and denormal ends stay right. exp(-inf) = 0, exp(+inf) = inf, NaN propagates.
 */
inline float fastExp2(float hi, float lo) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693145751953125f;      // ln2 split so that n*kLn2Hi is exact
  const float kLn2Lo = 1.428606765330187045e-6f;
  const float x = hi + lo;
  float xc = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  float nf = std::floor(xc * kLog2e + 0.5f);
  float r = hi - nf * kLn2Hi;
  r = r + lo;
  r = r - nf * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t n = static_cast<int32_t>(nf);
  int32_t n1 = n >> 1;
  int32_t n2 = n - n1;
  float s1 = bitsToFloat((n1 + 127) << 23);
  float s2 = bitsToFloat((n2 + 127) << 23);
  float y = p * s1 * s2;
  y = x < -104.0f ? 0.0f : y;
  y = x > 88.8f ? std::numeric_limits<float>::infinity() : y;
  return x != x ? x : y;
}

/** exp(x) in float32, vectorisable (see fastExp2); within ~2 ulp of the correctly rounded value. */
inline float fastExp(float x) { return fastExp2(x, 0.0f); }

/** ax² as an exact float pair hi + lo (hi = the rounded square); lo is 0 once hi is huge (≥ 1e30). */
inline void exactSquare(float ax, float& hi, float& lo) {
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  hi = ax * ax;
  lo = hi < 1e30f ? std::fma(ax, ax, -hi) : 0.0f;  // fma(inf, inf, -inf) is NaN
#else
  // Without hardware fma (a slow libm call), the float product is exact in double instead.
  const double sq = static_cast<double>(ax) * ax;
  hi = static_cast<float>(sq);
  lo = hi < 1e30f ? static_cast<float>(sq - hi) : 0.0f;
#endif
}

/**
 * Standard normal CDF Φ(x) = erfc(-x/√2)/2, accurate in relative terms on both tails. erfc uses the
 * Chebyshev fit of Numerical Recipes 2nd ed. §6.2 ("erfcc", fractional error < 1.2e-7):
 * erfc(z) = t·exp(-z² + P(t)), t = 1/(1 + z/2). The -z² = -x²/2 is carried as an exact hi + lo
 * pair (fma), since rounding it alone would cost ~x²·6e-8 of relative accuracy in the tail.
 */
inline float normalCdf(float x) {
  const float kInvSqrt2 = 0.70710678118654752f;
  const float ax = std::fabs(x);
  const float z = ax * kInvSqrt2;
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  float sqHi, sqLo;
  exactSquare(ax, sqHi, sqLo);
  const float e = t * fastExp2(-0.5f * sqHi, p - 0.5f * sqLo);  // erfc(|x|/√2)
  const float c = x < 0.0f ? 0.5f * e : 1.0f - 0.5f * e;
  return x != x ? x : c;
}

}  // namespace tf
