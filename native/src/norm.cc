// Row kernels: softmax / log-softmax and layer norm, forward and backward. Rows are independent
// and go to threads in contiguous blocks; row statistics accumulate in float64 lanes.
#include <vector>

#include "common.h"
#include "kernels.h"
#include "rows.h"

namespace tf {
namespace {

// 16 floats as one value (GCC/Clang vector extension) at any float address (common.h's v16f is
// 64-byte aligned).
typedef float v16u __attribute__((vector_size(64), aligned(4)));
// x[c, c + 16) as a v16u (a macro rather than a function: passing 64-byte vectors by value changes
// the ABI on targets without AVX-512, which GCC warns about).
#define TF_LOAD16(v, x)                    \
  v16u v;                                  \
  __builtin_memcpy(&v, (x), sizeof(v16u))

// The layer-norm backward's row sums, lane l of a1/a2 summing columns c ≡ l (mod 16) of the whole
// blocks of 16, in column order: a1 += dxhat, a2 += dxhat·xhat with xhat = (x - mu)·rs, dxhat = g·w
// (g without w). Each product and sum is rounded by itself, except that in the blocks past the last
// multiple of 128 columns a2 takes dxhat·xhat in one fused multiply-add. That is exactly what GCC
// made of the former scalar code (16-lane arrays, -O3 -march=native on AVX-512: its vectorised loop
// ran eight blocks per trip without contraction, the leftover blocks contracted to FMA), kept so
// that the results stay the same bits; this form keeps the lanes in registers (0.86 → 0.23 ms for
// 2048 rows x 384 on one core, 2026-12-07). Compiled without FP contraction (GCC's pragma; the
// separate statements keep Clang's default contraction out of the unfused sums). Returns the first
// column not summed (the tail).
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
int64_t layerNormRowSums(const float* __restrict xr, const float* __restrict gr, const float* __restrict w, int64_t cols,
                         float mu, float rs, v16u* s1, v16u* s2) {
  v16u a1 = {0}, a2 = {0};
  const int64_t plain = cols / 128 * 128;
  int64_t c = 0;
  for (; c < plain; c += 16) {
    TF_LOAD16(xv, xr + c);
    TF_LOAD16(gv, gr + c);
    v16u dxh = gv;
    if (w != nullptr) {
      TF_LOAD16(wv, w + c);
      dxh = gv * wv;
    }
    const v16u xhat = (xv - mu) * rs;
    const v16u p = dxh * xhat;
    a1 += dxh;
    a2 += p;
  }
  for (; c + 16 <= cols; c += 16) {
    TF_LOAD16(xv, xr + c);
    TF_LOAD16(gv, gr + c);
    v16u dxh = gv;
    if (w != nullptr) {
      TF_LOAD16(wv, w + c);
      dxh = gv * wv;
    }
    const v16u xhat = (xv - mu) * rs;
    for (int l = 0; l < 16; ++l) a2[l] = __builtin_fmaf(dxh[l], xhat[l], a2[l]);
    a1 += dxh;
  }
  *s1 = a1;
  *s2 = a2;
  return c;
}
#pragma GCC pop_options
#undef TF_LOAD16

// One row of the layer-norm backward: writes dx, adds into the partial dw (pw) and db (pb).
// dxhat = g*w; dx = rs * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)). The two row sums use
// 16 float lanes (layerNormRowSums), added up in float64 with the tail. __restrict lets GCC
// vectorise without run-time alias checks.
void layerNormBackwardRow(const float* __restrict xr, const float* __restrict gr, const float* __restrict w,
                          float* __restrict dr, float* __restrict pw, float* __restrict pb, int64_t cols, float mu,
                          float rs) {
  v16u a1, a2;
  int64_t c = layerNormRowSums(xr, gr, w, cols, mu, rs, &a1, &a2);
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
