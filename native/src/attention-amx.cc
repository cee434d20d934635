// The bfloat16 path of the tiled attention (attention.cc has the algorithm, the masks and RoPE): the
// same online-softmax forward and FlashAttention-2 backward, with every tile product a product of bf16
// operands with float32 sums: on AMX (TDPBF16PS: a [16 × 32] bf16 tile times a [32 × 16] one) where
// the CPU has it, else on AVX512_BF16 (vdpbf16ps: 16 float32 lanes, each += two bf16 products; a
// 4-row × 64-column block of C in 16 zmm registers). Everything else is the same code. Operands are
// the 16-bit patterns the caller keeps (q, k, v as they are; RoPE rotates in float32 and rounds the rotated
// value once); the probabilities P (forward: before P·V; backward: before Pᵀ·dO), dO and dS are
// rounded to bf16 (nearest even) before their products, as PyTorch's autocast rounds softmax's output
// before its bmm. Scores, softmax statistics (max, sum, log-sum-exp), delta and every accumulator
// stay float32.
//
// Why AMX first: on Sapphire Rapids vdpbf16ps does 32 bf16 products per cycle on one port, the same
// as float32 FMAs on two (the project's own vdpbf16ps GEMM measured 173 GFLOPS against OpenBLAS
// sgemm's 278, README "Mixed precision"), so it only saves memory traffic; a TDPBF16PS does 8,192
// products. Zen 5 has no AMX, and there vdpbf16ps is the fast path: one core ran this file's 4 × 64
// block on a 64³ product in L1 at 320-390 GFLOPS, the same block of float32 FMAs at 150-160 (EPYC
// family 26, 2026-12-07); and the bf16 operands are read as they are, not widened and copied first.
// Without either, attention-lowp.cc widens q, k, v to float32 and runs the float32 kernel.
//
// Layouts (AMX's, which vdpbf16ps reads as they are): an A operand is bf16 rows [M × K] (K padded
// to 32 with zeros); a B operand is bf16 pairs along K, [K/2 × N] of uint32 (pair p of column n = elements 2p and 2p+1); C is float32
// [M × N]. M and N are padded to 16 (scratch is zero padded); padding is never written out.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "attention-tiles.h"
#include "common.h"
#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
// The kernel: AVX-512 with bf16 conversions and vdpbf16ps (run after attentionAvx512Bf16Available()).
#define TF_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
// AMX's tile products and configuration only (run after attentionAmxAvailable()): no AMX instruction
// is compiled into a function without it.
#define TF_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define TF_HAVE_BF16_TILES 1
#endif

