// The fused log-softmax + NLL (cross-entropy) kernels: per row, the log-sum-exp, the weighted NLL
// and the label-smoothing term; backward writes softmax − one-hot (plus the smoothing and lse
// terms) in one pass. Semantics (NaN / inf rows, ignored rows) are those of src/backend/js/cross-entropy.ts.
#include <cmath>
#include <limits>

#include "common.h"
#include "kernels.h"
#include "rows.h"

namespace tf {

void crossEntropy(const float* x, const int32_t* target, const float* weight, float* loss, float* lse, float* wy,
                  float* rowMaxOut, float* logSum, int64_t rows, int64_t C, int32_t ignoreIndex, double eps) {
  parallelFor(rows, rowGrain(C), [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const float* xr = x + r * C;
      const float m = rowMax(xr, C);
      double L = std::numeric_limits<double>::quiet_NaN();
      rowMaxOut[r] = m;
      if (m - m == 0.0f) {
        const double ls = std::log(expShiftSum<false>(xr, m, nullptr, C));
        logSum[r] = static_cast<float>(ls);
        L = static_cast<double>(m) + ls;
        lse[r] = static_cast<float>(L);
      } else {
        logSum[r] = std::numeric_limits<float>::quiet_NaN();
        lse[r] = m;
      }
      const int32_t y = target[r];
      if (y == ignoreIndex) {
        loss[r] = 0.0f;
        wy[r] = 0.0f;
        continue;
      }
      const double w = weight != nullptr ? weight[y] : 1.0;
      wy[r] = static_cast<float>(w);
      const double nll = -(w * (static_cast<double>(xr[y]) - L));
      if (eps > 0) {
        const double sx = weight != nullptr ? dot(xr, weight, C) : sum(xr, C);
        const double sw = weight != nullptr ? sum(weight, C) : static_cast<double>(C);
        loss[r] = static_cast<float>((1 - eps) * nll + (eps / C) * -(sx - L * sw));
      } else {
        loss[r] = static_cast<float>(nll);
      }
    }
  });
}

namespace {

// dx of one finite row: p = exp((x − m) − shift) and the terms of crossEntropyBackward, with the
// options as template flags so that the loop has no branches and vectorises (fastExp included).
template <bool kEps, bool kLse, bool kW>
void finiteRowGrad(const float* xr, float* dr, int64_t C, float m, float shift, float gy, float bs, float ss, float gz,
                   const float* weight) {
  for (int64_t c = 0; c < C; ++c) {
    const float p = fastExp((xr[c] - m) - shift);
    float d = -p * gy;
    if (kEps) d += -(bs * (kW ? weight[c] : 1.0f)) - p * ss;
    if (kLse) d += gz * p;
    dr[c] = d;
  }
}

using RowGrad = void (*)(const float*, float*, int64_t, float, float, float, float, float, float, const float*);

RowGrad pickRowGrad(bool eps, bool lse, bool w) {
  if (eps) {
    if (lse) return w ? finiteRowGrad<true, true, true> : finiteRowGrad<true, true, false>;
    return w ? finiteRowGrad<true, false, true> : finiteRowGrad<true, false, false>;
  }
  return lse ? finiteRowGrad<false, true, false> : finiteRowGrad<false, false, false>;
}

}  // namespace

void crossEntropyBackward(const float* x, const int32_t* target, const float* weight, const float* rowMaxIn,
                          const float* logSum, const float* gLoss, const float* gLse, float* dx, int64_t rows, int64_t C,
                          int32_t ignoreIndex, double eps) {
  const double sumW = weight != nullptr ? sum(weight, C) : static_cast<double>(C);
  const RowGrad finiteRow = pickRowGrad(eps > 0, gLse != nullptr, weight != nullptr);
  parallelFor(rows, rowGrain(C), [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const float* xr = x + r * C;
      float* dr = dx + r * C;
      const float m = rowMaxIn[r];
      const bool finite = m - m == 0.0f;
      // p = exp((x − m) − logSum): x − m is exact enough where x − lse (lse rounded) is not.
      const float shift = finite ? logSum[r] : std::numeric_limits<float>::quiet_NaN();
      const int32_t y = target[r];
      const bool valid = y != ignoreIndex;
      const double a = valid ? gLoss[r] : 0.0;
      const float gy = valid ? static_cast<float>(-((weight != nullptr ? weight[y] : 1.0) * ((1 - eps) * a))) : 0.0f;
      float bs = 0.0f, ss = 0.0f;
      if (eps > 0 && valid) {
        const double b = a * (eps / C);
        bs = static_cast<float>(b);
        if (std::isfinite(b)) {
          ss = static_cast<float>(-(b * sumW));
        } else {
          double s = 0;  // keeps inf·0 = NaN per class
          for (int64_t c = 0; c < C; ++c) s += -(b * (weight != nullptr ? weight[c] : 1.0f));
          ss = static_cast<float>(s);
        }
      }
      const float gz = gLse != nullptr ? gLse[r] : 0.0f;
      if (finite) {
        finiteRow(xr, dr, C, m, shift, gy, bs, ss, gz, weight);
      } else {
        // A row with a NaN, +inf or all −inf max: p is NaN; the lse term uses exp(x − m).
        for (int64_t c = 0; c < C; ++c) {
          const float p = fastExp((xr[c] - m) - shift);
          float d = -p * gy;
          if (eps > 0) d += -(bs * (weight != nullptr ? weight[c] : 1.0f)) - p * ss;
          if (gLse != nullptr) d += gz * fastExp(xr[c] - m);
          dr[c] = d;
        }
      }
      if (valid && y >= 0 && y < C) dr[y] += gy;
    }
  });
}

}  // namespace tf
