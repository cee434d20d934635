// GELU on bfloat16 tensors (bf16 autocast's MLP: PyTorch's CPU autocast runs GELU on the bf16 output
// of the linear layer, float arithmetic inside, the result rounded to bf16). A bf16 input takes one of
// 65536 values, so the kernels read tables built once per variant (erf / tanh) from float64 values of
// the C library's erfc and exp: the function rounded to float32 and then to bf16 (128 KiB), and the
// derivative rounded to float32 (256 KiB, L2-resident). The same tables as the js reference
// (src/backend/js/gelu-bf16.ts), bit for bit on all 65536 inputs (test/backend/gelu-bf16.test.ts).
// Forward: one 16-bit load per element; backward: dx = bf16(g · GELU'(x)) with a float32 product.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common.h"
#include "kernels.h"

namespace tf {
namespace {

constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kKappa = 0.044715;

// bf16 bits of a float32 value, round to nearest even; NaN → the canonical 0x7fc0 (branch-free so
// that GCC vectorises the backward loop).
inline uint16_t bf16Round(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  const uint16_t r = static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  return v != v ? static_cast<uint16_t>(0x7fc0) : r;
}

inline float f32FromBits16(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// GELU(x) and GELU'(x) in float64 (the same formulas as the js reference; the tanh form written with
// sigmoids so that the tails do not cancel).
void geluAndDerivative(double x, bool tanhForm, double* y, double* d) {
  if (x != x) { *y = x; *d = x; return; }
  if (!tanhForm) {
    const double c = 0.5 * std::erfc(std::fabs(x) * 0.70710678118654752440);
    const double cdf = x < 0 ? c : 1.0 - c;
    const double pdf = std::exp(-0.5 * x * x) * kInvSqrt2Pi;
    *y = x * cdf;
    *d = pdf == 0.0 ? cdf : cdf + x * pdf;
    return;
  }
  const double u = kSqrt2OverPi * (x + kKappa * x * x * x);
  const double s = 1.0 / (1.0 + std::exp(-2.0 * u)), sc = 1.0 / (1.0 + std::exp(2.0 * u));
  const double ss = s * sc;
  *y = x * s;
  *d = ss == 0.0 ? s : s + x * 2.0 * ss * kSqrt2OverPi * (1.0 + 3.0 * kKappa * x * x);
}

struct Tables {
  uint16_t fwd[65536];
  float deriv[65536];
  explicit Tables(bool tanhForm) {
    for (uint32_t h = 0; h < 65536; ++h) {
      double y, d;
      geluAndDerivative(static_cast<double>(f32FromBits16(static_cast<uint16_t>(h))), tanhForm, &y, &d);
      fwd[h] = bf16Round(static_cast<float>(y));
      deriv[h] = static_cast<float>(d);
    }
  }
};

// Built on first use (C++11 static initialisation is thread-safe).
const Tables& tables(bool tanhForm) {
  static const Tables* erfT = new Tables(false);
  static const Tables* tanhT = new Tables(true);
  return tanhForm ? *tanhT : *erfT;
}

}  // namespace

void geluBf16(bool tanh, const uint16_t* x, uint16_t* out, int64_t n) {
  const uint16_t* fwd = tables(tanh).fwd;
  parallelFor(n, kSerialElems, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = fwd[x[i]];
  });
}

void geluBf16Backward(bool tanh, const uint16_t* x, const uint16_t* g, uint16_t* dx, int64_t n) {
  const float* deriv = tables(tanh).deriv;
  parallelFor(n, kSerialElems, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) dx[i] = bf16Round(f32FromBits16(g[i]) * deriv[x[i]]);
  });
}

}  // namespace tf
