// The own bfloat16 GEMM: a register-blocked kernel on AVX512_BF16's vdpbf16ps (16 lanes, each a
// float32 sum of two bf16 products per instruction). Goto/BLIS structure: B is packed once per
// [KC × NC] block and A once per [MC × KC] block, both as bf16 pairs along k (the layout vdpbf16ps
// reads), converting float32 operands with round-to-nearest-even (vcvtne2ps2bf16) while packing,
// so every operand element is converted once per tile, never per product. Operands contiguous along
// the block's rows are packed 16 elements at a time; k-contiguous ones (x, g, a weight used as Wᵀ) as
// 16 × 16 blocks of bf16 pairs transposed in registers (a gather was slower than scalar code here). The
// micro-kernel keeps an 8 × 48 block of C in 24 zmm registers; after the last k block it can add a
// bias and store bf16 (castToLowp's rounding) instead of float32 (bf16GemmOwnEx). Compiled with
// target attributes; callers check the CPU first (__builtin_cpu_supports), so the file builds and
// loads on any x86-64.
//
// Like the instructions themselves, this path treats float32 subnormal inputs (|x| < 1.2e-38) as
// zero and flushes subnormal results to zero.
#include "bf16-gemm.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "common.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TF_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define TF_HAVE_BF16_KERNEL 1
#endif

namespace tf {

#if defined(TF_HAVE_BF16_KERNEL)
namespace {

constexpr int kMr = 8, kNr = 48;       // register block of C: 8 rows × 3 zmm
constexpr int64_t kKc = 256;           // k elements per packed block (128 bf16 pairs): B panel 24 KiB
constexpr int64_t kMc = 192;           // rows of A per packed block (96 KiB)
constexpr int64_t kNc = 1536;          // columns of B per packed block (768 KiB)

// 64-byte aligned scratch that grows and is reused (one per thread).
struct Scratch {
  uint32_t* p = nullptr;
  size_t cap = 0;
  uint32_t* get(size_t n) {
    if (n > cap) {
      std::free(p);
      p = static_cast<uint32_t*>(std::aligned_alloc(64, (n * 4 + 63) / 64 * 64));
      cap = n;
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};
thread_local Scratch tlsA, tlsB, tlsT;

// 16 × 16 uint32 transpose in registers (unpack 32, unpack 64, two 128-bit lane shuffles).
TF_BF16 inline void transpose16(__m512i r[16]) {
  __m512i t[16], u[16], v[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm512_shuffle_i32x4(u[i], u[i + 4], 0x88);
    v[i + 4] = _mm512_shuffle_i32x4(u[i], u[i + 4], 0xdd);
    v[8 + i] = _mm512_shuffle_i32x4(u[8 + i], u[12 + i], 0x88);
    v[12 + i] = _mm512_shuffle_i32x4(u[8 + i], u[12 + i], 0xdd);
  }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_i32x4(v[i], v[8 + i], 0x88);
    r[8 + i] = _mm512_shuffle_i32x4(v[i], v[8 + i], 0xdd);
  }
}

// Pairs transposed: out[p*W + w] = the uint32 at base + w*rowBytes + 4p (any alignment) for p < kp,
// w < wValid, zeros for wValid <= w < W; 16 × 16 blocks transposed in registers.
TF_BF16 void transposePairs(const char* base, int64_t rowBytes, int W, int wValid, int64_t kp, uint32_t* out) {
  __m512i r[16];
  for (int w0 = 0; w0 < W; w0 += 16) {
    const int nw = wValid - w0 >= 16 ? 16 : (wValid - w0 > 0 ? wValid - w0 : 0);
    const __mmask16 st = static_cast<__mmask16>(W - w0 >= 16 ? 0xffffu : (1u << (W - w0)) - 1u);
    for (int64_t p0 = 0; p0 < kp; p0 += 16) {
      const int np = kp - p0 >= 16 ? 16 : static_cast<int>(kp - p0);
      const __mmask16 ld = static_cast<__mmask16>(np == 16 ? 0xffffu : (1u << np) - 1u);
      for (int i = 0; i < 16; ++i)
        r[i] = i < nw ? _mm512_maskz_loadu_epi32(ld, base + (w0 + i) * rowBytes + p0 * 4) : _mm512_setzero_si512();
      transpose16(r);
      for (int j = 0; j < np; ++j) _mm512_mask_storeu_epi32(out + (p0 + j) * W + w0, st, r[j]);
    }
  }
}

// Element (w, kk) of an operand viewed as [W × K] lies at src[w*ws + kk*ks] (one of ws, ks is 1).
// Writes out[p*W + w] = bf16 pair (el(w, 2p), el(w, 2p+1)) for p < ceil(kc/2), w < W, with zeros
// past wValid and past kc.
TF_BF16 void packF32(const float* src, int64_t ws, int64_t ks, int W, int wValid, int64_t kc, uint32_t* out) {
  const int64_t kp = (kc + 1) / 2;
  if (ws == 1) {
    // Rows along w are contiguous: convert two k-rows and interleave them into pairs.
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int64_t p = 0; p < kp; ++p) {
      const float* r0 = src + 2 * p * ks;
      const bool has1 = 2 * p + 1 < kc;
      const float* r1 = r0 + ks;
      for (int w = 0; w < W; w += 16) {
        const int valid = wValid - w >= 16 ? 16 : (wValid - w > 0 ? wValid - w : 0);
        const __mmask16 mk = static_cast<__mmask16>((1u << valid) - 1u);
        const __m512 x0 = _mm512_maskz_loadu_ps(mk, r0 + w);
        const __m512 x1 = has1 ? _mm512_maskz_loadu_ps(mk, r1 + w) : _mm512_setzero_ps();
        const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);  // low 16: row 0, high 16: row 1
        const __m512i pairs = _mm512_permutexvar_epi16(idx, both);
        if (W - w >= 16) _mm512_storeu_si512(out + p * W + w, pairs);
        else _mm512_mask_storeu_epi32(out + p * W + w, static_cast<__mmask16>((1u << (W - w)) - 1u), pairs);
      }
    }
    return;
  }
  // k contiguous: convert each w-row along k (pairs come out in order) into a [wValid × kp] buffer,
  // then transpose its pairs into place.
  const int64_t stride = kp + 1;
  uint32_t* rows = tlsT.get(static_cast<size_t>(wValid * stride + 16));
  for (int w = 0; w < wValid; ++w) {
    const float* s = src + w * ws;
    uint16_t* row = reinterpret_cast<uint16_t*>(rows + w * stride);
    int64_t kk = 0;
    for (; kk + 32 <= kc; kk += 32) {
      const __m512 lo = _mm512_loadu_ps(s + kk), hi = _mm512_loadu_ps(s + kk + 16);
      _mm512_storeu_si512(row + kk, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    for (; kk < kc; kk += 16) {
      const int valid = kc - kk >= 16 ? 16 : static_cast<int>(kc - kk);
      const __m512 x = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << valid) - 1u), s + kk);
      _mm256_mask_storeu_epi16(row + kk, static_cast<__mmask16>((1u << valid) - 1u), (__m256i)_mm512_cvtneps_pbh(x));
    }
    if (kc & 1) row[kc] = 0;
  }
  transposePairs(reinterpret_cast<const char*>(rows), stride * 4, W, wValid, kp, out);
}

