// Scaled dot-product attention computed in tiles with an online softmax (FlashAttention, Dao et al.
// 2022, Algorithm 1; backward as in FlashAttention-2, Dao 2023, Algorithm 2): scores exist one
// [kBr, kBc] tile at a time, so memory grows linearly with the sequence length. The forward keeps
// only the output and the row log-sum-exp; the backward recomputes probabilities from them.
// Tile products run on the register-blocked tileGemm; operands are copied into 64-byte aligned,
// zero-padded per-thread scratch (head size rounded up to a multiple of 16).
// Masks never exist as arrays: causal (key j <= i + s - t), sliding window (key j > i + s - t -
// window) and key padding (keyPad [batch, s], non-zero = ignored; head h belongs to batch h / heads)
// decide per tile and per row which keys a query sees; key tiles that no row of a block sees are
// skipped in forward and backward. Rotary position embedding (rotate-half layout, tables cos/sin
// [s, d/2]: key j uses row j, query i row i + s - t) is applied to q and k as their tiles are loaded
// (backward: gradients are rotated back at write-out), so no rotated copy of q or k is kept.
// A query that sees no key gets output 0, lse -inf and no gradient.
#include <cstdlib>
#include <memory>

#include "common.h"
#include "attention-tiles.h"
#include "kernels.h"
#include "tile_gemm.h"

