// Row kernels: softmax / log-softmax and layer norm, forward and backward. Rows are independent
// and go to threads in contiguous blocks; row statistics accumulate in float64 lanes.
#include <vector>

#include "common.h"
#include "kernels.h"
#include "rows.h"

namespace tf {
namespace {

// One row of the layer-norm backward: writes dx, adds into the partial dw (pw) and db (pb).
// dxhat = g*w; dx = rs * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)). The two row sums use
// 16 float lanes (vectorised), added up in float64. __restrict lets GCC vectorise without
// run-time alias checks.
void layerNormBackwardRow(const float* __restrict xr, const float* __restrict gr, const float* __restrict w,
                          float* __restrict dr, float* __restrict pw, float* __restrict pb, int64_t cols, float mu,
                          float rs) {
  float a1[16] = {0}, a2[16] = {0};
  int64_t c = 0;
  if (w != nullptr) {
    for (; c + 16 <= cols; c += 16)
      for (int l = 0; l < 16; ++l) {
        const float xhat = (xr[c + l] - mu) * rs, dxh = gr[c + l] * w[c + l];
        a1[l] += dxh;
        a2[l] += dxh * xhat;
      }
  } else {
    for (; c + 16 <= cols; c += 16)
      for (int l = 0; l < 16; ++l) {
        const float xhat = (xr[c + l] - mu) * rs, dxh = gr[c + l];
        a1[l] += dxh;
        a2[l] += dxh * xhat;
      }
  }
  double sd = 0, sdx = 0;
  for (; c < cols; ++c) {
    const float xhat = (xr[c] - mu) * rs;
    const float dxh = w != nullptr ? gr[c] * w[c] : gr[c];
    sd += dxh;
    sdx += static_cast<double>(dxh) * xhat;
  }
  for (int l = 0; l < 16; ++l) {
    sd += a1[l];
    sdx += a2[l];
  }
  const float msd = static_cast<float>(sd / cols), msdx = static_cast<float>(sdx / cols);
  if (w != nullptr) {
    for (int64_t k = 0; k < cols; ++k) {
      const float xhat = (xr[k] - mu) * rs;
      dr[k] = rs * (gr[k] * w[k] - msd - xhat * msdx);
      pw[k] += gr[k] * xhat;
      pb[k] += gr[k];
    }
  } else {
    for (int64_t k = 0; k < cols; ++k) {
      const float xhat = (xr[k] - mu) * rs;
      dr[k] = rs * (gr[k] - msd - xhat * msdx);
      pw[k] += gr[k] * xhat;
      pb[k] += gr[k];
    }
  }
}

}  // namespace

void softmax(const float* x, float* out, int64_t rows, int64_t cols, bool log) {
  parallelFor(rows, rowGrain(cols), [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const float* xr = x + r * cols;
      float* yr = out + r * cols;
      float m = rowMax(xr, cols);
      if (m != m || m == -std::numeric_limits<float>::infinity()) {
        // A NaN anywhere, or a row that is all -inf: the whole row is NaN (as js / PyTorch).
        for (int64_t j = 0; j < cols; ++j) yr[j] = std::numeric_limits<float>::quiet_NaN();
        continue;
      }
      // log-softmax needs only the sum; softmax keeps the exponentials and rescales them.
      double s = log ? expShiftSum<false>(xr, m, yr, cols) : expShiftSum<true>(xr, m, yr, cols);
      if (log) {
        const float ls = static_cast<float>(std::log(s));
        for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - ls;
      } else {
        const float inv = static_cast<float>(1.0 / s);
        for (int64_t j = 0; j < cols; ++j) yr[j] *= inv;
      }
    }
  });
}

void softmaxBackward(const float* y, const float* g, float* dx, int64_t rows, int64_t cols, bool log) {
  parallelFor(rows, rowGrain(cols), [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const float* yr = y + r * cols;
      const float* gr = g + r * cols;
      float* dr = dx + r * cols;
      if (log) {
        const float sg = static_cast<float>(sum(gr, cols));
        for (int64_t j = 0; j < cols; ++j) dr[j] = gr[j] - fastExp(yr[j]) * sg;
      } else {
        const float d = static_cast<float>(dot(gr, yr, cols));
        for (int64_t j = 0; j < cols; ++j) dr[j] = yr[j] * (gr[j] - d);
      }
    }
  });
}

void layerNorm(const float* x, const float* w, const float* b, float* out, float* mean, float* rstd, int64_t rows,
               int64_t cols, float eps) {
  parallelFor(rows, rowGrain(cols), [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const float* xr = x + r * cols;
      float* yr = out + r * cols;
      // Two passes (mean, then centred squares) stay accurate when |mean| >> std.
      const double mu = sum(xr, cols) / static_cast<double>(cols);
      const float muf = static_cast<float>(mu);
      const double var = centredSquares(xr, mu, cols);
      const float rs = static_cast<float>(1.0 / std::sqrt(var / static_cast<double>(cols) + eps));
      mean[r] = muf;
      rstd[r] = rs;
      if (w != nullptr && b != nullptr) {
        for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - muf) * rs * w[c] + b[c];
      } else if (w != nullptr) {
        for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - muf) * rs * w[c];
      } else if (b != nullptr) {
        for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - muf) * rs + b[c];
      } else {
        for (int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - muf) * rs;
      }
    }
  });
}

void layerNormBackward(const float* x, const float* w, const float* mean, const float* rstd, const float* g, float* dx,
                       float* dw, float* db, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  int64_t parts = rows / rowGrain(cols);
  if (parts > numThreads()) parts = numThreads();
  if (parts < 1) parts = 1;
  const int64_t chunk = (rows + parts - 1) / parts;
  // Per-part partial sums of dw and db, added in part order afterwards (deterministic).
  std::vector<float> partial(static_cast<size_t>(parts) * 2 * cols, 0.0f);
  auto body = [&](int64_t p) {
    const int64_t rb = p * chunk, re = rb + chunk < rows ? rb + chunk : rows;
    float* pw = partial.data() + p * 2 * cols;
    float* pb = pw + cols;
    for (int64_t r = rb; r < re; ++r)
      layerNormBackwardRow(x + r * cols, g + r * cols, w, dx + r * cols, pw, pb, cols, mean[r], rstd[r]);
  };
  if (parts == 1) body(0);
  else parallelTasks(parts, [&](int64_t p, int) { body(p); });
  for (int64_t p = 0; p < parts; ++p) {
    const float* pw = partial.data() + p * 2 * cols;
    const float* pb = pw + cols;
    if (dw != nullptr)
      for (int64_t k = 0; k < cols; ++k) dw[k] += pw[k];
    if (db != nullptr)
      for (int64_t k = 0; k < cols; ++k) db[k] += pb[k];
  }
}

}  // namespace tf