// The same for operands already in bf16 bits.
TF_BF16 void packBits(const uint16_t* src, int64_t ws, int64_t ks, int W, int wValid, int64_t kc, uint32_t* out) {
  const int64_t kp = (kc + 1) / 2;
  if (ws == 1) {
    // Rows along w are contiguous: widen two k-rows to 32 bits and join them into pairs.
    for (int64_t p = 0; p < kp; ++p) {
      const uint16_t* r0 = src + 2 * p * ks;
      const bool has1 = 2 * p + 1 < kc;
      const uint16_t* r1 = r0 + ks;
      for (int w = 0; w < W; w += 16) {
        const int valid = wValid - w >= 16 ? 16 : (wValid - w > 0 ? wValid - w : 0);
        const __mmask16 mk = static_cast<__mmask16>((1u << valid) - 1u);
        const __m512i x0 = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mk, r0 + w));
        const __m512i x1 = has1 ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mk, r1 + w)) : _mm512_setzero_si512();
        const __m512i pairs = _mm512_or_si512(x0, _mm512_slli_epi32(x1, 16));
        if (W - w >= 16) _mm512_storeu_si512(out + p * W + w, pairs);
        else _mm512_mask_storeu_epi32(out + p * W + w, static_cast<__mmask16>((1u << (W - w)) - 1u), pairs);
      }
    }
    return;
  }
  if (ks == 1) {
    // k contiguous: the pairs are (unaligned) uint32 words in place. An odd kc's last pair, whose
    // second element lies past the block, is written by the scalar loop below.
    const int64_t full = kc / 2;
    transposePairs(reinterpret_cast<const char*>(src), ws * 2, W, wValid, full, out);
    if (full == kp) return;
    for (int w = 0; w < W; ++w) out[full * W + w] = w < wValid ? src[w * ws + 2 * full] : 0;
    return;
  }
  for (int64_t p = 0; p < kp; ++p) {
    for (int w = 0; w < W; ++w) {
      uint32_t lo = 0, hi = 0;
      if (w < wValid) {
        lo = src[w * ws + 2 * p * ks];
        if (2 * p + 1 < kc) hi = src[w * ws + (2 * p + 1) * ks];
      }
      out[p * W + w] = lo | (hi << 16);
    }
  }
}

