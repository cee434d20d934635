// Scaled dot-product attention computed in tiles with an online softmax (FlashAttention, Dao et al.
// 2022, Algorithm 1; backward as in FlashAttention-2, Dao 2023, Algorithm 2): scores exist one
// [kBr, kBc] tile at a time, so memory grows linearly with the sequence length. The forward keeps
// only the output and the row log-sum-exp; the backward recomputes probabilities from them.
// Tile products run on the register-blocked tileGemm; operands are copied into 64-byte aligned,
// zero-padded per-thread scratch (head size rounded up to a multiple of 16).
#include <cstdlib>
#include <memory>

#include "common.h"
#include "kernels.h"
#include "tile_gemm.h"

namespace tf {
namespace {

constexpr int64_t kBr = 64;  // query rows per tile
constexpr int64_t kBc = 64;  // keys per tile

inline int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }

// Per-thread scratch: 64-byte aligned, grown on demand and kept (no allocation once warm).
struct Scratch {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> buf;
  size_t size = 0;
  size_t used = 0;
  void reserve(size_t n) {
    used = 0;
    if (n <= size) return;
    void* p = nullptr;
    if (posix_memalign(&p, 64, n * sizeof(float)) != 0) std::abort();
    buf.reset(static_cast<float*>(p));
    size = n;
  }
  // Hands out n floats (n rounded up to 16 so that every piece stays 64-byte aligned).
  float* take(int64_t n) {
    float* p = buf.get() + used;
    used += static_cast<size_t>(round16(n));
    return p;
  }
};
thread_local Scratch tScratch;

// dst[x*ldd + c] = src[c*d + x] for c < cn, x < d; the rest of the [dp, kBc] tile is zero.
inline void loadTransposed(const float* src, int64_t cn, int64_t d, int64_t dp, float* dst) {
  for (int64_t x = 0; x < dp * kBc; ++x) dst[x] = 0.0f;
  for (int64_t c = 0; c < cn; ++c)
    for (int64_t x = 0; x < d; ++x) dst[x * kBc + c] = src[c * d + x];
}

// dst[r*dp + x] = scale * src[r*d + x] for r < rows, x < d; padding columns (and rows up to
// padRows) are zero.
inline void loadRows(const float* src, int64_t rows, int64_t padRows, int64_t d, int64_t dp, float scale, float* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t x = 0; x < d; ++x) dst[r * dp + x] = src[r * d + x] * scale;
    for (int64_t x = d; x < dp; ++x) dst[r * dp + x] = 0.0f;
  }
  for (int64_t x = rows * dp; x < padRows * dp; ++x) dst[x] = 0.0f;
}

}  // namespace

