// What the tiled attention kernels share (attention.cc: float32 tiles; attention-amx.cc: bf16 tiles
// on AMX or AVX512_BF16): tile sizes, the mask and RoPE description of one call, and the gradient write-out.
// See attention.cc for the algorithm and the mask rules.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace tf {

constexpr int64_t kBr = 64;  // query rows per tile
constexpr int64_t kBc = 64;  // keys per tile

inline int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }
inline int64_t clampTo(int64_t x, int64_t n) { return x < 0 ? 0 : (x > n ? n : x); }

// Everything the tile loops share.
struct Problem {
  const float* keyPad;  // [batch, s] or null
  const float* cosT;    // [s, d/2] or null
  const float* sinT;
  int64_t t, s, d, dp, heads, window, off;
  bool causal;
  // Keys [lo, hi) that query i may see before padding.
  int64_t lo(int64_t i) const { return window > 0 && i + off - window + 1 > 0 ? i + off - window + 1 : 0; }
  int64_t hi(int64_t i) const {
    if (!causal) return s;
    const int64_t h = i + off + 1;
    return h < 0 ? 0 : (h > s ? s : h);
  }
  // kb[c] = -inf for padded keys j0 + c (c < cn), else 0; returns whether any key of the tile is real.
  bool tileBias(int64_t h, int64_t j0, int64_t cn, float* kb) const {
    for (int64_t c = 0; c < kBc; ++c) kb[c] = 0.0f;
    if (!keyPad) return true;
    const float* kp = keyPad + (h / heads) * s + j0;
    bool any = false;
    for (int64_t c = 0; c < cn; ++c) {
      const bool pad = kp[c] != 0.0f;
      kb[c] = pad ? -std::numeric_limits<float>::infinity() : 0.0f;
      any = any || !pad;
    }
    return any;
  }
};

// Where the rows of each head lie in an operand: row i of head h (of bh = batch·heads) starts at element
// (h / heads)·batch + (h % heads)·head + i·row. Dense [bh, n, d]: {1, n·d, 0, d}. GPT-2's packed
// projection [b, t, 3, heads, d] (q, k, v at element offsets 0, heads·d, 2·heads·d): {heads, t·3·heads·d,
// d, 3·heads·d}; heads merged [b, t, heads, d]: {heads, t·heads·d, d, heads·d}.
struct Rows {
  int64_t heads, batch, head, row;
  int64_t at(int64_t h, int64_t i = 0) const { return (h / heads) * batch + (h % heads) * head + i * row; }
};
inline Rows denseRows(int64_t n, int64_t d) { return Rows{1, n * d, 0, d}; }
inline Rows interleavedRows(int64_t heads, int64_t t, int64_t width, int64_t d) { return Rows{heads, t * width, d, width}; }

// The layouts of one call: q (and dq), k and v (and dk, dv), out (and its gradient g). lse is always
// dense [bh, t].
struct Layout {
  Rows q, kv, o;
};
inline Layout denseLayout(int64_t t, int64_t s, int64_t d) { return Layout{denseRows(t, d), denseRows(s, d), denseRows(t, d)}; }

inline Problem makeProblem(const float* keyPad, const float* cosT, const float* sinT, int64_t t, int64_t s, int64_t d,
                           int64_t heads, bool causal, int64_t window) {
  Problem pb;
  pb.keyPad = heads > 0 ? keyPad : nullptr;
  pb.cosT = cosT && sinT && d >= 2 ? cosT : nullptr;
  pb.sinT = pb.cosT ? sinT : nullptr;
  pb.t = t;
  pb.s = s;
  pb.d = d;
  pb.dp = round16(d > 0 ? d : 1);
  pb.heads = heads > 0 ? heads : 1;
  pb.window = window > 0 ? window : 0;
  pb.off = s - t;
  pb.causal = causal;
  return pb;
}