inline void pack(const void* src, int kind, int64_t ws, int64_t ks, int W, int wValid, int64_t kc, uint32_t* out) {
  if (kind == kOperandF32) packF32(static_cast<const float*>(src), ws, ks, W, wValid, kc, out);
  else packBits(static_cast<const uint16_t*>(src), ws, ks, W, wValid, kc, out);
}

// bf16 bits of 16 float32 values, castToLowp's rule (round to nearest even, NaN quieted, subnormals
// kept) in integer ops; vcvtneps2bf16 would flush subnormals.
TF_BF16 inline __m256i bf16Round(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i expMask = _mm512_set1_epi32(0x7f800000), mantMask = _mm512_set1_epi32(0x007fffff);
  const __mmask16 nan = _mm512_cmpeq_epi32_mask(_mm512_and_si512(u, expMask), expMask) & _mm512_test_epi32_mask(u, mantMask);
  __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1))));
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x400000)));
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16));
}

// What a tile does after its last k block: bias [48] (float32, added to every row) and/or the result
// stored as bf16 bits at out16 (leading dimension ld16) instead of float32 into C.
struct Epilogue {
  const float* bias = nullptr;
  uint16_t* out16 = nullptr;
  int64_t ld16 = 0;
};

// C[MR × 48] (ldc) = alpha·acc + beta·C (first k block) or C + alpha·acc, acc = Σ_p A_p ⊗ B_p; after
// the last k block (last), plus the bias, and to out16 as bf16 when the epilogue says so (C is then
// neither read on the first block nor written on the last).
template <int MR>
TF_BF16 void micro(int64_t kp, const uint32_t* A, const uint32_t* B, float* C, int64_t ldc, float alpha, float beta,
                   bool first, bool last, const Epilogue& e) {
  __m512 acc[MR][3];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < 3; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kp; ++p) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(B + p * kNr);
    const __m512bh b1 = (__m512bh)_mm512_load_si512(B + p * kNr + 16);
    const __m512bh b2 = (__m512bh)_mm512_load_si512(B + p * kNr + 32);
    for (int r = 0; r < MR; ++r) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(A[p * MR + r]));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, b1);
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], a, b2);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const bool bias = last && e.bias != nullptr, to16 = last && e.out16 != nullptr;
  for (int r = 0; r < MR; ++r) {
    for (int v = 0; v < 3; ++v) {
      float* cp = C + r * ldc + 16 * v;
      __m512 y = _mm512_mul_ps(va, acc[r][v]);
      if (!first) y = _mm512_add_ps(y, _mm512_loadu_ps(cp));
      else if (beta != 0.0f) y = _mm512_fmadd_ps(vb, _mm512_loadu_ps(cp), y);
      if (bias) y = _mm512_add_ps(y, _mm512_loadu_ps(e.bias + 16 * v));
      if (to16) _mm256_storeu_si256(reinterpret_cast<__m256i*>(e.out16 + r * e.ld16 + 16 * v), bf16Round(y));
      else _mm512_storeu_ps(cp, y);
    }
  }
}