namespace tf {

#if defined(TF_HAVE_BF16_TILES)
namespace {

inline int64_t round32(int64_t n) { return (n + 31) / 32 * 32; }

inline float fromBf(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint16_t toBf(float f) { return roundToBf16(f); }

// Per-thread scratch (64-byte aligned pieces), grown on demand and kept.
struct Scratch {
  char* buf = nullptr;
  size_t size = 0, used = 0;
  void reserve(size_t bytes) {
    used = 0;
    if (bytes <= size) return;
    std::free(buf);
    buf = static_cast<char*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
    if (!buf) std::abort();
    size = bytes;
  }
  template <class T>
  T* take(int64_t n) {
    T* p = reinterpret_cast<T*>(buf + used);
    used += (static_cast<size_t>(n) * sizeof(T) + 63) / 64 * 64;
    return p;
  }
  ~Scratch() { std::free(buf); }
};
thread_local Scratch tScratch;
// Bytes `take` may use beyond the sum of its pieces (rounding of each piece to 64 bytes).
constexpr size_t kSlack = 64 * 32;

struct alignas(64) TileConfig {
  uint8_t palette = 1, startRow = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// All 8 tiles 16 rows × 64 bytes. Loaded at the start of every task: other code on the thread
// (oneDNN's AMX kernels) loads its own configuration.
TF_AMX void tileBegin() {
  TileConfig cfg;
  for (int i = 0; i < 8; ++i) {
    cfg.colsb[i] = 64;
    cfg.rows[i] = 16;
  }
  _tile_loadconfig(&cfg);
}
TF_AMX void tileEnd() { _tile_release(); }

// C[M × N] (ldc floats) = (acc ? C : 0) + A·B: A bf16 [M × K] (lda elements), B pairs [K/2 × N]
// (ldb uint32). M, N multiples of 16, K a multiple of 32. Tiles 0-3 hold C, 4-5 A, 6-7 B.
TF_AMX void tileGemmBf16(int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda, const uint32_t* B,
                         int64_t ldb, float* C, int64_t ldc, bool acc) {
  const int64_t sa = lda * 2, sb = ldb * 4, sc = ldc * 4;
  for (int64_t m0 = 0; m0 < M; m0 += 32) {
    for (int64_t n0 = 0; n0 < N; n0 += 32) {
      float* c00 = C + m0 * ldc + n0;
      if (m0 + 16 < M && n0 + 16 < N) {
        float* c01 = c00 + 16;
        float* c10 = c00 + 16 * ldc;
        float* c11 = c10 + 16;
        if (acc) {
          _tile_loadd(0, c00, sc);
          _tile_loadd(1, c01, sc);
          _tile_loadd(2, c10, sc);
          _tile_loadd(3, c11, sc);
        } else {
          _tile_zero(0);
          _tile_zero(1);
          _tile_zero(2);
          _tile_zero(3);
        }
        for (int64_t k0 = 0; k0 < K; k0 += 32) {
          _tile_loadd(4, A + m0 * lda + k0, sa);
          _tile_loadd(5, A + (m0 + 16) * lda + k0, sa);
          _tile_loadd(6, B + (k0 / 2) * ldb + n0, sb);
          _tile_loadd(7, B + (k0 / 2) * ldb + n0 + 16, sb);
          _tile_dpbf16ps(0, 4, 6);
          _tile_dpbf16ps(1, 4, 7);
          _tile_dpbf16ps(2, 5, 6);
          _tile_dpbf16ps(3, 5, 7);
        }
        _tile_stored(0, c00, sc);
        _tile_stored(1, c01, sc);
        _tile_stored(2, c10, sc);
        _tile_stored(3, c11, sc);
        continue;
      }
      // Edge: 16 × 16 tiles one at a time.
      for (int64_t mi = m0; mi < M && mi < m0 + 32; mi += 16) {
        for (int64_t ni = n0; ni < N && ni < n0 + 32; ni += 16) {
          float* cp = C + mi * ldc + ni;
          if (acc) _tile_loadd(0, cp, sc);
          else _tile_zero(0);
          for (int64_t k0 = 0; k0 < K; k0 += 32) {
            _tile_loadd(4, A + mi * lda + k0, sa);
            _tile_loadd(6, B + (k0 / 2) * ldb + ni, sb);
            _tile_dpbf16ps(0, 4, 6);
          }
          _tile_stored(0, cp, sc);
        }
      }
    }
  }
}

// The same product on AVX512_BF16 (same contract; M a multiple of 4 suffices): rows of C in blocks of 4
// × 64 columns, 16 zmm accumulators (vdpbf16ps has a latency of several cycles on two pipes, so 16
// independent sums keep both busy); per pair p of K, 4 loads of B pairs and one broadcast A pair per
// row. A rows may start at any even byte (lda odd in the backward's transposed operands).
template <int NV>
TF_BF16 inline void dpBlock(int64_t kp, const uint16_t* A, int64_t lda, const uint32_t* B, int64_t ldb, float* C,
                            int64_t ldc, bool acc) {
  constexpr int kRows = 4;
  __m512 c[kRows][NV];
  for (int r = 0; r < kRows; ++r)
    for (int v = 0; v < NV; ++v) c[r][v] = acc ? _mm512_loadu_ps(C + r * ldc + 16 * v) : _mm512_setzero_ps();
  for (int64_t p = 0; p < kp; ++p) {
    __m512bh b[NV];
    for (int v = 0; v < NV; ++v) b[v] = (__m512bh)_mm512_loadu_si512(B + p * ldb + 16 * v);
    for (int r = 0; r < kRows; ++r) {
      uint32_t pair;
      std::memcpy(&pair, A + r * lda + 2 * p, 4);
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(pair));
      for (int v = 0; v < NV; ++v) c[r][v] = _mm512_dpbf16_ps(c[r][v], b[v], a);
    }
  }
  for (int r = 0; r < kRows; ++r)
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(C + r * ldc + 16 * v, c[r][v]);
}

// Rows a[0..3] times B's first n columns (n a multiple of 16) over kp pairs: 64-column blocks, then the rest.
TF_BF16 inline void dpRows4(int64_t kp, int64_t n, const uint16_t* a, int64_t lda, const uint32_t* B, int64_t ldb,
                            float* c, int64_t ldc, bool acc) {
  int64_t n0 = 0;
  for (; n0 + 64 <= n; n0 += 64) dpBlock<4>(kp, a, lda, B + n0, ldb, c + n0, ldc, acc);
  switch ((n - n0) / 16) {
    case 3: dpBlock<3>(kp, a, lda, B + n0, ldb, c + n0, ldc, acc); break;
    case 2: dpBlock<2>(kp, a, lda, B + n0, ldb, c + n0, ldc, acc); break;
    case 1: dpBlock<1>(kp, a, lda, B + n0, ldb, c + n0, ldc, acc); break;
    default: break;
  }
}

TF_BF16 void dpGemmBf16(int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda, const uint32_t* B,
                        int64_t ldb, float* C, int64_t ldc, bool acc) {
  for (int64_t m0 = 0; m0 < M; m0 += 4) dpRows4(K / 2, N, A + m0 * lda, lda, B, ldb, C + m0 * ldc, ldc, acc);
}

// A product whose rows see a causal band of its columns (kLimN: C's columns; else A's columns, the
// pairs of K): rows m0..m0+3 need columns c < band + m0 + 4 only (the rest are masked keys: in C,
// stale values the caller masks; in A, zeros of P or dS whose products are skipped). band >= N (or K)
// on tiles a causal mask does not cut: the full product. Else the same contract as dpGemmBf16.
template <bool kLimN>
TF_BF16 void dpGemmBand(int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda, const uint32_t* B, int64_t ldb,
                        float* C, int64_t ldc, bool acc, int64_t band) {
  for (int64_t m0 = 0; m0 < M; m0 += 4) {
    const int64_t lim = band + m0 + 4;
    const uint16_t* a = A + m0 * lda;
    float* c = C + m0 * ldc;
    int64_t n = N, kp = K / 2;
    if (kLimN) n = lim <= 0 ? 0 : (lim >= N ? N : round16(lim));
    else kp = lim <= 0 ? 0 : (lim >= K ? K / 2 : (lim + 1) / 2);
    dpRows4(kp, n, a, lda, B, ldb, c, ldc, acc);
  }
}

// Where the tile products run: each task of the kernel calls begin() first and end() last (AMX loads
// its tile configuration: other code on the thread, oneDNN's AMX kernels, loads its own).
struct AmxProducts {
  static void begin() { tileBegin(); }
  static void end() { tileEnd(); }
  static void gemm(int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda, const uint32_t* B, int64_t ldb,
                   float* C, int64_t ldc, bool acc) {
    tileGemmBf16(M, N, K, A, lda, B, ldb, C, ldc, acc);
  }
  // Banded products (see dpGemmBand): the full product on AMX.
  static void gemmBandN(int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda, const uint32_t* B,
                        int64_t ldb, float* C, int64_t ldc, bool acc, int64_t) {
    tileGemmBf16(M, N, K, A, lda, B, ldb, C, ldc, acc);
  }
  static void gemmBandK(int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda, const uint32_t* B,
                        int64_t ldb, float* C, int64_t ldc, bool acc, int64_t) {
    tileGemmBf16(M, N, K, A, lda, B, ldb, C, ldc, acc);
  }
};
struct DpProducts {
  static void begin() {}
  static void end() {}
  TF_BF16 static void gemm(int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda, const uint32_t* B,
                           int64_t ldb, float* C, int64_t ldc, bool acc) {
    dpGemmBf16(M, N, K, A, lda, B, ldb, C, ldc, acc);
  }
  TF_BF16 static void gemmBandN(int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda, const uint32_t* B,
                                int64_t ldb, float* C, int64_t ldc, bool acc, int64_t band) {
    dpGemmBand<true>(M, N, K, A, lda, B, ldb, C, ldc, acc, band);
  }
  TF_BF16 static void gemmBandK(int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda, const uint32_t* B,
                                int64_t ldb, float* C, int64_t ldc, bool acc, int64_t band) {
    dpGemmBand<false>(M, N, K, A, lda, B, ldb, C, ldc, acc, band);
  }
};

// exp of 16 floats: fastExp (common.h) written with AVX-512 intrinsics, the same reduction and
// polynomial (exp(-inf) = 0, exp(+inf) = inf, NaN stays NaN).
TF_BF16 inline __m512 expV(__m512 x) {
  const __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(89.0f));
  const __m512 nf = _mm512_roundscale_ps(_mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)),
                                         _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(nf, _mm512_set1_ps(0.693145751953125f), xc);
  r = _mm512_fnmadd_ps(nf, _mm512_set1_ps(1.428606765330187045e-6f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  // p · 2^nf in one vscalefps, rounded once (nearest even): the same value as fastExp's p · 2^n1 · 2^n2
  // (the first product exact, the second rounded), overflow to inf and underflow to 0 included.
  __m512 y = _mm512_scalef_ps(p, nf);
  y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, _mm512_set1_ps(-104.0f), _CMP_LT_OQ), _mm512_setzero_ps());
  y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, _mm512_set1_ps(88.8f), _CMP_GT_OQ),
                         _mm512_set1_ps(std::numeric_limits<float>::infinity()));
  return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

