// Dispatch of low-precision matrix products (bf16-gemm.h) and the float32 ↔ 16-bit casts.
// bfloat16: the own vdpbf16ps kernel (bf16-kernel.cc), or oneDNN's matmul on CPUs with AMX (see
// chooseImpl; TRAINFORMER_BF16_GEMM=own|dnnl|emulate overrides); without AVX512_BF16 the operands are rounded
// to bf16 values in float32 buffers and multiplied by cblas_sgemm (exact products, float32 sums),
// and the addon says so once on stderr. float16 always takes that emulated path (this CPU family's
// float16 arithmetic, AVX512-FP16, accumulates in float16, which is not the policy).
#include "bf16-gemm.h"
#include "attention-tiles.h"  // attentionAmxAvailable
#include "column-blocks.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"
#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TF_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
#define TF_HAVE_AVX512 1
#endif

namespace tf {
namespace {

// ---- scalar casts (the reference rules of src/amp/cast.ts) --------------------------------------
inline uint32_t f32bits(float x) { uint32_t u; std::memcpy(&u, &x, 4); return u; }
inline float f32(uint32_t u) { float x; std::memcpy(&x, &u, 4); return x; }

inline uint16_t bf16FromF32(float x) {
  const uint32_t u = f32bits(x);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0) return static_cast<uint16_t>((u >> 16) | 0x40u);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

inline uint16_t f16FromF32(float x) {
  const uint32_t u = f32bits(x);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const int exp = static_cast<int>((u >> 23) & 0xffu);
  const uint32_t mant = u & 0x007fffffu;
  if (exp == 0xff) return static_cast<uint16_t>(mant == 0 ? sign | 0x7c00u : sign | 0x7e00u | (mant >> 13));
  const int e = exp - 127;
  if (e > 15) return static_cast<uint16_t>(sign | 0x7c00u);
  if (e >= -14) {
    uint32_t h = (static_cast<uint32_t>(e + 15) << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  if (exp == 0) return static_cast<uint16_t>(sign);
  const uint32_t full = mant | 0x00800000u;
  const int shift = -e - 1;
  if (shift > 24) return static_cast<uint16_t>(sign);
  uint32_t q = full >> shift;
  const uint32_t rest = full & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (q & 1u))) ++q;
  return static_cast<uint16_t>(sign | q);
}

inline float f32FromBf16(uint16_t h) { return f32(static_cast<uint32_t>(h) << 16); }

inline float f32FromF16(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const int exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return f32(sign | 0x7f800000u | (mant << 13));
  if (exp != 0) return f32(sign | (static_cast<uint32_t>(exp - 15 + 127) << 23) | (mant << 13));
  if (mant == 0) return f32(sign);
  int e = -14;
  while ((mant & 0x400u) == 0) { mant <<= 1; --e; }
  return f32(sign | (static_cast<uint32_t>(e + 127) << 23) | ((mant & 0x3ffu) << 13));
}

bool avx512() {
#if defined(TF_HAVE_AVX512)
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return ok;
#else
  return false;
#endif
}

#if defined(TF_HAVE_AVX512)
// float16 with the F16C/AVX-512 conversion (round to nearest even; NaN stays NaN, overflow → inf,
// subnormals kept), 16 at a time; the tail through the scalar rule.
TF_AVX512 void toF16Avx(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; ++i) out[i] = f16FromF32(x[i]);
}
TF_AVX512 void fromF16Avx(const uint16_t* x, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))));
  for (; i < n; ++i) out[i] = f32FromF16(x[i]);
}
// bfloat16 by integer arithmetic (the scalar rule, 16 lanes): exact for subnormals too.
TF_AVX512 inline __m256i bf16x16(__m512i u) {
  const __m512i expMask = _mm512_set1_epi32(0x7f800000), mantMask = _mm512_set1_epi32(0x007fffff);
  const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1), quiet = _mm512_set1_epi32(0x400000);
  const __mmask16 nan = _mm512_cmpeq_epi32_mask(_mm512_and_si512(u, expMask), expMask) &
                        _mm512_test_epi32_mask(u, mantMask);
  __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(u, 16), one)));
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, quiet));
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16));
}
TF_AVX512 void toBf16Avx(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), bf16x16(_mm512_loadu_si512(x + i)));
  for (; i < n; ++i) out[i] = bf16FromF32(x[i]);
}
// Rows [r0, r1) of x [rows, cols]: bf16 bits into out, and acc[j] = Σ_i x[i, j] in row order (one
// rounding per addition, as the scalar loop), reading x row after row (summing down the columns
// instead, 64 at a time, ran no faster than a cast and a separate reduction: strided reads wait on
// memory).
TF_AVX512 void bf16ColumnSumsAvx(const float* x, uint16_t* out, float* acc, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t j = 0; j < cols; ++j) acc[j] = 0.0f;
  for (int64_t i = r0; i < r1; ++i) {
    const float* xi = x + i * cols;
    uint16_t* oi = out + i * cols;
    int64_t j = 0;
    for (; j + 16 <= cols; j += 16) {
      const __m512 v = _mm512_loadu_ps(xi + j);
      _mm512_storeu_ps(acc + j, _mm512_add_ps(_mm512_loadu_ps(acc + j), v));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(oi + j), bf16x16(_mm512_castps_si512(v)));
    }
    for (; j < cols; ++j) {
      acc[j] += xi[j];
      oi[j] = bf16FromF32(xi[j]);
    }
  }
}
#endif