// A partial tile (rows < 8 or columns < 48): computed into a full 8 × 48 scratch tile, then copied.
TF_BF16 void microEdge(int64_t kp, const uint32_t* A, const uint32_t* B, float* C, int64_t ldc, int rows, int cols,
                       float alpha, float beta, bool first, bool last, const Epilogue& e) {
  alignas(64) float t[kMr * kNr];
  alignas(64) float bias[kNr];
  alignas(64) uint16_t t16[kMr * kNr];
  const bool to16 = last && e.out16 != nullptr;
  if (!first || beta != 0.0f)
    for (int r = 0; r < rows; ++r) std::memcpy(t + r * kNr, C + r * ldc, sizeof(float) * cols);
  Epilogue te;
  if (last && e.bias != nullptr) {
    std::memcpy(bias, e.bias, sizeof(float) * cols);
    for (int j = cols; j < kNr; ++j) bias[j] = 0.0f;
    te.bias = bias;
  }
  if (to16) {
    te.out16 = t16;
    te.ld16 = kNr;
  }
  micro<kMr>(kp, A, B, t, kNr, alpha, beta, first, last, te);
  if (to16)
    for (int r = 0; r < rows; ++r) std::memcpy(e.out16 + r * e.ld16, t16 + r * kNr, sizeof(uint16_t) * cols);
  else
    for (int r = 0; r < rows; ++r) std::memcpy(C + r * ldc, t + r * kNr, sizeof(float) * cols);
}

// Packs columns [jc, jc + panels·NR) of B (columns past n zero) over the k block [pc, pc + kc) into
// NR-column panels of kp pairs at Bp.
TF_BF16 void packPanels(const char* bb, int bKind, int bBytes, int64_t bks, int64_t bjs, int64_t n, int64_t jc,
                        int64_t panels, int64_t pc, int64_t kc, int64_t kp, uint32_t* Bp) {
  for (int64_t jp = 0; jp < panels; ++jp) {
    const int64_t j0 = jc + jp * kNr;
    const int valid = static_cast<int>(n - j0 < kNr ? n - j0 : kNr);
    pack(bb + (pc * bks + j0 * bjs) * bBytes, bKind, bjs, bks, kNr, valid, kc, Bp + jp * kp * kNr);
  }
}

// Packs rows [ic, ic + slivers·MR) of A (rows past m zero) over the k block [pc, pc + kc) into MR-row
// slivers of kp pairs at Ap.
TF_BF16 void packSlivers(const char* ab, int aKind, int aBytes, int64_t ars, int64_t aks, int64_t m, int64_t ic,
                         int64_t slivers, int64_t pc, int64_t kc, int64_t kp, uint32_t* Ap) {
  for (int64_t s = 0; s < slivers; ++s) {
    const int64_t i0 = ic + s * kMr;
    const int valid = static_cast<int>(m - i0 < kMr ? m - i0 : kMr);
    pack(ab + (i0 * ars + pc * aks) * aBytes, aKind, ars, aks, kMr, valid, kc, Ap + s * kp * kMr);
  }
}

// One k block's products for the C block of rows [ic, ic + slivers·MR) and columns [jc, jc + panels·NR):
// every MR × NR tile from A's slivers (Ap) and B's panels (Bp). C's tile (s, jp) is at
// cBlock + s·MR·ldc + jp·NR (cBlock null: C unused, bf16 result only); bias and out16 as in Epilogue.
TF_BF16 void blockTiles(const uint32_t* Ap, const uint32_t* Bp, int64_t kp, int64_t m, int64_t n, int64_t ic, int64_t jc,
                        int64_t slivers, int64_t panels, float* cBlock, int64_t ldc, float alpha, float beta, bool first,
                        bool last, const float* bias, uint16_t* out16, int64_t ld16) {
  for (int64_t jp = 0; jp < panels; ++jp) {
    const int64_t j0 = jc + jp * kNr;
    const int cols = static_cast<int>(n - j0 < kNr ? n - j0 : kNr);
    for (int64_t s = 0; s < slivers; ++s) {
      const int64_t i0 = ic + s * kMr;
      const int rows = static_cast<int>(m - i0 < kMr ? m - i0 : kMr);
      float* cp = cBlock != nullptr ? cBlock + (s * kMr) * ldc + jp * kNr : nullptr;
      Epilogue e;
      if (bias != nullptr) e.bias = bias + j0;
      if (out16 != nullptr) {
        e.out16 = out16 + i0 * ld16 + j0;
        e.ld16 = ld16;
      }
      if (rows == kMr && cols == kNr)
        micro<kMr>(kp, Ap + s * kp * kMr, Bp + jp * kp * kNr, cp, ldc, alpha, beta, first, last, e);
      else
        microEdge(kp, Ap + s * kp * kMr, Bp + jp * kp * kNr, cp, ldc, rows, cols, alpha, beta, first, last, e);
    }
  }
}