// Bits [lo, hi) of a 64-bit mask (0 <= lo, hi <= 64).
inline uint64_t rangeBits(int64_t lo, int64_t hi) {
  if (hi <= lo) return 0;
  const uint64_t upTo = hi >= 64 ? ~0ull : (1ull << hi) - 1;
  return upTo & ~((1ull << lo) - 1);
}

// Bits of the keys c < cn of a tile that are not padding (kb[c] == 0).
inline uint64_t realKeys(const float* kb, int64_t cn) {
  uint64_t m = 0;
  for (int64_t c = 0; c < cn; ++c) m |= static_cast<uint64_t>(kb[c] == 0.0f) << c;
  return m;
}

// Software prefetch of the cache lines of one row of n 16-bit (or, kFloat, 32-bit) elements, for
// reading (write: for writing). Rows kAhead ahead of the one being read: the rows of a packed projection
// lie 3·heads·d elements apart, and their misses otherwise come one at a time.
constexpr int64_t kAhead = 8;
template <bool kWrite = false, int kBytes = 2>
inline void prefetchRow(const void* row, int64_t n) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(row);
  for (uintptr_t l = a & ~uintptr_t{63}; l < a + static_cast<uintptr_t>(n * kBytes); l += 64) {
    if (kWrite) __builtin_prefetch(reinterpret_cast<const char*>(l), 1, 3);
    else __builtin_prefetch(reinterpret_cast<const char*>(l), 0, 3);
  }
}

// Rows [rows × d] of bf16 bits (lds elements apart) → dst [padRows × ld] bf16 (ld ≥ d), rotated by
// RoPE when cosT is given (row r has position pos0 + r; rotated in float32, rounded once); the rest
// zero. Unaligned reads: rows of a packed projection start wherever its row stride puts them.
TF_BF16 void loadRowsBf16(const uint16_t* src, int64_t lds, int64_t rows, int64_t padRows, int64_t d, int64_t ld,
                         const float* cosT, const float* sinT, int64_t pos0, uint16_t* dst) {
  if (!cosT) {  // a copy, 16 elements at a time (ld is a multiple of 16)
    for (int64_t r = 0; r < rows; ++r) {
      prefetchRow(src + (r + kAhead) * lds, d);  // rows lie far apart (packed projections): one miss each
      for (int64_t x = 0; x < ld; x += 16) {
        const int64_t left = d - x;
        const __mmask16 mk = left >= 16 ? 0xffff : (left > 0 ? static_cast<__mmask16>((1u << left) - 1u) : 0);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + r * ld + x), _mm256_maskz_loadu_epi16(mk, src + r * lds + x));
      }
    }
    std::memset(dst + rows * ld, 0, static_cast<size_t>((padRows - rows) * ld) * 2);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t* a = src + r * lds;
    uint16_t* o = dst + r * ld;
    if (cosT) {
      const int64_t hd = d / 2;
      const float* c = cosT + (pos0 + r) * hd;
      const float* sn = sinT + (pos0 + r) * hd;
      for (int64_t x = 0; x < hd; ++x) {
        const float lo = fromBf(a[x]), hi = fromBf(a[x + hd]);
        o[x] = toBf(lo * c[x] - hi * sn[x]);
        o[x + hd] = toBf(hi * c[x] + lo * sn[x]);
      }
    } else {
      std::memcpy(o, a, static_cast<size_t>(d) * 2);
    }
    for (int64_t x = d; x < ld; ++x) o[x] = 0;
  }
  std::memset(dst + rows * ld, 0, static_cast<size_t>((padRows - rows) * ld) * 2);
}

// bf16 rows [n × w] (ld elements) → pairs along the rows: out[m * w + x] = (row 2m, row 2m+1) at x,
// for m < n/2 (n even; rows are zero padded by the caller).
TF_BF16 void pairRows(const uint16_t* src, int64_t ld, int64_t n, int64_t w, uint32_t* out) {
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5,
                                       20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  for (int64_t m = 0; m < n / 2; ++m) {
    const uint16_t* r0 = src + 2 * m * ld;
    const uint16_t* r1 = r0 + ld;
    uint32_t* o = out + m * w;
    int64_t x = 0;
    for (; x + 16 <= w; x += 16) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0 + x));
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1 + x));
      const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
      _mm512_storeu_si512(o + x, _mm512_permutexvar_epi16(idx, both));
    }
    for (; x < w; ++x) o[x] = static_cast<uint32_t>(r0[x]) | (static_cast<uint32_t>(r1[x]) << 16);
  }
}

// One float row [d] rounded to bf16 bits (nearest even) into dst.
TF_BF16 void roundRow(const float* src, int64_t d, uint16_t* dst) {
  for (int64_t x = 0; x < d; x += 16) {
    const int64_t left = d - x;
    const __mmask16 mk = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1u);
    _mm256_mask_storeu_epi16(dst + x, mk, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mk, src + x)));
  }
}

// One float row [d] times scale, rounded to bf16 bits (nearest even) into dst: storeRow without RoPE
// and roundRow in one pass (the same product, rounded once).
TF_BF16 void scaleRoundRow(const float* src, int64_t d, float scale, uint16_t* dst) {
  const __m512 vs = _mm512_set1_ps(scale);
  for (int64_t x = 0; x < d; x += 16) {
    const int64_t left = d - x;
    const __mmask16 mk = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1u);
    _mm256_mask_storeu_epi16(dst + x, mk,
                             (__m256i)_mm512_cvtneps_pbh(_mm512_mul_ps(_mm512_maskz_loadu_ps(mk, src + x), vs)));
  }
}

// 16 rows of 16 32-bit elements transposed in registers (interleave 32-bit, then 64-bit elements
// within 128-bit lanes, then move lanes twice).
TF_BF16 inline void transpose16x16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {  // r[i + c] lane l: column 4l + c of rows i..i+3
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int h = 0; h < 16; h += 8)
    for (int i = 0; i < 4; ++i) {
      t[h + i] = _mm512_shuffle_i32x4(r[h + i], r[h + i + 4], 0x88);      // lanes 0, 2
      t[h + i + 4] = _mm512_shuffle_i32x4(r[h + i], r[h + i + 4], 0xdd);  // lanes 1, 3
    }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
  }
}

// dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols: a matrix of 32-bit elements (floats,
// or bf16 pairs) transposed in 16 × 16 blocks; nothing else of dst is written.
TF_BF16 void transpose32(const uint32_t* src, int64_t lds, int64_t rows, int64_t cols, uint32_t* dst, int64_t ldd) {
  for (int64_t i0 = 0; i0 < rows; i0 += 16) {
    const int64_t ni = rows - i0 < 16 ? rows - i0 : 16;
    const __mmask16 mi = static_cast<__mmask16>((1u << ni) - 1u);
    for (int64_t j0 = 0; j0 < cols; j0 += 16) {
      const int64_t nj = cols - j0 < 16 ? cols - j0 : 16;
      const __mmask16 mj = static_cast<__mmask16>((1u << nj) - 1u);
      __m512i r[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i < ni ? _mm512_maskz_loadu_epi32(mj, src + (i0 + i) * lds + j0) : _mm512_setzero_si512();
      transpose16x16(r);
      for (int j = 0; j < nj; ++j) _mm512_mask_storeu_epi32(dst + (j0 + j) * ldd + i0, mi, r[j]);
    }
  }
}

// bf16 rows [n × w] (w and ld even) → pairs along the columns, transposed: out[p * n + c] = (row c at
// 2p, 2p+1), p < w/2 (the B operand of a product with this matrix transposed): the rows' pairs as
// 32-bit elements, transposed.
TF_BF16 void pairCols(const uint16_t* src, int64_t ld, int64_t n, int64_t w, uint32_t* out) {
  transpose32(reinterpret_cast<const uint32_t*>(src), ld / 2, n, w / 2, out, n);
}

// finishRows (attention-tiles.h) 16 elements at a time: the same products acc · (1 / sum), and for
// bf16 bits roundToBf16's rounding (nearest even, NaN quieted) in integer ops, not vcvtneps2bf16 (which
// flushes denormals).
template <class O>
TF_BF16 void finishRowsV(const float* acc, int64_t dp, const float* mrow, const float* lrow, int64_t rows, int64_t d,
                         O* out, int64_t ldo, float* lse) {
  for (int64_t r = 0; r < rows; ++r) {
    O* o = out + r * ldo;
    if (lrow[r] == 0.0f) {
      for (int64_t x = 0; x < d; ++x) o[x] = 0;
      lse[r] = -std::numeric_limits<float>::infinity();
      continue;
    }
    const __m512 inv = _mm512_set1_ps(1.0f / lrow[r]);
    const float* ar = acc + r * dp;
    for (int64_t x = 0; x < d; x += 16) {
      const int64_t left = d - x;
      const __mmask16 mk = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1u);
      const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, ar + x), inv);
      if constexpr (sizeof(O) == 4) {
        _mm512_mask_storeu_ps(o + x, mk, v);
      } else {
        const __m512i u = _mm512_castps_si512(v), hi = _mm512_srli_epi32(u, 16);
        const __m512i bias = _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(hi, _mm512_set1_epi32(1)));
        __m512i b = _mm512_srli_epi32(_mm512_add_epi32(u, bias), 16);
        b = _mm512_mask_mov_epi32(b, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), _mm512_or_si512(hi, _mm512_set1_epi32(0x40)));
        _mm256_mask_storeu_epi16(o + x, mk, _mm512_cvtepi32_epi16(b));
      }
    }
    lse[r] = mrow[r] + std::log(lrow[r]);
  }
}

// The K and V tiles of one head in their product layouts (K pairs along x, V pairs along keys),
// formed on first use and kept for the head's later query blocks: with no window every block's key
// tiles start at multiples of kBc (the rows a causal block does not see are masked, as within a tile).
struct KvTiles {
  uint32_t* kx;
  uint32_t* vc;
  uint8_t* ready;
  int64_t kxSize, vcSize;  // uint32 per tile
};
thread_local Scratch tKvScratch;  // not tScratch: forwardBlock reserves that one per block