void toLowp(int dtype, const float* x, uint16_t* out, int64_t n) {
#if defined(TF_HAVE_AVX512)
  if (avx512()) {
    if (dtype == kFloat16) toF16Avx(x, out, n);
    else toBf16Avx(x, out, n);
    return;
  }
#endif
  if (dtype == kFloat16) for (int64_t i = 0; i < n; ++i) out[i] = f16FromF32(x[i]);
  else for (int64_t i = 0; i < n; ++i) out[i] = bf16FromF32(x[i]);
}

void fromLowp(int dtype, const uint16_t* x, float* out, int64_t n) {
#if defined(TF_HAVE_AVX512)
  if (avx512() && dtype == kFloat16) { fromF16Avx(x, out, n); return; }
#endif
  if (dtype == kFloat16) for (int64_t i = 0; i < n; ++i) out[i] = f32FromF16(x[i]);
  else for (int64_t i = 0; i < n; ++i) out[i] = f32FromBf16(x[i]);  // vectorises as a shift
}

// x [n] (float32 or 16-bit bits) → float32 values of the rounded elements.
void roundedF32(int dtype, const void* x, int kind, float* out, int64_t n) {
  if (kind == kOperandBits16) { fromLowp(dtype, static_cast<const uint16_t*>(x), out, n); return; }
  const float* xf = static_cast<const float*>(x);
  constexpr int64_t kChunk = 4096;
  parallelFor((n + kChunk - 1) / kChunk, 8, [&](int64_t lo, int64_t hi) {
    uint16_t local[kChunk];
    for (int64_t c = lo; c < hi; ++c) {
      const int64_t s = c * kChunk, len = n - s < kChunk ? n - s : kChunk;
      toLowp(dtype, xf + s, local, len);
      fromLowp(dtype, local, out + s, len);
    }
  });
}

int chooseImpl() {
  const char* env = std::getenv("TRAINFORMER_BF16_GEMM");
  const std::string want = env != nullptr ? env : "";
  if (want == "emulate" || !bf16KernelAvailable()) return 0;
  if (want == "own") return 1;
  if (want == "dnnl") return dnnlBuiltIn() ? 2 : 1;
  // Measured per shape (bench/bf16-gemm.ts --step small|gpt2, 2 threads, AMD EPYC Zen 5 with
  // AVX512_BF16 and no AMX, 2026-12-07): the own kernel is as fast as or faster than oneDNN 2.6's
  // matmul on every bf16 product of the small and gpt2 training steps (the dW products by 10-25%,
  // the LM head's dW 58 ms against 91, the bf16-output products with its fused rounding store by
  // 8-20%), so it runs wherever the CPU has AVX512_BF16 without AMX. With AMX (and oneDNN built in)
  // oneDNN's tile kernels stay the choice: the own kernel has no AMX path.
  return dnnlBuiltIn() && attentionAmxAvailable() ? 2 : 1;
}
int gImpl = -1;

