// The AdamW update in place (PyTorch 1.13 `_single_tensor_adamw` order of operations).
#include "common.h"
#include "kernels.h"

namespace tf {

void adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr, double b1, double b2, double eps,
           double wd, double bc1, double bc2) {
  const float decay = static_cast<float>(1.0 - lr * wd);
  const float stepSize = static_cast<float>(lr / bc1);
  const float invSqrtBc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
  const float c1 = static_cast<float>(1.0 - b1), c2 = static_cast<float>(1.0 - b2);
  const float feps = static_cast<float>(eps);
  const bool decays = wd != 0.0;
  parallelFor(n, kSerialElems / 2, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float gi = g[i];
      const float mi = fb1 * m[i] + c1 * gi;
      const float vi = fb2 * v[i] + c2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      const float pi = decays ? p[i] * decay : p[i];
      const float denom = std::sqrt(vi) * invSqrtBc2 + feps;
      p[i] = pi - stepSize * (mi / denom);
    }
  });
}

}  // namespace tf
