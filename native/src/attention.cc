// Scaled dot-product attention computed in tiles with an online softmax (FlashAttention, Dao et al.
// 2022, Algorithm 1; backward as in FlashAttention-2, Dao 2023, Algorithm 2): scores exist one
// [rows, kBc] tile at a time, so memory grows linearly with the sequence length. The forward keeps
// only the output and the row log-sum-exp; the backward recomputes probabilities from them.
#include <vector>

#include "common.h"
#include "kernels.h"

namespace tf {
namespace {

constexpr int64_t kBr = 32;  // query rows per forward task
constexpr int64_t kBc = 64;  // keys per tile

// Per-thread scratch, grown on demand and kept (no allocation per call once warm).
struct Scratch {
  std::vector<float> buf;
  float* get(size_t n) {
    if (buf.size() < n) buf.resize(n);
    return buf.data();
  }
};
thread_local Scratch tScratch;

// kt[x*kBc + c] = k[c*d + x] for c < cn (keys as columns, so score rows vectorise over keys).
inline void transposeTile(const float* k, int64_t cn, int64_t d, float* kt) {
  for (int64_t c = 0; c < cn; ++c)
    for (int64_t x = 0; x < d; ++x) kt[x * kBc + c] = k[c * d + x];
}

// sr[c] = scale * sum_x q[x] * kt[x][c] for c < kBc (all kBc lanes; extra lanes are ignored).
inline void scoreRow(const float* q, const float* kt, int64_t d, float scale, float* sr) {
  float acc[kBc];
  for (int64_t c = 0; c < kBc; ++c) acc[c] = 0.0f;
  for (int64_t x = 0; x < d; ++x) {
    const float qv = q[x];
    const float* row = kt + x * kBc;
    for (int64_t c = 0; c < kBc; ++c) acc[c] += qv * row[c];
  }
  for (int64_t c = 0; c < kBc; ++c) sr[c] = acc[c] * scale;
}

}  // namespace

void attention(const float* q, const float* k, const float* v, float* out, float* lse, int64_t bh, int64_t t,
               int64_t s, int64_t d, float scale, bool causal) {
  if (bh <= 0 || t <= 0 || d < 0) return;
  const int64_t qBlocks = (t + kBr - 1) / kBr;
  const int64_t off = s - t;  // query i sees keys j <= i + off when causal
  auto task = [&](int64_t task) {
    const int64_t h = task / qBlocks, i0 = (task % qBlocks) * kBr;
    const int64_t i1 = i0 + kBr < t ? i0 + kBr : t, rows = i1 - i0;
    const float* qh = q + h * t * d;
    const float* kh = k + h * s * d;
    const float* vh = v + h * s * d;
    float* kt = tScratch.get(static_cast<size_t>(kBc * d + rows * d + 2 * rows + 2 * kBc));
    float* acc = kt + kBc * d;
    float* mrow = acc + rows * d;
    float* lrow = mrow + rows;
    float* sr = lrow + rows;
    float* pr = sr + kBc;
    for (int64_t r = 0; r < rows; ++r) {
      mrow[r] = -std::numeric_limits<float>::infinity();
      lrow[r] = 0.0f;
    }
    for (int64_t x = 0; x < rows * d; ++x) acc[x] = 0.0f;
    int64_t jEnd = causal ? (i1 - 1 + off + 1) : s;
    if (jEnd > s) jEnd = s;
    for (int64_t j0 = 0; j0 < jEnd; j0 += kBc) {
      const int64_t cn = jEnd - j0 < kBc ? jEnd - j0 : kBc;
      for (int64_t x = 0; x < kBc * d; ++x) kt[x] = 0.0f;
      transposeTile(kh + j0 * d, cn, d, kt);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        int64_t visible = causal ? i + off - j0 + 1 : cn;
        if (visible > cn) visible = cn;
        if (visible <= 0) continue;
        scoreRow(qh + i * d, kt, d, scale, sr);
        float mx = mrow[r];
        for (int64_t c = 0; c < visible; ++c) mx = sr[c] > mx ? sr[c] : mx;
        const float alpha = fastExp(mrow[r] - mx);  // 0 on the first tile (exp(-inf))
        float psum = 0.0f;
        for (int64_t c = 0; c < visible; ++c) {
          pr[c] = fastExp(sr[c] - mx);
          psum += pr[c];
        }
        lrow[r] = lrow[r] * alpha + psum;
        mrow[r] = mx;
        float* ar = acc + r * d;
        for (int64_t x = 0; x < d; ++x) ar[x] *= alpha;
        for (int64_t c = 0; c < visible; ++c) {
          const float pc = pr[c];
          const float* vr = vh + (j0 + c) * d;
          for (int64_t x = 0; x < d; ++x) ar[x] += pc * vr[x];
        }
      }
    }
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = i0 + r;
      const float inv = 1.0f / lrow[r];  // inf when no key is visible: 0·inf gives NaN, as js
      float* o = out + (h * t + i) * d;
      const float* ar = acc + r * d;
      for (int64_t x = 0; x < d; ++x) o[x] = lrow[r] == 0.0f ? std::numeric_limits<float>::quiet_NaN() : ar[x] * inv;
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
  const int64_t off = s - t;
  // One task per head: dq rows gather contributions from every key tile of the same head.
  auto task = [&](int64_t h) {
    const float* qh = q + h * t * d;
    const float* kh = k + h * s * d;
    const float* vh = v + h * s * d;
    const float* oh = out + h * t * d;
    const float* gh = g + h * t * d;
    const float* lh = lse + h * t;
    float* dqh = dq + h * t * d;
    float* dkh = dk + h * s * d;
    float* dvh = dv + h * s * d;
    float* kt = tScratch.get(static_cast<size_t>(2 * kBc * d + t + 3 * kBc));
    float* vt = kt + kBc * d;
    float* delta = vt + kBc * d;
    float* sr = delta + t;
    float* dp = sr + kBc;
    float* ds = dp + kBc;
    // delta_i = sum_x dO_ix O_ix (= sum_j P_ij dP_ij).
    for (int64_t i = 0; i < t; ++i) {
      float a = 0.0f;
      for (int64_t x = 0; x < d; ++x) a += gh[i * d + x] * oh[i * d + x];
      delta[i] = a;
    }
    for (int64_t x = 0; x < t * d; ++x) dqh[x] = 0.0f;
    for (int64_t x = 0; x < s * d; ++x) {
      dkh[x] = 0.0f;
      dvh[x] = 0.0f;
    }
    for (int64_t j0 = 0; j0 < s; j0 += kBc) {
      const int64_t cn = s - j0 < kBc ? s - j0 : kBc;
      for (int64_t x = 0; x < kBc * d; ++x) {
        kt[x] = 0.0f;
        vt[x] = 0.0f;
      }
      transposeTile(kh + j0 * d, cn, d, kt);
      transposeTile(vh + j0 * d, cn, d, vt);
      float* dkb = dkh + j0 * d;
      float* dvb = dvh + j0 * d;
      const int64_t iStart = causal ? (j0 - off > 0 ? j0 - off : 0) : 0;
      for (int64_t i = iStart; i < t; ++i) {
        int64_t visible = causal ? i + off - j0 + 1 : cn;
        if (visible > cn) visible = cn;
        if (visible <= 0) continue;
        const float* qi = qh + i * d;
        const float* gi = gh + i * d;
        float* dqi = dqh + i * d;
        scoreRow(qi, kt, d, scale, sr);
        scoreRow(gi, vt, d, 1.0f, dp);
        const float li = lh[i], di = delta[i];
        for (int64_t c = 0; c < visible; ++c) {
          const float p = fastExp(sr[c] - li);
          sr[c] = p;
          ds[c] = p * (dp[c] - di) * scale;
        }
        for (int64_t c = 0; c < visible; ++c) {
          const float p = sr[c], dsc = ds[c];
          const float* kc = kh + (j0 + c) * d;
          float* dvc = dvb + c * d;
          float* dkc = dkb + c * d;
          for (int64_t x = 0; x < d; ++x) {
            dvc[x] += p * gi[x];
            dqi[x] += dsc * kc[x];
            dkc[x] += dsc * qi[x];
          }
        }
      }
    }
  };
  if (bh * t * s * d < kSerialElems * 4) {
    for (int64_t h = 0; h < bh; ++h) task(h);
  } else {
    parallelTasks(bh, [&](int64_t h, int) { task(h); });
  }
}

}  // namespace tf