void emulated(int dtype, const void* a, int aKind, const void* b, int bKind, float* c, int64_t batch, int64_t m,
              int64_t n, int64_t k, bool transA, bool transB, int64_t asb, int64_t bsb, float alpha, float beta) {
  const int64_t aLen = (batch - 1) * asb + m * k, bLen = (batch - 1) * bsb + k * n;
  std::vector<float> af(static_cast<size_t>(aLen)), bf(static_cast<size_t>(bLen));
  roundedF32(dtype, a, aKind, af.data(), aLen);
  roundedF32(dtype, b, bKind, bf.data(), bLen);
  matmul(af.data(), bf.data(), c, batch, m, n, k, transA, transB, asb, bsb, alpha, beta);
}

}  // namespace

bool setBf16GemmImpl(int impl) {
  if (impl == 1 && !bf16KernelAvailable()) return false;
  if (impl == 2 && (!dnnlBuiltIn() || !bf16KernelAvailable())) return false;
  if (impl < 0 || impl > 2) return false;
  gImpl = impl;
  return true;
}

int bf16GemmImpl() {
  if (gImpl < 0) {
    gImpl = chooseImpl();
    if (!bf16KernelAvailable())
      std::fprintf(stderr, "trainformer: this CPU has no AVX512_BF16; bfloat16 products are emulated (operands rounded to bfloat16, float32 products)\n");
  }
  return gImpl;
}

void castToLowp(int dtype, const float* x, uint16_t* out, int64_t n) {
  parallelFor(n, kSerialElems, [&](int64_t lo, int64_t hi) { toLowp(dtype, x + lo, out + lo, hi - lo); });
}

void castFromLowp(int dtype, const uint16_t* x, float* out, int64_t n) {
  parallelFor(n, kSerialElems, [&](int64_t lo, int64_t hi) { fromLowp(dtype, x + lo, out + lo, hi - lo); });
}

void castToLowpColumnSums(int dtype, const float* x, uint16_t* out, float* sums, int64_t rows, int64_t cols) {
  columnSumsInBlocks(rows, cols, sums, [&](int64_t r0, int64_t r1, float* acc) {
#if defined(TF_HAVE_AVX512)
    if (dtype == kBfloat16 && avx512()) {
      bf16ColumnSumsAvx(x, out, acc, r0, r1, cols);
      return;
    }
#endif
    for (int64_t j = 0; j < cols; ++j) acc[j] = 0.0f;
    for (int64_t i = r0; i < r1; ++i) {
      toLowp(dtype, x + i * cols, out + i * cols, cols);
      for (int64_t j = 0; j < cols; ++j) acc[j] += x[i * cols + j];
    }
  });
}

void linearLowp(int dtype, const void* x, int xKind, const void* w, int wKind, const float* bias, float* out,
                int64_t rows, int64_t outF, int64_t inF) {
  if (rows <= 0 || outF <= 0) return;
  const int impl = dtype == kBfloat16 && inF > 0 ? bf16GemmImpl() : 0;
  if (impl == 2 && bf16GemmDnnl(x, xKind, w, wKind, out, rows, outF, inF, false, true, 1.0f, 0.0f, bias)) return;
  if (impl == 1) {
    // The own kernel adds the bias as it stores the last k block's sums.
    bf16GemmOwnEx(x, xKind, w, wKind, out, nullptr, rows, outF, inF, false, true, 1.0f, 0.0f, bias);
    return;
  }
  matmulLowp(dtype, x, xKind, w, wKind, out, 1, rows, outF, inF, false, true, 0, 0, 1.0f, 0.0f);
  if (bias == nullptr) return;
  parallelFor(rows, kSerialElems / outF + 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      float* oi = out + i * outF;
      for (int64_t j = 0; j < outF; ++j) oi[j] += bias[j];
    }
  });
}

