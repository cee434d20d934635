// The fused log-softmax + NLL (cross-entropy) kernels: per row, the log-sum-exp, the weighted NLL
// and the label-smoothing term; backward writes softmax − one-hot (plus the smoothing and lse
// terms) in one pass. crossEntropyGradLowp does both for the fused LM head under autocast, with
// one exp per element, and writes the gradient in 16 bits. Semantics (NaN / inf rows, ignored rows) are those of src/backend/js/cross-entropy.ts.
#include <cmath>
#include <limits>

#include "bf16-gemm.h"
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

// Label smoothing's gradient terms of one row with upstream gradient a: the per-class share
// b = a·eps/C (bs) and the row's sum term ss = −b·Σw. An infinite b sums per class so that inf·0
// stays NaN, as PyTorch's per-element product does.
void smoothingTerms(double a, double eps, int64_t C, double sumW, const float* weight, float* bs, float* ss) {
  const double b = a * (eps / C);
  *bs = static_cast<float>(b);
  if (std::isfinite(b)) {
    *ss = static_cast<float>(-(b * sumW));
    return;
  }
  double t = 0;
  for (int64_t c = 0; c < C; ++c) t += -(b * (weight != nullptr ? weight[c] : 1.0f));
  *ss = static_cast<float>(t);
}

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
      if (eps > 0 && valid) smoothingTerms(a, eps, C, sumW, weight, &bs, &ss);
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

namespace {

// dx of one finite row from e = exp(x − m) held in er (overwritten by dx): p = e·inv, inv = 1 / Σe,
// and crossEntropyBackward's terms.
template <bool kEps, bool kLse, bool kW>
void expRowGrad(float* er, int64_t C, float inv, float gy, float bs, float ss, float gz, const float* weight) {
  for (int64_t c = 0; c < C; ++c) {
    const float p = er[c] * inv;
    float d = -p * gy;
    if (kEps) d += -(bs * (kW ? weight[c] : 1.0f)) - p * ss;
    if (kLse) d += gz * p;
    er[c] = d;
  }
}

using ExpRowGrad = void (*)(float*, int64_t, float, float, float, float, float, const float*);

ExpRowGrad pickExpRowGrad(bool eps, bool lse, bool w) {
  if (eps) {
    if (lse) return w ? expRowGrad<true, true, true> : expRowGrad<true, true, false>;
    return w ? expRowGrad<true, false, true> : expRowGrad<true, false, false>;
  }
  return lse ? expRowGrad<false, true, false> : expRowGrad<false, false, false>;
}

}  // namespace

void crossEntropyGradLowp(int dtype, float* x, const int32_t* target, const float* weight, float* loss, float* lse, uint16_t* dx,
                          int64_t rows, int64_t C, int32_t ignoreIndex, double eps, float gLoss, float gLseOfLse) {
  const double sumW = weight != nullptr ? sum(weight, C) : static_cast<double>(C);
  const ExpRowGrad finiteRow = pickExpRowGrad(eps > 0, gLseOfLse != 0.0f, weight != nullptr);
  parallelFor(rows, rowGrain(C), [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      float* xr = x + r * C;
      const float m = rowMax(xr, C);
      const bool finite = m - m == 0.0f;
      const int32_t y = target[r];
      const bool valid = y != ignoreIndex;
      // Forward (crossEntropy's formulas), reading x before it turns into exp(x − m).
      const double w = valid && weight != nullptr ? weight[y] : 1.0;
      const double xy = valid ? static_cast<double>(xr[y]) : 0.0;
      const double sx = eps > 0 && valid ? (weight != nullptr ? dot(xr, weight, C) : sum(xr, C)) : 0.0;
      double L = std::numeric_limits<double>::quiet_NaN();
      float shift = std::numeric_limits<float>::quiet_NaN(), inv = 0.0f;
      if (finite) {
        const double s = expShiftSum<true>(xr, m, xr, C);
        const double ls = std::log(s);
        shift = static_cast<float>(ls);
        L = static_cast<double>(m) + ls;
        lse[r] = static_cast<float>(L);
        inv = static_cast<float>(1.0 / s);
      } else {
        lse[r] = m;
      }
      if (!valid) {
        loss[r] = 0.0f;
      } else {
        const double nll = -(w * (xy - L));
        loss[r] = eps > 0 ? static_cast<float>((1 - eps) * nll + (eps / C) * -(sx - L * sumW)) : static_cast<float>(nll);
      }
      // Backward (crossEntropyBackward's terms) for gLoss on every row and gLseOfLse·lse on its lse.
      const double a = valid ? gLoss : 0.0;
      const float gy = valid ? static_cast<float>(-(w * ((1 - eps) * a))) : 0.0f;
      float bs = 0.0f, ss = 0.0f;
      if (eps > 0 && valid) smoothingTerms(a, eps, C, sumW, weight, &bs, &ss);
      const float gz = gLseOfLse != 0.0f ? gLseOfLse * lse[r] : 0.0f;
      if (finite) {
        finiteRow(xr, C, inv, gy, bs, ss, gz, weight);
      } else {
        // x is intact here: crossEntropyBackward's non-finite row (p is NaN; the lse term uses exp(x − m)).
        for (int64_t c = 0; c < C; ++c) {
          const float v = xr[c];
          const float p = fastExp((v - m) - shift);
          float d = -p * gy;
          if (eps > 0) d += -(bs * (weight != nullptr ? weight[c] : 1.0f)) - p * ss;
          if (gLseOfLse != 0.0f) d += gz * fastExp(v - m);
          xr[c] = d;
        }
      }
      if (valid && y >= 0 && y < C) xr[y] += gy;
      castToLowp(dtype, xr, dx + r * C, C);  // nested in parallelFor: runs on this thread
    }
  });
}

}  // namespace tf