// Forward of query block i0 of head h (see attention.cc's forwardBlock; scale applies to the scores);
// kv: the head's K and V tiles (window 0), or null (each block forms its own).
template <class P, bool kMasked, class O>
TF_BF16 void forwardBlock(const Problem& pb, const Layout& lay, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                         O* out, float* lse, int64_t h, int64_t i0, float scale, KvTiles* kv) {
  const int64_t t = pb.t, d = pb.d, dp = pb.dp, off = pb.off, dk = round32(d);
  const int64_t rows = i0 + kBr < t ? kBr : t - i0;
  const float kNegInf = -std::numeric_limits<float>::infinity();
  Scratch& sc = tScratch;
  sc.reserve(2 * static_cast<size_t>(kBr * dk + 2 * kBc * dk + kBc * dp + kBr * kBc) +
             4 * static_cast<size_t>(dk * kBc / 2 + kBc * dp / 2 + kBr * kBc + kBr * dp + 2 * kBr + kBc) + kSlack);
  uint16_t* qs = sc.take<uint16_t>(kBr * dk);
  uint16_t* kr = sc.take<uint16_t>(kBc * dk);
  uint16_t* vr = sc.take<uint16_t>(kBc * dp);
  uint32_t* kx = sc.take<uint32_t>(dk / 2 * kBc);  // K pairs along x: the B operand of Q·Kᵀ
  uint32_t* vc = sc.take<uint32_t>(kBc / 2 * dp);  // V pairs along keys: the B operand of P·V
  uint16_t* p16 = sc.take<uint16_t>(kBr * kBc);
  float* sm = sc.take<float>(kBr * kBc);
  float* acc = sc.take<float>(kBr * dp);
  float* mrow = sc.take<float>(kBr);
  float* lrow = sc.take<float>(kBr);
  float* kb = sc.take<float>(kBc);
  const uint16_t* kh = k + lay.kv.at(h);
  const uint16_t* vh = v + lay.kv.at(h);
  const int64_t ldk = lay.kv.row;
  loadRowsBf16(q + lay.q.at(h, i0), lay.q.row, rows, kBr, d, dk, pb.cosT, pb.sinT, i0 + off, qs);
  std::memset(p16, 0, sizeof(uint16_t) * kBr * kBc);
  for (int64_t r = 0; r < kBr; ++r) {
    mrow[r] = kNegInf;
    lrow[r] = 0.0f;
  }
  std::memset(acc, 0, sizeof(float) * kBr * dp);
  const int64_t jBeg = pb.lo(i0), jEnd = pb.hi(i0 + rows - 1);
  for (int64_t j0 = jBeg; j0 < jEnd; j0 += kBc) {
    const int64_t cn = jEnd - j0 < kBc ? jEnd - j0 : kBc;
    if (kMasked && !pb.tileBias(h, j0, cn, kb)) continue;
    uint32_t* kxt = kx;
    uint32_t* vct = vc;
    if (kv) {
      const int64_t jt = j0 / kBc;
      kxt = kv->kx + jt * kv->kxSize;
      vct = kv->vc + jt * kv->vcSize;
      if (!kv->ready[jt]) {
        const int64_t cf = pb.s - j0 < kBc ? pb.s - j0 : kBc;  // every key of the tile, for later blocks
        loadRowsBf16(kh + j0 * ldk, ldk, cf, kBc, d, dk, pb.cosT, pb.sinT, j0, kr);
        pairCols(kr, dk, kBc, dk, kxt);
        loadRowsBf16(vh + j0 * ldk, ldk, cf, kBc, d, dp, nullptr, nullptr, 0, vr);
        pairRows(vr, dp, kBc, dp, vct);
        kv->ready[jt] = 1;
      }
    } else {
      loadRowsBf16(kh + j0 * ldk, ldk, cn, kBc, d, dk, pb.cosT, pb.sinT, j0, kr);
      pairCols(kr, dk, kBc, dk, kx);
      loadRowsBf16(vh + j0 * ldk, ldk, cn, kBc, d, dp, nullptr, nullptr, 0, vr);
      pairRows(vr, dp, kBc, dp, vc);
    }
    // Row r of the block sees keys c < band + r + 1 of the tile (causal): the products skip the rest.
    const int64_t band = pb.causal ? i0 + off - j0 : kBc;
    P::gemmBandN(kBr, kBc, dk, qs, dk, kxt, kBc, sm, kBc, false, band);
    const uint64_t real = kMasked ? realKeys(kb, cn) : ~0ull;
    const __m512 vscale = _mm512_set1_ps(scale), ninf = _mm512_set1_ps(kNegInf);
    // Rows four at a time, each step for the four rows together (their max, exp and sum chains are
    // independent: the core overlaps them); the same operations per row as one at a time.
    constexpr int kG = 4;
    for (int64_t r0 = 0; r0 < rows; r0 += kG) {
      __m512 x[kG][kBc / 16];
      float mx[kG], alpha[kG];
      bool live[kG];
      for (int u = 0; u < kG; ++u) {
        const int64_t r = r0 + u;
        live[u] = false;
        if (r >= rows) continue;
        // Keys of this tile that row r sees: [lo, hi) and not padding.
        int64_t lo = 0, hi = cn;
        if (kMasked) lo = clampTo(pb.lo(i0 + r) - j0, cn);
        if (pb.causal) hi = clampTo(i0 + r + off - j0 + 1, cn);
        const uint64_t vis = rangeBits(lo, hi) & real;
        if (vis == 0) {  // nothing visible in this tile: P row 0, statistics unchanged
          std::memset(p16 + r * kBc, 0, sizeof(uint16_t) * kBc);
          continue;
        }
        live[u] = true;
        const float* sr = sm + r * kBc;
        __m512 m16 = ninf;
        for (int v = 0; v < kBc / 16; ++v) {
          x[u][v] = _mm512_mask_mul_ps(ninf, static_cast<__mmask16>(vis >> (16 * v)), _mm512_loadu_ps(sr + 16 * v), vscale);
          m16 = _mm512_max_ps(m16, x[u][v]);
        }
        const float tmax = _mm512_reduce_max_ps(m16);
        mx[u] = tmax > mrow[r] ? tmax : mrow[r];
      }
      for (int u = 0; u < kG; ++u)
        if (live[u]) alpha[u] = fastExp(mrow[r0 + u] - mx[u]);  // 0 on the first visible tile (exp(-inf))
      for (int u = 0; u < kG; ++u) {
        if (!live[u]) continue;
        const int64_t r = r0 + u;
        uint16_t* pr = p16 + r * kBc;
        const __m512 vmx = _mm512_set1_ps(mx[u]);
        __m512 sum = _mm512_setzero_ps();
        for (int v = 0; v < kBc / 16; ++v) {
          const __m512 p = expV(_mm512_sub_ps(x[u][v], vmx));  // masked: exp(-inf) = 0
          sum = _mm512_add_ps(sum, p);
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(pr + 16 * v), (__m256i)_mm512_cvtneps_pbh(p));  // nearest even
        }
        lrow[r] = lrow[r] * alpha[u] + _mm512_reduce_add_ps(sum);
        // acc's row holds nothing yet while mrow is -inf (its P rows were 0): alpha · acc changes nothing.
        if (alpha[u] != 1.0f && mrow[r] != kNegInf) {
          float* ar = acc + r * dp;
          const __m512 va = _mm512_set1_ps(alpha[u]);
          for (int64_t xx = 0; xx < dp; xx += 16) _mm512_storeu_ps(ar + xx, _mm512_mul_ps(va, _mm512_loadu_ps(ar + xx)));
        }
        mrow[r] = mx[u];
      }
    }
    P::gemmBandK(kBr, dp, kBc, p16, kBc, vct, dp, acc, dp, true, band);
  }
  finishRowsV(acc, dp, mrow, lrow, rows, d, out + lay.o.at(h, i0), lay.o.row, lse + h * t + i0);
}

// dst[x * n + r] = src[r * w + x] for r < n, x < w (a bf16 matrix [n × w] transposed; n even, w a
// multiple of 16): pairs of rows (tmp: [n/2 × w] uint32), transposed as 32-bit elements.
TF_BF16 void transpose16(const uint16_t* src, int64_t n, int64_t w, uint32_t* tmp, uint16_t* dst) {
  pairRows(src, w, n, w, tmp);
  transpose32(tmp, w, n / 2, w, reinterpret_cast<uint32_t*>(dst), n / 2);
}