// gemmSerial for a bf16 C over several k blocks: the float32 partial sums live in a buffer of one
// [MC × NC] block of C instead of all of C (so the loops run jc, ic, pc, and B is packed for all of
// k once per jc block). Same sums in the same order as gemmSerial's float32 path.
TF_BF16 void gemmSerialBits16(const char* ab, int aKind, int aBytes, int64_t ars, int64_t aks, const char* bb, int bKind,
                              int bBytes, int64_t bks, int64_t bjs, int64_t m, int64_t n, int64_t k, float alpha,
                              const float* bias, uint16_t* out16, int64_t ld16) {
  const int64_t ncMax = n < kNc ? n : kNc, mcMax = m < kMc ? m : kMc;
  std::unique_ptr<float[]> partial(new float[static_cast<size_t>(mcMax * ncMax)]);
  const int64_t kpAll = (k + 1) / 2;  // pairs over all k blocks (every block but the last has kKc / 2)
  for (int64_t jc = 0; jc < n; jc += kNc) {
    const int64_t nc = n - jc < kNc ? n - jc : kNc;
    const int64_t panels = (nc + kNr - 1) / kNr;
    // B for all k blocks: block pc's panels start at pair pc / 2.
    uint32_t* Ball = tlsB.get(static_cast<size_t>(panels * kpAll * kNr));
    for (int64_t pc = 0; pc < k; pc += kKc) {
      const int64_t kc = k - pc < kKc ? k - pc : kKc;
      const int64_t kp = (kc + 1) / 2;
      packPanels(bb, bKind, bBytes, bks, bjs, n, jc, panels, pc, kc, kp, Ball + (pc / 2) * panels * kNr);
    }
    for (int64_t ic = 0; ic < m; ic += kMc) {
      const int64_t mc = m - ic < kMc ? m - ic : kMc;
      const int64_t slivers = (mc + kMr - 1) / kMr;
      for (int64_t pc = 0; pc < k; pc += kKc) {
        const int64_t kc = k - pc < kKc ? k - pc : kKc;
        const int64_t kp = (kc + 1) / 2;
        const bool first = pc == 0, last = pc + kc >= k;
        const uint32_t* Bp = Ball + (pc / 2) * panels * kNr;
        uint32_t* Ap = tlsA.get(static_cast<size_t>(slivers * kp * kMr));
        packSlivers(ab, aKind, aBytes, ars, aks, m, ic, slivers, pc, kc, kp, Ap);
        blockTiles(Ap, Bp, kp, m, n, ic, jc, slivers, panels, partial.get(), ncMax, alpha, 0.0f, first, last, bias, out16,
                   ld16);
      }
    }
  }
}

// One product on one thread: C[m × n] (ldc) from A (element (i, kk) at a[i*ars + kk*aks]) and B
// (element (kk, j) at b[kk*bks + j*bjs]); a and b are element pointers of their kind. With bias
// [n] and/or out16 (C as bf16 bits, leading dimension ld16, c unused) as in Epilogue.
TF_BF16 void gemmSerial(const void* a, int aKind, int64_t ars, int64_t aks, const void* b, int bKind, int64_t bks,
                        int64_t bjs, float* c, int64_t ldc, int64_t m, int64_t n, int64_t k, float alpha, float beta,
                        const float* bias, uint16_t* out16, int64_t ld16) {
  const int aBytes = aKind == kOperandF32 ? 4 : 2, bBytes = bKind == kOperandF32 ? 4 : 2;
  const char* ab = static_cast<const char*>(a);
  const char* bb = static_cast<const char*>(b);
  if (out16 != nullptr && k > kKc) {
    gemmSerialBits16(ab, aKind, aBytes, ars, aks, bb, bKind, bBytes, bks, bjs, m, n, k, alpha, bias, out16, ld16);
    return;
  }
  for (int64_t jc = 0; jc < n; jc += kNc) {
    const int64_t nc = n - jc < kNc ? n - jc : kNc;
    const int64_t panels = (nc + kNr - 1) / kNr;
    for (int64_t pc = 0; pc < k; pc += kKc) {
      const int64_t kc = k - pc < kKc ? k - pc : kKc;
      const int64_t kp = (kc + 1) / 2;
      const bool first = pc == 0, last = pc + kc >= k;
      uint32_t* Bp = tlsB.get(static_cast<size_t>(panels * kp * kNr));
      packPanels(bb, bKind, bBytes, bks, bjs, n, jc, panels, pc, kc, kp, Bp);
      for (int64_t ic = 0; ic < m; ic += kMc) {
        const int64_t mc = m - ic < kMc ? m - ic : kMc;
        const int64_t slivers = (mc + kMr - 1) / kMr;
        uint32_t* Ap = tlsA.get(static_cast<size_t>(slivers * kp * kMr));
        packSlivers(ab, aKind, aBytes, ars, aks, m, ic, slivers, pc, kc, kp, Ap);
        blockTiles(Ap, Bp, kp, m, n, ic, jc, slivers, panels, c != nullptr ? c + ic * ldc + jc : nullptr, ldc, alpha, beta,
                   first, last, bias, out16, ld16);
      }
    }
  }
}

}  // namespace