namespace tf {
namespace {

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

// The same for rows rotated by RoPE first: row r has position pos0 + r (tables cos/sin [., d/2]).
inline void loadRowsRope(const float* src, int64_t rows, int64_t padRows, int64_t d, int64_t dp, float scale,
                         const float* cosT, const float* sinT, int64_t pos0, float* dst) {
  const int64_t hd = d / 2;
  for (int64_t r = 0; r < rows; ++r) {
    const float* a = src + r * d;
    const float* c = cosT + (pos0 + r) * hd;
    const float* sn = sinT + (pos0 + r) * hd;
    float* o = dst + r * dp;
    for (int64_t x = 0; x < hd; ++x) {
      o[x] = (a[x] * c[x] - a[x + hd] * sn[x]) * scale;
      o[x + hd] = (a[x + hd] * c[x] + a[x] * sn[x]) * scale;
    }
    for (int64_t x = d; x < dp; ++x) o[x] = 0.0f;
  }
  for (int64_t x = rows * dp; x < padRows * dp; ++x) dst[x] = 0.0f;
}

// loadTransposed of rows rotated by RoPE (row c has position pos0 + c).
inline void loadTransposedRope(const float* src, int64_t cn, int64_t d, int64_t dp, const float* cosT,
                               const float* sinT, int64_t pos0, float* dst) {
  const int64_t hd = d / 2;
  for (int64_t x = 0; x < dp * kBc; ++x) dst[x] = 0.0f;
  for (int64_t c = 0; c < cn; ++c) {
    const float* a = src + c * d;
    const float* cs = cosT + (pos0 + c) * hd;
    const float* sn = sinT + (pos0 + c) * hd;
    for (int64_t x = 0; x < hd; ++x) {
      dst[x * kBc + c] = a[x] * cs[x] - a[x + hd] * sn[x];
      dst[(x + hd) * kBc + c] = a[x + hd] * cs[x] + a[x] * sn[x];
    }
  }
}

// Forward of query block i0 of head h. kMasked: a window or key padding is active (the plain causal
// / full path keeps its own, simpler row loop).
template <bool kMasked>
void forwardBlock(const Problem& pb, const float* q, const float* k, const float* v, float* out, float* lse,
                  int64_t h, int64_t i0, float scale) {
  const int64_t t = pb.t, s = pb.s, d = pb.d, dp = pb.dp, off = pb.off;
  const int64_t rows = i0 + kBr < t ? kBr : t - i0;
  const float kNegInf = -std::numeric_limits<float>::infinity();
  Scratch& sc = tScratch;
  sc.reserve(static_cast<size_t>(4 * kBr * dp + dp * kBc + kBr * kBc + 2 * kBr + kBc + 64));
  float* qs = sc.take(kBr * dp);
  float* kt = sc.take(dp * kBc);
  float* vp = sc.take(kBc * dp);
  float* sm = sc.take(kBr * kBc);
  float* acc = sc.take(kBr * dp);
  float* mrow = sc.take(kBr);
  float* lrow = sc.take(kBr);
  float* kb = sc.take(kBc);
  const float* kh = k + h * s * d;
  const float* vh = v + h * s * d;
  if (pb.cosT) loadRowsRope(q + (h * t + i0) * d, rows, rows, d, dp, scale, pb.cosT, pb.sinT, i0 + off, qs);
  else loadRows(q + (h * t + i0) * d, rows, rows, d, dp, scale, qs);
  for (int64_t r = 0; r < rows; ++r) {
    mrow[r] = kNegInf;
    lrow[r] = 0.0f;
  }
  for (int64_t x = 0; x < rows * dp; ++x) acc[x] = 0.0f;
  const int64_t jBeg = pb.lo(i0), jEnd = pb.hi(i0 + rows - 1);  // keys any row of this block can see
  for (int64_t j0 = jBeg; j0 < jEnd; j0 += kBc) {
    const int64_t cn = jEnd - j0 < kBc ? jEnd - j0 : kBc;
    if (kMasked && !pb.tileBias(h, j0, cn, kb)) continue;  // every key of the tile is padding
    if (pb.cosT) loadTransposedRope(kh + j0 * d, cn, d, dp, pb.cosT, pb.sinT, j0, kt);
    else loadTransposed(kh + j0 * d, cn, d, dp, kt);
    loadRows(vh + j0 * d, cn, kBc, d, dp, 1.0f, vp);
    tileGemm(rows, kBc, dp, qs, dp, kt, kBc, sm, kBc, false);
    for (int64_t r = 0; r < rows; ++r) {
      float* sr = sm + r * kBc;
      float lm[16];
      for (int l = 0; l < 16; ++l) lm[l] = kNegInf;
      if (kMasked) {
        const int64_t lo = clampTo(pb.lo(i0 + r) - j0, cn), hi = clampTo(pb.hi(i0 + r) - j0, cn);
        for (int64_t c = 0; c < kBc; c += 16)
          for (int l = 0; l < 16; ++l) {
            const float x = c + l >= lo && c + l < hi ? sr[c + l] + kb[c + l] : kNegInf;
            sr[c + l] = x;
            lm[l] = x > lm[l] ? x : lm[l];
          }
      } else {
        int64_t vis = pb.causal ? i0 + r + off - j0 + 1 : cn;
        if (vis > cn) vis = cn;
        if (vis <= 0) {
          for (int64_t c = 0; c < kBc; ++c) sr[c] = 0.0f;
          continue;
        }
        // Max and sum over 16 independent lanes, so that both loops vectorise (no reassociation).
        for (int64_t c = 0; c < kBc; c += 16)
          for (int l = 0; l < 16; ++l) {
            const float x = c + l < vis ? sr[c + l] : kNegInf;
            sr[c + l] = x;
            lm[l] = x > lm[l] ? x : lm[l];
          }
      }
      float mx = mrow[r];
      for (int l = 0; l < 16; ++l) mx = lm[l] > mx ? lm[l] : mx;
      if (kMasked && mx == kNegInf) {  // nothing visible yet
        for (int64_t c = 0; c < kBc; ++c) sr[c] = 0.0f;
        continue;
      }
      const float alpha = fastExp(mrow[r] - mx);  // 0 on the first visible tile (exp(-inf))
      float ls[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t c = 0; c < kBc; c += 16)
        for (int l = 0; l < 16; ++l) {
          const float p = fastExp(sr[c + l] - mx);  // masked: exp(-inf) = 0
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
  finishRows(acc, dp, mrow, lrow, rows, d, out + (h * t + i0) * d, d, lse + h * t + i0);
}

// Backward of head h (dq rows gather contributions from every key tile of the head).
template <bool kMasked>
void backwardHead(const Problem& pb, const float* q, const float* k, const float* v, const float* out,
                  const float* lse, const float* g, float* dq, float* dk, float* dv, int64_t h, float scale) {
  const int64_t t = pb.t, s = pb.s, d = pb.d, dp = pb.dp, off = pb.off;
  const float kNegInf = -std::numeric_limits<float>::infinity();
  Scratch& sc = tScratch;
  sc.reserve(static_cast<size_t>(3 * t * dp + t + 2 * dp * kBc + 3 * kBc * dp + 4 * kBr * kBc + kBc + 160));
  float* qs = sc.take(t * dp);   // scale·Q (rotated), so that S = qs·Kᵀ and dK = dSᵀ·qs
  float* gs = sc.take(t * dp);   // dO
  float* dqs = sc.take(t * dp);  // dQ / scale (w.r.t. the rotated Q)
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
  float* kb = sc.take(kBc);
  const float* kh = k + h * s * d;
  const float* vh = v + h * s * d;
  const float* lh = lse + h * t;
  if (pb.cosT) loadRowsRope(q + h * t * d, t, t, d, dp, scale, pb.cosT, pb.sinT, off, qs);
  else loadRows(q + h * t * d, t, t, d, dp, scale, qs);
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
    for (int64_t x = 0; x < kBc * dp; ++x) {
      dkt[x] = 0.0f;
      dvt[x] = 0.0f;
    }
    // Queries that can see a key of this tile: [iStart, iEnd).
    const int64_t iStart = pb.causal ? (j0 - off > 0 ? j0 - off : 0) : 0;
    int64_t iEnd = t;
    if (pb.window > 0 && j0 + cn - 1 - off + pb.window < t) iEnd = j0 + cn - 1 - off + pb.window;
    const bool live = iStart < iEnd && (!kMasked || pb.tileBias(h, j0, cn, kb));
    if (live) {
      if (pb.cosT) {
        loadTransposedRope(kh + j0 * d, cn, d, dp, pb.cosT, pb.sinT, j0, kt);
        loadRowsRope(kh + j0 * d, cn, kBc, d, dp, 1.0f, pb.cosT, pb.sinT, j0, kp);
      } else {
        loadTransposed(kh + j0 * d, cn, d, dp, kt);
        loadRows(kh + j0 * d, cn, kBc, d, dp, 1.0f, kp);
      }
      loadTransposed(vh + j0 * d, cn, d, dp, vt);
    }
    for (int64_t i0 = iStart; live && i0 < iEnd; i0 += kBr) {
      const int64_t rows = iEnd - i0 < kBr ? iEnd - i0 : kBr;
      tileGemm(rows, kBc, dp, qs + i0 * dp, dp, kt, kBc, sm, kBc, false);
      tileGemm(rows, kBc, dp, gs + i0 * dp, dp, vt, kBc, dpm, kBc, false);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        const float li = lh[i], di = delta[i];
        float* sr = sm + r * kBc;
        float* dr = dpm + r * kBc;
        if (kMasked) {
          const int64_t lo = clampTo(pb.lo(i) - j0, cn), hi = li == kNegInf ? 0 : clampTo(pb.hi(i) - j0, cn);
          for (int64_t c = 0; c < kBc; ++c) {
            const bool on = c >= lo && c < hi && kb[c] == 0.0f;
            const float p = on ? fastExp(sr[c] - li) : 0.0f;
            const float ds = on ? p * (dr[c] - di) : 0.0f;
            sr[c] = p;
            dr[c] = ds;
          }
        } else {
          int64_t vis = pb.causal ? i + off - j0 + 1 : cn;
          if (vis > cn) vis = cn;
          for (int64_t c = 0; c < kBc; ++c) {
            const bool on = c < vis;
            const float p = on ? fastExp(sr[c] - li) : 0.0f;
            const float ds = on ? p * (dr[c] - di) : 0.0f;
            sr[c] = p;
            dr[c] = ds;
          }
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
    for (int64_t c = 0; c < cn; ++c) {
      storeRow(dkt + c * dp, d, 1.0f, pb.cosT, pb.sinT, j0 + c, dkh + c * d);
      for (int64_t x = 0; x < d; ++x) dvh[c * d + x] = dvt[c * dp + x];
    }
  }
  float* dqh = dq + h * t * d;
  for (int64_t i = 0; i < t; ++i) storeRow(dqs + i * dp, d, scale, pb.cosT, pb.sinT, i + off, dqh + i * d);
}

}  // namespace

void attention(const float* q, const float* k, const float* v, float* out, float* lse, const float* keyPad,
               const float* ropeCos, const float* ropeSin, int64_t bh, int64_t t, int64_t s, int64_t d, int64_t heads,
               float scale, bool causal, int64_t window) {
  if (bh <= 0 || t <= 0 || d < 0) return;
  const Problem pb = makeProblem(keyPad, ropeCos, ropeSin, t, s, d, heads, causal, window);
  const bool masked = pb.keyPad != nullptr || pb.window > 0;
  const int64_t qBlocks = (t + kBr - 1) / kBr;
  auto task = [&](int64_t task) {
    const int64_t h = task / qBlocks, i0 = (task % qBlocks) * kBr;
    if (masked) forwardBlock<true>(pb, q, k, v, out, lse, h, i0, scale);
    else forwardBlock<false>(pb, q, k, v, out, lse, h, i0, scale);
  };
  const int64_t tasks = bh * qBlocks;
  if (bh * t * s * d < kSerialElems * 4) {
    for (int64_t i = 0; i < tasks; ++i) task(i);
  } else {
    parallelTasks(tasks, [&](int64_t i, int) { task(i); });
  }
}

void attentionBackward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                       const float* g, float* dq, float* dk, float* dv, const float* keyPad, const float* ropeCos,
                       const float* ropeSin, int64_t bh, int64_t t, int64_t s, int64_t d, int64_t heads, float scale,
                       bool causal, int64_t window) {
  if (bh <= 0) return;
  const Problem pb = makeProblem(keyPad, ropeCos, ropeSin, t, s, d, heads, causal, window);
  const bool masked = pb.keyPad != nullptr || pb.window > 0;
  auto task = [&](int64_t h) {
    if (masked) backwardHead<true>(pb, q, k, v, out, lse, g, dq, dk, dv, h, scale);
    else backwardHead<false>(pb, q, k, v, out, lse, g, dq, dk, dv, h, scale);
  };
  if (bh * t * s * d < kSerialElems * 4) {
    for (int64_t h = 0; h < bh; ++h) task(h);
  } else {
    parallelTasks(bh, [&](int64_t h, int) { task(h); });
  }
}

}  // namespace tf