// float32 → bf16 bits, round to nearest even (NaN stays NaN, quieted).
inline uint16_t roundToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
// An output element: float32 as it is, or bf16 bits (rounded to nearest even).
inline void putValue(float* o, float v) { *o = v; }
inline void putValue(uint16_t* o, float v) { *o = roundToBf16(v); }

// The end of one query tile of the forward pass: each row's output is its accumulated P·V divided by
// its softmax sum, and its log-sum-exp is max + log(sum). A row that saw no key (sum 0) gets output 0
// and log-sum-exp -inf, which the backward reads as "no gradient".
// out: the block's first output row (rows ldo elements apart; float32, or bf16 bits: the float32
// value rounded); lse: its first log-sum-exp.
template <class O>
inline void finishRows(const float* acc, int64_t dp, const float* mrow, const float* lrow, int64_t rows, int64_t d,
                       O* out, int64_t ldo, float* lse) {
  for (int64_t r = 0; r < rows; ++r) {
    O* o = out + r * ldo;
    const float* ar = acc + r * dp;
    if (lrow[r] == 0.0f) {
      for (int64_t x = 0; x < d; ++x) o[x] = 0;
      lse[r] = -std::numeric_limits<float>::infinity();
      continue;
    }
    const float inv = 1.0f / lrow[r];
    for (int64_t x = 0; x < d; ++x) putValue(o + x, ar[x] * inv);
    lse[r] = mrow[r] + std::log(lrow[r]);
  }
}

// dst[x] = scale * (Rᵀ src)[x] for one row of gradients w.r.t. a rotated vector (position pos), or
// scale * src[x] without RoPE.
inline void storeRow(const float* src, int64_t d, float scale, const float* cosT, const float* sinT, int64_t pos,
                     float* dst) {
  if (!cosT) {
    for (int64_t x = 0; x < d; ++x) dst[x] = src[x] * scale;
    return;
  }
  const int64_t hd = d / 2;
  const float* c = cosT + pos * hd;
  const float* sn = sinT + pos * hd;
  for (int64_t x = 0; x < hd; ++x) {
    dst[x] = (src[x] * c[x] + src[x + hd] * sn[x]) * scale;
    dst[x + hd] = (src[x + hd] * c[x] - src[x] * sn[x]) * scale;
  }
}

// ---- the bf16 path (attention-amx.cc) --------------------------------------------------------
/** True when this CPU has AVX512_BF16 (with AVX512F/BW/VL/DQ) and the OS saves the AVX-512 state. */
bool attentionAvx512Bf16Available();
/** True when, on top of that, it has AMX-BF16 and the OS granted this process its tile state. */
bool attentionAmxAvailable();
/** Where the bf16 kernel's tile products run (the rest of the kernel is the same AVX-512 code). */
enum class Bf16Products { kAmx, kAvx512Bf16 };
/** attention() on bf16 bit patterns q, k, v (see attention-amx.cc for what is rounded where), the rows of
 * q, k, v, out where `lay` puts them; out float32, or bf16 bits (O = uint16_t: rounded as it is stored).
 * `on` must be available (attentionAmxAvailable / attentionAvx512Bf16Available). */
template <class O>
void attentionBf16(Bf16Products on, const uint16_t* q, const uint16_t* k, const uint16_t* v, O* out, float* lse,
                   const Problem& pb, const Layout& lay, int64_t bh, float scale);
/** attentionBackward() on bf16 bit patterns q, k, v; out, g, dq, dk, dv float32, or all bf16 bits (O =
 * uint16_t: out and g read as they are, dq, dk, dv rounded as they are stored); dq as q, dk and dv as k,
 * g as out. */
template <class O>
void attentionBf16Backward(Bf16Products on, const uint16_t* q, const uint16_t* k, const uint16_t* v, const O* out,
                           const float* lse, const O* g, O* dq, O* dk, O* dv, const Problem& pb, const Layout& lay,
                           int64_t bh, float scale);

}  // namespace tf