void bf16GemmOwn(const void* a, int aKind, const void* b, int bKind, float* c, int64_t m, int64_t n, int64_t k,
                 bool transA, bool transB, float alpha, float beta) {
  bf16GemmOwnEx(a, aKind, b, bKind, c, nullptr, m, n, k, transA, transB, alpha, beta, nullptr);
}

void bf16GemmOwnEx(const void* a, int aKind, const void* b, int bKind, float* c, uint16_t* c16, int64_t m, int64_t n,
                   int64_t k, bool transA, bool transB, float alpha, float beta, const float* bias) {
  // op(A)[i, kk]: a[i*k + kk] (row-major) or a[kk*m + i] (transA); op(B)[kk, j]: b[kk*n + j] or b[j*k + kk].
  const int64_t ars = transA ? 1 : k, aks = transA ? m : 1;
  const int64_t bks = transB ? 1 : n, bjs = transB ? k : 1;
  const int aBytes = aKind == kOperandF32 ? 4 : 2, bBytes = bKind == kOperandF32 ? 4 : 2;
  const char* ab = static_cast<const char*>(a);
  const char* bb = static_cast<const char*>(b);
  // One block of C [rows × cols] at (r0, c0) on one thread.
  auto block = [&](int64_t r0, int64_t rows, int64_t c0, int64_t cols) {
    const void* ap = ab + r0 * ars * aBytes;
    const void* bp = bb + c0 * bjs * bBytes;
    const float* bi = bias != nullptr ? bias + c0 : nullptr;
    if (c16 == nullptr) {
      gemmSerial(ap, aKind, ars, aks, bp, bKind, bks, bjs, c + r0 * n + c0, n, rows, cols, k, alpha, beta, bi, nullptr, 0);
      return;
    }
    gemmSerial(ap, aKind, ars, aks, bp, bKind, bks, bjs, nullptr, 0, rows, cols, k, alpha, 0.0f, bi, c16 + r0 * n + c0, n);
  };
  const int threads = numThreads();
  const double mnk = static_cast<double>(m) * n * k;
  if (threads <= 1 || mnk < 48.0 * 48.0 * 48.0 * threads) {
    block(0, m, 0, n);
    return;
  }
  // One block of C per thread, split along the longer side (columns in multiples of the panel).
  const bool byCols = n >= m;
  const int64_t side = byCols ? n : m;
  int64_t part = (side + threads - 1) / threads;
  part = byCols ? (part + kNr - 1) / kNr * kNr : (part + kMr - 1) / kMr * kMr;
  const int64_t parts = (side + part - 1) / part;
  parallelTasks(parts, [&](int64_t p, int) {
    const int64_t lo = p * part, len = side - lo < part ? side - lo : part;
    if (byCols) block(0, m, lo, len);
    else block(lo, len, 0, n);
  });
}

bool bf16KernelAvailable() {
  static const bool ok = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
  return ok;
}

#else  // not x86-64 with GCC/Clang: no bf16 instructions to use

void bf16GemmOwn(const void*, int, const void*, int, float*, int64_t, int64_t, int64_t, bool, bool, float, float) {
  std::abort();  // never called: bf16KernelAvailable() is false
}
void bf16GemmOwnEx(const void*, int, const void*, int, float*, uint16_t*, int64_t, int64_t, int64_t, bool, bool, float,
                   float, const float*) {
  std::abort();
}
bool bf16KernelAvailable() { return false; }

#endif

}  // namespace tf