void attention(const float* q, const float* k, const float* v, float* out, float* lse, int64_t bh, int64_t t,
               int64_t s, int64_t d, float scale, bool causal) {
  if (bh <= 0 || t <= 0 || d < 0) return;
  const int64_t dp = round16(d > 0 ? d : 1);
  const int64_t qBlocks = (t + kBr - 1) / kBr;
  const int64_t off = s - t;  // query i sees keys j <= i + off when causal
  const float kNegInf = -std::numeric_limits<float>::infinity();
  auto task = [&](int64_t task) {
    const int64_t h = task / qBlocks, i0 = (task % qBlocks) * kBr;
    const int64_t rows = i0 + kBr < t ? kBr : t - i0;
    Scratch& sc = tScratch;
    sc.reserve(static_cast<size_t>(4 * kBr * dp + dp * kBc + kBr * kBc + 2 * kBr + 64));
    float* qs = sc.take(kBr * dp);
    float* kt = sc.take(dp * kBc);
    float* vp = sc.take(kBc * dp);
    float* sm = sc.take(kBr * kBc);
    float* acc = sc.take(kBr * dp);
    float* mrow = sc.take(kBr);
    float* lrow = sc.take(kBr);
    const float* kh = k + h * s * d;
    const float* vh = v + h * s * d;
    loadRows(q + (h * t + i0) * d, rows, rows, d, dp, scale, qs);
    for (int64_t r = 0; r < rows; ++r) {
      mrow[r] = kNegInf;
      lrow[r] = 0.0f;
    }
    for (int64_t x = 0; x < rows * dp; ++x) acc[x] = 0.0f;
    int64_t jEnd = causal ? i0 + rows + off : s;  // keys any row of this block can see
    if (jEnd > s) jEnd = s;
    for (int64_t j0 = 0; j0 < jEnd; j0 += kBc) {
      const int64_t cn = jEnd - j0 < kBc ? jEnd - j0 : kBc;
      loadTransposed(kh + j0 * d, cn, d, dp, kt);
      loadRows(vh + j0 * d, cn, kBc, d, dp, 1.0f, vp);
      tileGemm(rows, kBc, dp, qs, dp, kt, kBc, sm, kBc, false);
      for (int64_t r = 0; r < rows; ++r) {
        float* sr = sm + r * kBc;
        int64_t vis = causal ? i0 + r + off - j0 + 1 : cn;
        if (vis > cn) vis = cn;
        if (vis <= 0) {
          for (int64_t c = 0; c < kBc; ++c) sr[c] = 0.0f;
          continue;
        }
        // Max and sum over 16 independent lanes, so that both loops vectorise (no reassociation).
        float lm[16];
        for (int l = 0; l < 16; ++l) lm[l] = kNegInf;
        for (int64_t c = 0; c < kBc; c += 16)
          for (int l = 0; l < 16; ++l) {
            const float x = c + l < vis ? sr[c + l] : kNegInf;
            lm[l] = x > lm[l] ? x : lm[l];
          }
        float mx = mrow[r];
        for (int l = 0; l < 16; ++l) mx = lm[l] > mx ? lm[l] : mx;
        const float alpha = fastExp(mrow[r] - mx);  // 0 on the first visible tile (exp(-inf))
        float ls[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t c = 0; c < kBc; c += 16)
          for (int l = 0; l < 16; ++l) {
            const float p = c + l < vis ? fastExp(sr[c + l] - mx) : 0.0f;
            sr[c + l] = p;
            ls[l] += p;
          }
        float psum = 0.0f;
        for (int l = 0; l < 16; ++l) psum += ls[l];
        lrow[r] = lrow[r] * alpha + psum;
        mrow[r] = mx;
        float* ar = acc + r * dp;
        for (int64_t x = 0; x < dp; ++x) ar[x] *= alpha;
      }
      tileGemm(rows, dp, cn, sm, kBc, vp, dp, acc, dp, true);
    }
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = i0 + r;
      float* o = out + (h * t + i) * d;
      const float* ar = acc + r * dp;
      if (lrow[r] == 0.0f) {
        // No visible key (causal with s < t): NaN output and -inf lse, as the js reference.
        for (int64_t x = 0; x < d; ++x) o[x] = std::numeric_limits<float>::quiet_NaN();
        lse[h * t + i] = kNegInf;
        continue;
      }
      const float inv = 1.0f / lrow[r];
      for (int64_t x = 0; x < d; ++x) o[x] = ar[x] * inv;
      lse[h * t + i] = mrow[r] + std::log(lrow[r]);
    }
  };
  const int64_t tasks = bh * qBlocks;
  if (bh * t * s * d < kSerialElems * 4) {
    for (int64_t i = 0; i < tasks; ++i) task(i);
  } else {
    parallelTasks(tasks, [&](int64_t i, int) { task(i); });
  }
}