void linearLowpBits(int dtype, const void* x, int xKind, const void* w, int wKind, const float* bias, uint16_t* out,
                    int64_t rows, int64_t outF, int64_t inF) {
  if (rows <= 0 || outF <= 0) return;
  const int impl = dtype == kBfloat16 && inF > 0 ? bf16GemmImpl() : 0;
  if (impl == 2 && bf16GemmDnnl(x, xKind, w, wKind, out, rows, outF, inF, false, true, 1.0f, 0.0f, bias, true))
    return;
  if (impl == 1) {
    // The own kernel rounds the sums plus bias to bf16 as it stores them (castToLowp's rule).
    bf16GemmOwnEx(x, xKind, w, wKind, nullptr, out, rows, outF, inF, false, true, 1.0f, 0.0f, bias);
    return;
  }
  // The emulation (and a shape oneDNN refused): the float32 output of linearLowp, then castToLowp's rounding.
  std::vector<float> f(static_cast<size_t>(rows * outF));
  linearLowp(dtype, x, xKind, w, wKind, bias, f.data(), rows, outF, inF);
  castToLowp(dtype, f.data(), out, rows * outF);
}

void matmulLowpBits(int dtype, const void* a, int aKind, const void* b, int bKind, uint16_t* c, int64_t batch, int64_t m,
                    int64_t n, int64_t k, bool transA, bool transB, int64_t asb, int64_t bsb, float alpha) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  const int impl = dtype == kBfloat16 && k > 0 ? bf16GemmImpl() : 0;
  const bool stacked = batch > 1 && bsb == 0 && !transA && asb == m * k;
  if (impl == 2) {
    if (batch == 1 && bf16GemmDnnl(a, aKind, b, bKind, c, m, n, k, transA, transB, alpha, 0.0f, nullptr, true)) return;
    if (stacked && bf16GemmDnnl(a, aKind, b, bKind, c, batch * m, n, k, false, transB, alpha, 0.0f, nullptr, true)) return;
  }
  if (impl == 1 && (batch == 1 || stacked)) {
    bf16GemmOwnEx(a, aKind, b, bKind, nullptr, c, batch * m, n, k, transA, transB, alpha, 0.0f, nullptr);
    return;
  }
  std::vector<float> f(static_cast<size_t>(batch * m * n));
  matmulLowp(dtype, a, aKind, b, bKind, f.data(), batch, m, n, k, transA, transB, asb, bsb, alpha, 0.0f);
  castToLowp(dtype, f.data(), c, batch * m * n);
}

void matmulLowp(int dtype, const void* a, int aKind, const void* b, int bKind, float* c, int64_t batch, int64_t m,
                int64_t n, int64_t k, bool transA, bool transB, int64_t asb, int64_t bsb, float alpha, float beta) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < batch * m * n; ++i) c[i] = beta == 0.0f ? 0.0f : beta * c[i];
    return;
  }
  const int impl = dtype == kBfloat16 ? bf16GemmImpl() : 0;
  if (impl == 0) {
    emulated(dtype, a, aKind, b, bKind, c, batch, m, n, k, transA, transB, asb, bsb, alpha, beta);
    return;
  }
  const int aBytes = aKind == kOperandF32 ? 4 : 2, bBytes = bKind == kOperandF32 ? 4 : 2;
  const char* ab = static_cast<const char*>(a);
  const char* bb = static_cast<const char*>(b);
  if (batch > 1 && bsb == 0 && !transA && asb == m * k) {
    // Stacked row-major lefts against one right operand: one tall product (Linear on [B, T, C]).
    if (impl == 2 && bf16GemmDnnl(a, aKind, b, bKind, c, batch * m, n, k, false, transB, alpha, beta)) return;
    bf16GemmOwn(a, aKind, b, bKind, c, batch * m, n, k, false, transB, alpha, beta);
    return;
  }
  for (int64_t i = 0; i < batch; ++i) {
    const void* ai = ab + i * asb * aBytes;
    const void* bi = bb + i * bsb * bBytes;
    float* ci = c + i * m * n;
    if (impl == 2 && bf16GemmDnnl(ai, aKind, bi, bKind, ci, m, n, k, transA, transB, alpha, beta)) continue;
    bf16GemmOwn(ai, aKind, bi, bKind, ci, m, n, k, transA, transB, alpha, beta);
  }
}

}  // namespace tf