// Backward of head h (see attention.cc's backwardHead). dV and dK are accumulated transposed (dVᵀ =
// dOᵀ·P, dKᵀ = Qᵀ·dS) so that P and dS enter as pairs of rows, formed while rounding them; query
// blocks start at even rows so that those pairs line up with a block.
template <class P, bool kMasked, class O>
TF_BF16 void backwardHead(const Problem& pb, const Layout& lay, const uint16_t* q, const uint16_t* k, const uint16_t* v,
                         const O* out, const float* lse, const O* g, O* dq, O* dk, O* dv, int64_t h, float scale) {
  constexpr bool kBits = sizeof(O) == 2;  // out, g, dq, dk, dv as bf16 bits
  const int64_t t = pb.t, s = pb.s, d = pb.d, dp = pb.dp, off = pb.off, dkp = round32(d);
  // Rows of the per-head buffers: a block starting below t reads kBr rows; even for transpose16.
  const int64_t tp = (t + 1) / 2 * 2 + kBr;
  const float kNegInf = -std::numeric_limits<float>::infinity();
  Scratch& sc = tScratch;
  sc.reserve(2 * static_cast<size_t>(4 * tp * dkp + 2 * kBc * dkp + kBr * kBc) +
             4 * static_cast<size_t>(tp * dp + t + 2 * dkp * kBc / 2 + kBc * dp / 2 + 2 * dkp * kBc + 2 * kBr * kBc +
                                     kBr * kBc + kBc + dp + tp / 2 * dkp + 2 * kBc * dkp) +
             kSlack);
  uint16_t* qs = sc.take<uint16_t>(tp * dkp);  // Q (rotated) rows: A of S = Q·Kᵀ
  uint16_t* gs = sc.take<uint16_t>(tp * dkp);  // dO rows: A of dP = dO·Vᵀ
  uint16_t* qT = sc.take<uint16_t>(dkp * tp);  // Qᵀ: A of dKᵀ = Qᵀ·dS
  uint16_t* gT = sc.take<uint16_t>(dkp * tp);  // dOᵀ: A of dVᵀ = dOᵀ·P
  float* dqs = sc.take<float>(tp * dp);
  float* delta = sc.take<float>(t);
  uint16_t* kr = sc.take<uint16_t>(kBc * dkp);
  uint16_t* vr = sc.take<uint16_t>(kBc * dkp);
  uint32_t* kx = sc.take<uint32_t>(dkp / 2 * kBc);  // K pairs along x: B of S
  uint32_t* vx = sc.take<uint32_t>(dkp / 2 * kBc);  // V pairs along x: B of dP
  uint32_t* kc = sc.take<uint32_t>(kBc / 2 * dp);   // K pairs along keys: B of dQ = dS·K
  float* dkT = sc.take<float>(dkp * kBc);
  float* dvT = sc.take<float>(dkp * kBc);
  float* sm = sc.take<float>(kBr * kBc);
  float* dpm = sc.take<float>(kBr * kBc);
  uint32_t* pp = sc.take<uint32_t>(kBr / 2 * kBc);   // P pairs along rows: B of dVᵀ
  uint32_t* dsp = sc.take<uint32_t>(kBr / 2 * kBc);  // dS pairs along rows: B of dKᵀ
  uint16_t* ds16 = sc.take<uint16_t>(kBr * kBc);     // dS rows: A of dQ
  float* kb = sc.take<float>(kBc);
  float* row2 = sc.take<float>(dp);
  uint32_t* pairs = sc.take<uint32_t>(tp / 2 * dkp);  // transpose16's rows in pairs
  float* kRows = sc.take<float>(kBc * dkp);          // dKᵀ, dVᵀ of a key tile transposed back
  float* vRows = sc.take<float>(kBc * dkp);
  const uint16_t* kh = k + lay.kv.at(h);
  const uint16_t* vh = v + lay.kv.at(h);
  const int64_t ldk = lay.kv.row, ldo = lay.o.row, ldq = lay.q.row;
  const float* lh = lse + h * t;
  loadRowsBf16(q + lay.q.at(h), ldq, t, tp, d, dkp, pb.cosT, pb.sinT, off, qs);
  // dO rows (rounded to bf16 when float32) into gs, and in the same pass delta_i = sum_x dO_ix O_ix
  // with dO rounded as in dP, so that delta_i = sum_j P_ij dP_ij.
  const O* gh = g + lay.o.at(h);
  const O* oh = out + lay.o.at(h);
  for (int64_t i = 0; i < t; ++i) {
    prefetchRow<false, sizeof(O)>(gh + (i + kAhead) * ldo, d);
    prefetchRow<false, sizeof(O)>(oh + (i + kAhead) * ldo, d);
    __m512 a = _mm512_setzero_ps();
    for (int64_t x = 0; x < dkp; x += 16) {
      const int64_t left = d - x;
      const __mmask16 mk = left >= 16 ? 0xffff : (left > 0 ? static_cast<__mmask16>((1u << left) - 1u) : 0);
      __m256i g16;
      if constexpr (kBits) g16 = _mm256_maskz_loadu_epi16(mk, gh + i * ldo + x);
      else g16 = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mk, gh + i * ldo + x));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(gs + i * dkp + x), g16);
      __m512 o;
      if constexpr (kBits) o = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mk, oh + i * ldo + x)), 16));
      else o = _mm512_maskz_loadu_ps(mk, oh + i * ldo + x);
      a = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(g16), 16)), o, a);
    }
    delta[i] = _mm512_reduce_add_ps(a);
  }
  std::memset(gs + t * dkp, 0, static_cast<size_t>((tp - t) * dkp) * 2);
  transpose16(qs, tp, dkp, pairs, qT);
  transpose16(gs, tp, dkp, pairs, gT);
  std::memset(dqs, 0, sizeof(float) * tp * dp);
  for (int64_t j0 = 0; j0 < s; j0 += kBc) {
    const int64_t cn = s - j0 < kBc ? s - j0 : kBc;
    std::memset(dkT, 0, sizeof(float) * dkp * kBc);
    std::memset(dvT, 0, sizeof(float) * dkp * kBc);
    int64_t iStart = pb.causal ? (j0 - off > 0 ? j0 - off : 0) : 0;
    iStart -= iStart & 1;
    int64_t iEnd = t;
    if (pb.window > 0 && j0 + cn - 1 - off + pb.window < t) iEnd = j0 + cn - 1 - off + pb.window;
    const bool live = iStart < iEnd && (!kMasked || pb.tileBias(h, j0, cn, kb));
    const uint64_t real = kMasked ? realKeys(kb, cn) : ~0ull;
    if (live) {
      loadRowsBf16(kh + j0 * ldk, ldk, cn, kBc, d, dkp, pb.cosT, pb.sinT, j0, kr);
      pairCols(kr, dkp, kBc, dkp, kx);
      pairRows(kr, dkp, kBc, dp, kc);
      loadRowsBf16(vh + j0 * ldk, ldk, cn, kBc, d, dkp, nullptr, nullptr, 0, vr);
      pairCols(vr, dkp, kBc, dkp, vx);
    }
    for (int64_t i0 = iStart; live && i0 < iEnd; i0 += kBr) {
      const int64_t rows = iEnd - i0 < kBr ? iEnd - i0 : kBr;
      // Row r of the block sees keys c < band + r + 1 of the tile (causal): S, dP and dQ skip the rest
      // (S and dP there are stale and masked below; dS there is 0).
      const int64_t band = pb.causal ? i0 + off - j0 : kBc;
      P::gemmBandN(kBr, kBc, dkp, qs + i0 * dkp, dkp, kx, kBc, sm, kBc, false, band);
      P::gemmBandN(kBr, kBc, dkp, gs + i0 * dkp, dkp, vx, kBc, dpm, kBc, false, band);
      const __m512 vscale = _mm512_set1_ps(scale);
      const __m512i pairIdx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                               6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
      const bool first = i0 == iStart;
      // Rows r and r+1 at once: P and dS rounded to bf16 (nearest even) straight into their row pairs
      // (B of dVᵀ and dKᵀ) and dS rows (A of dQ); the float32 P and dS are not stored.
      for (int64_t r = 0; r < kBr; r += 2) {
        if (first) {  // the lines this key tile's dK, dV rows and the next tile's K, V rows will need
          if (r < cn) {
            prefetchRow<true, sizeof(O)>(dk + lay.kv.at(h, j0 + r), d);
            prefetchRow<true, sizeof(O)>(dv + lay.kv.at(h, j0 + r), d);
            prefetchRow<true, sizeof(O)>(dk + lay.kv.at(h, j0 + r + 1), d);
            prefetchRow<true, sizeof(O)>(dv + lay.kv.at(h, j0 + r + 1), d);
          }
          for (int64_t u = r; u < r + 2 && j0 + kBc + u < s; ++u) {
            prefetchRow(kh + (j0 + kBc + u) * ldk, d);
            prefetchRow(vh + (j0 + kBc + u) * ldk, d);
          }
        }
        if (j0 == 0 && r < rows) {  // dQ's rows, written at the end
          prefetchRow<true, sizeof(O)>(dq + lay.q.at(h, i0 + r), d);
          prefetchRow<true, sizeof(O)>(dq + lay.q.at(h, i0 + r + 1), d);
        }
        uint64_t vis[2] = {0, 0};
        float li[2] = {0.0f, 0.0f}, di[2] = {0.0f, 0.0f};
        for (int u = 0; u < 2; ++u) {
          if (r + u >= rows) continue;  // padding rows of the block: no probability, no gradient
          const int64_t i = i0 + r + u;
          li[u] = lh[i];
          di[u] = delta[i];
          int64_t lo = 0, hi = cn;
          if (kMasked) lo = clampTo(pb.lo(i) - j0, cn);
          if (pb.causal) hi = clampTo(i + off - j0 + 1, cn);
          if (li[u] != kNegInf) vis[u] = rangeBits(lo, hi) & real;
        }
        const float* s0 = sm + r * kBc;
        const float* s1 = s0 + kBc;
        const float* d0 = dpm + r * kBc;
        const float* d1 = d0 + kBc;
        const __m512 vli0 = _mm512_set1_ps(li[0]), vdi0 = _mm512_set1_ps(di[0]);
        const __m512 vli1 = _mm512_set1_ps(li[1]), vdi1 = _mm512_set1_ps(di[1]);
        for (int v = 0; v < kBc / 16; ++v) {
          const __m512 p0 = _mm512_maskz_mov_ps(static_cast<__mmask16>(vis[0] >> (16 * v)),
                                                expV(_mm512_fmsub_ps(_mm512_loadu_ps(s0 + 16 * v), vscale, vli0)));
          const __m512 p1 = _mm512_maskz_mov_ps(static_cast<__mmask16>(vis[1] >> (16 * v)),
                                                expV(_mm512_fmsub_ps(_mm512_loadu_ps(s1 + 16 * v), vscale, vli1)));
          // Masked keys: dS +0 whatever dP holds there (the banded product leaves it stale).
          const __m512 ds0 = _mm512_maskz_mul_ps(static_cast<__mmask16>(vis[0] >> (16 * v)), p0,
                                                 _mm512_sub_ps(_mm512_loadu_ps(d0 + 16 * v), vdi0));
          const __m512 ds1 = _mm512_maskz_mul_ps(static_cast<__mmask16>(vis[1] >> (16 * v)), p1,
                                                 _mm512_sub_ps(_mm512_loadu_ps(d1 + 16 * v), vdi1));
          const __m512i pb2 = (__m512i)_mm512_cvtne2ps_pbh(p1, p0);  // low half row r, high half row r+1
          const __m512i db2 = (__m512i)_mm512_cvtne2ps_pbh(ds1, ds0);
          _mm512_storeu_si512(pp + (r / 2) * kBc + 16 * v, _mm512_permutexvar_epi16(pairIdx, pb2));
          _mm512_storeu_si512(dsp + (r / 2) * kBc + 16 * v, _mm512_permutexvar_epi16(pairIdx, db2));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(ds16 + r * kBc + 16 * v), _mm512_castsi512_si256(db2));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(ds16 + (r + 1) * kBc + 16 * v), _mm512_extracti64x4_epi64(db2, 1));
        }
      }
      P::gemm(dkp, kBc, kBr, gT + i0, tp, pp, kBc, dvT, kBc, true);   // dVᵀ += dOᵀ P
      P::gemm(dkp, kBc, kBr, qT + i0, tp, dsp, kBc, dkT, kBc, true);  // dKᵀ/scale += Qᵀ dS
      P::gemmBandK(kBr, dp, kBc, ds16, kBc, kc, dp, dqs + i0 * dp, dp, true, band);  // dQ/scale += dS K
    }
    O* dkh = dk + lay.kv.at(h, j0);
    O* dvh = dv + lay.kv.at(h, j0);
    transpose32(reinterpret_cast<const uint32_t*>(dkT), kBc, d, cn, reinterpret_cast<uint32_t*>(kRows), dkp);
    transpose32(reinterpret_cast<const uint32_t*>(dvT), kBc, d, cn, reinterpret_cast<uint32_t*>(vRows), dkp);
    for (int64_t c = 0; c < cn; ++c) {
      if constexpr (kBits) {
        if (pb.cosT) {
          storeRow(kRows + c * dkp, d, scale, pb.cosT, pb.sinT, j0 + c, row2);
          roundRow(row2, d, dkh + c * ldk);
        } else {
          scaleRoundRow(kRows + c * dkp, d, scale, dkh + c * ldk);
        }
        roundRow(vRows + c * dkp, d, dvh + c * ldk);
      } else {
        storeRow(kRows + c * dkp, d, scale, pb.cosT, pb.sinT, j0 + c, dkh + c * ldk);
        std::memcpy(dvh + c * ldk, vRows + c * dkp, sizeof(float) * d);
      }
    }
  }
  O* dqh = dq + lay.q.at(h);
  for (int64_t i = 0; i < t; ++i) {
    if constexpr (kBits) {
      if (pb.cosT) {
        storeRow(dqs + i * dp, d, scale, pb.cosT, pb.sinT, i + off, row2);
        roundRow(row2, d, dqh + i * ldq);
      } else {
        scaleRoundRow(dqs + i * dp, d, scale, dqh + i * ldq);
      }
    } else {
      storeRow(dqs + i * dp, d, scale, pb.cosT, pb.sinT, i + off, dqh + i * ldq);
    }
  }
}