void attentionBackward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                       const float* g, float* dq, float* dk, float* dv, int64_t bh, int64_t t, int64_t s, int64_t d,
                       float scale, bool causal) {
  if (bh <= 0) return;
  const int64_t dp = round16(d > 0 ? d : 1);
  const int64_t off = s - t;
  // One task per head: dq rows gather contributions from every key tile of the same head.
  auto task = [&](int64_t h) {
    Scratch& sc = tScratch;
    sc.reserve(static_cast<size_t>(3 * t * dp + t + 2 * dp * kBc + 3 * kBc * dp + 4 * kBr * kBc + 128));
    float* qs = sc.take(t * dp);   // scale·Q, so that S = qs·Kᵀ and dK = dSᵀ·qs
    float* gs = sc.take(t * dp);   // dO
    float* dqs = sc.take(t * dp);  // dQ / scale
    float* delta = sc.take(t);
    float* kt = sc.take(dp * kBc);
    float* vt = sc.take(dp * kBc);
    float* kp = sc.take(kBc * dp);
    float* dkt = sc.take(kBc * dp);
    float* dvt = sc.take(kBc * dp);
    float* sm = sc.take(kBr * kBc);   // scores, then P
    float* dpm = sc.take(kBr * kBc);  // dP, then dS
    float* pt = sc.take(kBc * kBr);   // Pᵀ
    float* dst = sc.take(kBc * kBr);  // dSᵀ
    const float* kh = k + h * s * d;
    const float* vh = v + h * s * d;
    const float* lh = lse + h * t;
    loadRows(q + h * t * d, t, t, d, dp, scale, qs);
    loadRows(g + h * t * d, t, t, d, dp, 1.0f, gs);
    for (int64_t x = 0; x < t * dp; ++x) dqs[x] = 0.0f;
    // delta_i = sum_x dO_ix O_ix (= sum_j P_ij dP_ij).
    const float* oh = out + h * t * d;
    const float* gh = g + h * t * d;
    for (int64_t i = 0; i < t; ++i) {
      float a = 0.0f;
      for (int64_t x = 0; x < d; ++x) a += gh[i * d + x] * oh[i * d + x];
      delta[i] = a;
    }
    for (int64_t j0 = 0; j0 < s; j0 += kBc) {
      const int64_t cn = s - j0 < kBc ? s - j0 : kBc;
      loadTransposed(kh + j0 * d, cn, d, dp, kt);
      loadTransposed(vh + j0 * d, cn, d, dp, vt);
      loadRows(kh + j0 * d, cn, kBc, d, dp, 1.0f, kp);
      for (int64_t x = 0; x < kBc * dp; ++x) {
        dkt[x] = 0.0f;
        dvt[x] = 0.0f;
      }
      const int64_t iStart = causal ? (j0 - off > 0 ? j0 - off : 0) : 0;
      for (int64_t i0 = iStart; i0 < t; i0 += kBr) {
        const int64_t rows = t - i0 < kBr ? t - i0 : kBr;
        tileGemm(rows, kBc, dp, qs + i0 * dp, dp, kt, kBc, sm, kBc, false);
        tileGemm(rows, kBc, dp, gs + i0 * dp, dp, vt, kBc, dpm, kBc, false);
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t i = i0 + r;
          int64_t vis = causal ? i + off - j0 + 1 : cn;
          if (vis > cn) vis = cn;
          const float li = lh[i], di = delta[i];
          float* sr = sm + r * kBc;
          float* dr = dpm + r * kBc;
          for (int64_t c = 0; c < kBc; ++c) {
            const bool on = c < vis;
            const float p = on ? fastExp(sr[c] - li) : 0.0f;
            const float ds = on ? p * (dr[c] - di) : 0.0f;
            sr[c] = p;
            dr[c] = ds;
          }
        }
        for (int64_t c = 0; c < cn; ++c)
          for (int64_t r = 0; r < rows; ++r) {
            pt[c * kBr + r] = sm[r * kBc + c];
            dst[c * kBr + r] = dpm[r * kBc + c];
          }
        tileGemm(cn, dp, rows, pt, kBr, gs + i0 * dp, dp, dvt, dp, true);   // dV += Pᵀ dO
        tileGemm(cn, dp, rows, dst, kBr, qs + i0 * dp, dp, dkt, dp, true);  // dK += dSᵀ (scale Q)
        tileGemm(rows, dp, cn, dpm, kBc, kp, dp, dqs + i0 * dp, dp, true);  // dQ/scale += dS K
      }
      float* dkh = dk + (h * s + j0) * d;
      float* dvh = dv + (h * s + j0) * d;
      for (int64_t c = 0; c < cn; ++c)
        for (int64_t x = 0; x < d; ++x) {
          dkh[c * d + x] = dkt[c * dp + x];
          dvh[c * d + x] = dvt[c * dp + x];
        }
    }
    float* dqh = dq + h * t * d;
    for (int64_t i = 0; i < t; ++i)
      for (int64_t x = 0; x < d; ++x) dqh[i * d + x] = dqs[i * dp + x] * scale;
  };
  if (bh * t * s * d < kSerialElems * 4) {
    for (int64_t h = 0; h < bh; ++h) task(h);
  } else {
    parallelTasks(bh, [&](int64_t h, int) { task(h); });
  }
}

}  // namespace tf
