// Row kernels: softmax / log-softmax and layer norm, forward and backward. Rows are independent
// and go to threads in contiguous blocks; row statistics accumulate in float64 lanes.
#include <vector>

#include "common.h"
#include "kernels.h"

namespace tf {
namespace {

int64_t rowGrain(int64_t cols) { return cols > 0 && kSerialElems / cols > 0 ? kSerialElems / cols : 1; }

// Max of a row; NaN if any entry is NaN.
float rowMax(const float* x, int64_t n) {
  float acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = -std::numeric_limits<float>::infinity();
  int nan = 0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) {
      float v = x[i + j];
      nan |= v != v;
      acc[j] = v > acc[j] ? v : acc[j];
    }
  float m = acc[0];
  for (int j = 1; j < 16; ++j) m = acc[j] > m ? acc[j] : m;
  for (; i < n; ++i) {
    float v = x[i];
    nan |= v != v;
    m = v > m ? v : m;
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}

// out[j] = exp(x[j] - shift); returns the sum (float64 lanes).
double expShiftSum(const float* x, float shift, float* out, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) {
      float e = fastExp(x[i + j] - shift);
      out[i + j] = e;
      acc[j] += e;
    }
  double s = 0;
  for (; i < n; ++i) {
    float e = fastExp(x[i] - shift);
    out[i] = e;
    s += e;
  }
  return s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

double dot(const float* a, const float* b, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += static_cast<double>(a[i + j]) * b[i + j];
  double s = 0;
  for (; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

double sum(const float* a, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j];
  double s = 0;
  for (; i < n; ++i) s += a[i];
  return s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
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
      double s = expShiftSum(xr, m, yr, cols);
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
      double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t j = 0;
      for (; j + 8 <= cols; j += 8)
        for (int l = 0; l < 8; ++l) {
          double d = xr[j + l] - mu;
          acc[l] += d * d;
        }
      double var = 0;
      for (; j < cols; ++j) {
        double d = xr[j] - mu;
        var += d * d;
      }
      var += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
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
    for (int64_t r = rb; r < re; ++r) {
      const float* xr = x + r * cols;
      const float* gr = g + r * cols;
      float* dr = dx + r * cols;
      const float mu = mean[r], rs = rstd[r];
      // dxhat = g*w; dx = rs * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
      double a1[8] = {0, 0, 0, 0, 0, 0, 0, 0}, a2[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t c = 0;
      for (; c + 8 <= cols; c += 8)
        for (int l = 0; l < 8; ++l) {
          float xhat = (xr[c + l] - mu) * rs;
          float dxh = w != nullptr ? gr[c + l] * w[c + l] : gr[c + l];
          a1[l] += dxh;
          a2[l] += static_cast<double>(dxh) * xhat;
        }
      double sd = 0, sdx = 0;
      for (; c < cols; ++c) {
        float xhat = (xr[c] - mu) * rs;
        float dxh = w != nullptr ? gr[c] * w[c] : gr[c];
        sd += dxh;
        sdx += static_cast<double>(dxh) * xhat;
      }
      for (int l = 0; l < 8; ++l) {
        sd += a1[l];
        sdx += a2[l];
      }
      const float msd = static_cast<float>(sd / cols), msdx = static_cast<float>(sdx / cols);
      for (int64_t k = 0; k < cols; ++k) {
        float xhat = (xr[k] - mu) * rs;
        float dxh = w != nullptr ? gr[k] * w[k] : gr[k];
        dr[k] = rs * (dxh - msd - xhat * msdx);
        pw[k] += gr[k] * xhat;
        pb[k] += gr[k];
      }
    }
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