// AVX512_BF16 (CPUID.(7,1):EAX[5]) with AVX512F/BW/VL/DQ, and an OS that saves the opmask and zmm
// registers (XCR0 bits 1, 2, 5, 6, 7).
bool detectAvx512Bf16() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1u)) return false;  // OSXSAVE: xgetbv is usable
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 0xe6u) != 0xe6u) return false;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const unsigned subleaves = a;
  const bool f = (b >> 16) & 1u, dq = (b >> 17) & 1u, bw = (b >> 30) & 1u, vl = (b >> 31) & 1u;
  if (!f || !dq || !bw || !vl || subleaves < 1) return false;
  __cpuid_count(7, 1, a, b, c, d);
  return (a >> 5) & 1u;
}

bool detectAmx() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool tile = (d >> 24) & 1u, bf16 = (d >> 22) & 1u;
  if (!tile || !bf16) return false;
  // Linux hands out AMX state per process on request (ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA).
  return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
}

template <class P, class O>
void forwardAll(const uint16_t* q, const uint16_t* k, const uint16_t* v, O* out, float* lse, const Problem& pb,
                const Layout& lay, int64_t bh, float scale) {
  const bool masked = pb.keyPad != nullptr || pb.window > 0;
  const int64_t qBlocks = (pb.t + kBr - 1) / kBr;
  // One task per head when there are heads enough to go round and no window: its blocks share the
  // K and V tiles (formed once, not once per block, and on the thread that reads them); else one per block.
  const bool perHead = pb.window == 0 && qBlocks > 1 && bh >= 4 * numThreads();
  auto task = [&](int64_t task) {
    P::begin();
    if (perHead) {
      const int64_t h = task, tiles = (pb.s + kBc - 1) / kBc;
      KvTiles kv{nullptr, nullptr, nullptr, round32(pb.d) / 2 * kBc, kBc / 2 * pb.dp};
      Scratch& c = tKvScratch;
      c.reserve(4 * static_cast<size_t>(tiles * (kv.kxSize + kv.vcSize)) + static_cast<size_t>(tiles) + kSlack);
      kv.kx = c.take<uint32_t>(tiles * kv.kxSize);
      kv.vc = c.take<uint32_t>(tiles * kv.vcSize);
      kv.ready = c.take<uint8_t>(tiles);
      std::memset(kv.ready, 0, static_cast<size_t>(tiles));
      for (int64_t i0 = 0; i0 < pb.t; i0 += kBr) {
        if (masked) forwardBlock<P, true, O>(pb, lay, q, k, v, out, lse, h, i0, scale, &kv);
        else forwardBlock<P, false, O>(pb, lay, q, k, v, out, lse, h, i0, scale, &kv);
      }
    } else {
      const int64_t h = task / qBlocks, i0 = (task % qBlocks) * kBr;
      if (masked) forwardBlock<P, true, O>(pb, lay, q, k, v, out, lse, h, i0, scale, nullptr);
      else forwardBlock<P, false, O>(pb, lay, q, k, v, out, lse, h, i0, scale, nullptr);
    }
    P::end();
  };
  const int64_t tasks = perHead ? bh : bh * qBlocks;
  if (bh * pb.t * pb.s * pb.d < kSerialElems * 4) {
    for (int64_t i = 0; i < tasks; ++i) task(i);
  } else {
    parallelTasks(tasks, [&](int64_t i, int) { task(i); });
  }
}

