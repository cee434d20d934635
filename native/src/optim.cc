// The AdamW update in place (PyTorch 1.13 `_single_tensor_adamw` order of operations), on the gradient
// times gradScale (gradient clipping's coefficient, applied as the update reads g instead of in a pass
// of its own).
#include "common.h"
#include "kernels.h"

namespace tf {
namespace {

struct AdamwConsts {
  float decay, stepSize, invSqrtBc2, b1, b2, c1, c2, eps, gScale;
};

// __restrict: the four arrays are distinct, which lets GCC vectorise without run-time alias checks
// (it gives up on them: too many pairs).
template <bool kDecay>
void adamwRange(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t b,
                int64_t e, const AdamwConsts k) {
  for (int64_t i = b; i < e; ++i) {
    const float gi = g[i] * k.gScale;  // x·1 = x: unscaled gradients are read as they are
    const float mi = k.b1 * m[i] + k.c1 * gi;
    const float vi = k.b2 * v[i] + k.c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float pi = kDecay ? p[i] * k.decay : p[i];
    const float denom = std::sqrt(vi) * k.invSqrtBc2 + k.eps;
    p[i] = pi - k.stepSize * (mi / denom);
  }
}

}  // namespace

void adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr, double b1, double b2, double eps,
           double wd, double bc1, double bc2, float gradScale) {
  const AdamwConsts k{static_cast<float>(1.0 - lr * wd), static_cast<float>(lr / bc1),
                      static_cast<float>(1.0 / std::sqrt(bc2)), static_cast<float>(b1), static_cast<float>(b2),
                      static_cast<float>(1.0 - b1), static_cast<float>(1.0 - b2), static_cast<float>(eps), gradScale};
  const bool decays = wd != 0.0;
  parallelFor(n, kSerialElems / 2, [&](int64_t b, int64_t e) {
    if (decays) adamwRange<true>(p, g, m, v, b, e, k);
    else adamwRange<false>(p, g, m, v, b, e, k);
  });
}

}  // namespace tf