template <class P, class O>
void backwardAll(const uint16_t* q, const uint16_t* k, const uint16_t* v, const O* out, const float* lse, const O* g,
                 O* dq, O* dk, O* dv, const Problem& pb, const Layout& lay, int64_t bh, float scale) {
  const bool masked = pb.keyPad != nullptr || pb.window > 0;
  auto task = [&](int64_t h) {
    P::begin();
    if (masked) backwardHead<P, true, O>(pb, lay, q, k, v, out, lse, g, dq, dk, dv, h, scale);
    else backwardHead<P, false, O>(pb, lay, q, k, v, out, lse, g, dq, dk, dv, h, scale);
    P::end();
  };
  if (bh * pb.t * pb.s * pb.d < kSerialElems * 4) {
    for (int64_t h = 0; h < bh; ++h) task(h);
  } else {
    parallelTasks(bh, [&](int64_t h, int) { task(h); });
  }
}

}  // namespace

bool attentionAvx512Bf16Available() {
  static const bool ok = detectAvx512Bf16();
  return ok;
}

bool attentionAmxAvailable() {
  static const bool ok = attentionAvx512Bf16Available() && detectAmx();  // the kernel around the tiles is AVX-512
  return ok;
}

template <class O>
void attentionBf16(Bf16Products on, const uint16_t* q, const uint16_t* k, const uint16_t* v, O* out, float* lse,
                   const Problem& pb, const Layout& lay, int64_t bh, float scale) {
  if (on == Bf16Products::kAmx) forwardAll<AmxProducts>(q, k, v, out, lse, pb, lay, bh, scale);
  else forwardAll<DpProducts>(q, k, v, out, lse, pb, lay, bh, scale);
}

template <class O>
void attentionBf16Backward(Bf16Products on, const uint16_t* q, const uint16_t* k, const uint16_t* v, const O* out,
                           const float* lse, const O* g, O* dq, O* dk, O* dv, const Problem& pb, const Layout& lay,
                           int64_t bh, float scale) {
  if (on == Bf16Products::kAmx) backwardAll<AmxProducts>(q, k, v, out, lse, g, dq, dk, dv, pb, lay, bh, scale);
  else backwardAll<DpProducts>(q, k, v, out, lse, g, dq, dk, dv, pb, lay, bh, scale);
}

#else  // not x86-64 with GCC/Clang: no bf16 instructions to use

bool attentionAvx512Bf16Available() { return false; }
bool attentionAmxAvailable() { return false; }
template <class O>
void attentionBf16(Bf16Products, const uint16_t*, const uint16_t*, const uint16_t*, O*, float*, const Problem&,
                   const Layout&, int64_t, float) {
  std::abort();  // never called: neither is available
}
template <class O>
void attentionBf16Backward(Bf16Products, const uint16_t*, const uint16_t*, const uint16_t*, const O*, const float*,
                           const O*, O*, O*, O*, const Problem&, const Layout&, int64_t, float) {
  std::abort();
}

#endif

// The two output formats: float32, and bf16 bits.
template void attentionBf16<float>(Bf16Products, const uint16_t*, const uint16_t*, const uint16_t*, float*, float*,
                                   const Problem&, const Layout&, int64_t, float);
template void attentionBf16<uint16_t>(Bf16Products, const uint16_t*, const uint16_t*, const uint16_t*, uint16_t*, float*,
                                      const Problem&, const Layout&, int64_t, float);
template void attentionBf16Backward<float>(Bf16Products, const uint16_t*, const uint16_t*, const uint16_t*, const float*,
                                           const float*, const float*, float*, float*, float*, const Problem&,
                                           const Layout&, int64_t, float);
template void attentionBf16Backward<uint16_t>(Bf16Products, const uint16_t*, const uint16_t*, const uint16_t*,
                                              const uint16_t*, const float*, const uint16_t*, uint16_t*, uint16_t*,
                                              uint16_t*, const Problem&, const Layout&, int64_t, float);

}  // namespace tf
