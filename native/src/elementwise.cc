// Elementwise kernels: unary maps (two of them GELU derivatives), broadcasting binary maps, strided copies.
// Each op is a small inline functor applied in a plain loop so that GCC vectorises it.
#include <cstdint>

#include "common.h"
#include "kernels.h"

namespace tf {
namespace {

constexpr float kSqrt2OverPi = 0.79788456080286536f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// out = f(x), or out = g · f(x) when g is given (unaryMul: one pass instead of a map and a product).
template <class F>
void mapUnary(const float* x, const float* g, float* out, int64_t n, int64_t grain, F f) {
  parallelFor(n, grain, [&](int64_t b, int64_t e) {
    if (g == nullptr) {
      for (int64_t i = b; i < e; ++i) out[i] = f(x[i]);
    } else {
      for (int64_t i = b; i < e; ++i) out[i] = g[i] * f(x[i]);
    }
  });
}

inline float sigmoidf(float x) {
  // exp of a non-positive argument only, so that large |x| never gives inf/inf.
  float e = fastExp(-std::fabs(x));
  float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

inline float geluf(float x) { return x * normalCdf(x); }

// GELU's derivative Φ(x) + x·φ(x) with one exp per element: e = exp(-x²/2) (the -x²/2 an exact
// hi + lo pair, as normalCdf) gives φ = e/√(2π) and, through Numerical Recipes' erfcc,
// erfc(|x|/√2) = t·e·exp(P(t)), t = 1/(1 + |x|/(2√2)), where exp(P(t)) is replaced by the polynomial
// Q(u), u = 2t - 1 (degree-11 fit, relative error 3.9e-8; 1.7e-7 in float32 Horner arithmetic;
// scripts/fit-gelu-derivative.py). normalCdf(x) + x·fastExp(-x²/2)/√(2π) took two exps and measured
// 1.8 ns per element against 0.94 ns for this one (L1-resident, one thread), with the same maximum
// absolute error against erfcl on [-6, 6] (1.6e-7 and 1.5e-7).
inline float geluDerivativef(float x) {
  const float ax = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.5f * (ax * 0.70710678118654752f));
  const float u = 2.0f * t - 1.0f;
  float q = 4.1099818190559745e-05f;
  q = q * u + 4.292266385164112e-05f;
  q = q * u - 0.00015017685655038804f;
  q = q * u - 0.00030173236154951155f;
  q = q * u + 0.0005448255105875432f;
  q = q * u + 0.001531626214273274f;
  q = q * u - 0.0032936674542725086f;
  q = q * u - 0.010752673260867596f;
  q = q * u + 0.018230682238936424f;
  q = q * u + 0.1397358775138855f;
  q = q * u + 0.34357985854148865f;
  q = q * u + 0.5107913613319397f;
  float sqHi, sqLo;
  exactSquare(ax, sqHi, sqLo);
  const float e = fastExp2(-0.5f * sqHi, -0.5f * sqLo);
  const float half = 0.5f * t * e * q;  // erfc(|x|/√2)/2 = Φ(-|x|)
  const float cdf = x < 0.0f ? half : 1.0f - half;
  // φ underflows to 0 well before x·φ could be inf·0.
  const float pdf = e * kInvSqrt2Pi;
  const float tail = pdf == 0.0f ? 0.0f : x * pdf;
  return x != x ? x : cdf + tail;
}

// The unary maps, applied alone (g null) or times g.
bool unaryMap(int op, const float* x, const float* g, float* out, int64_t n, float p0, float p1) {
  const int64_t cheap = kSerialElems, costly = kSerialElems / 8;
  switch (op) {
    case kNeg: mapUnary(x, g, out, n, cheap, [](float v) { return -v; }); return true;
    case kExp: mapUnary(x, g, out, n, costly, [](float v) { return fastExp(v); }); return true;
    case kLog: mapUnary(x, g, out, n, costly, [](float v) { return std::log(v); }); return true;
    case kLog1p: mapUnary(x, g, out, n, costly, [](float v) { return std::log1p(v); }); return true;
    case kSqrt: mapUnary(x, g, out, n, cheap, [](float v) { return std::sqrt(v); }); return true;
    case kRsqrt: mapUnary(x, g, out, n, cheap, [](float v) { return 1.0f / std::sqrt(v); }); return true;
    case kAbs: mapUnary(x, g, out, n, cheap, [](float v) { return std::fabs(v); }); return true;
    case kSign:
      // torch.sign: 0 at ±0 and at NaN.
      mapUnary(x, g, out, n, cheap, [](float v) { return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); });
      return true;
    case kTanh: mapUnary(x, g, out, n, costly, [](float v) { return std::tanh(v); }); return true;
    case kSigmoid: mapUnary(x, g, out, n, costly, [](float v) { return sigmoidf(v); }); return true;
    case kRelu: mapUnary(x, g, out, n, cheap, [](float v) { return v > 0.0f ? v : (v == v ? 0.0f : v); }); return true;
    case kGelu: mapUnary(x, g, out, n, costly, [](float v) { return geluf(v); }); return true;
    case kGeluTanh:
      // 0.5·x·(1 + tanh(u)) = x·sigmoid(2u): no cancellation where tanh(u) is near -1.
      mapUnary(x, g, out, n, costly, [](float v) {
        return v * sigmoidf(2.0f * kSqrt2OverPi * (v + 0.044715f * v * v * v));
      });
      return true;
    case kSilu: mapUnary(x, g, out, n, costly, [](float v) { return v * sigmoidf(v); }); return true;
    case kSquare: mapUnary(x, g, out, n, cheap, [](float v) { return v * v; }); return true;
    case kReciprocal: mapUnary(x, g, out, n, cheap, [](float v) { return 1.0f / v; }); return true;
    case kPowScalar:
      if (p0 == 2.0f) mapUnary(x, g, out, n, cheap, [](float v) { return v * v; });
      else if (p0 == 1.0f) mapUnary(x, g, out, n, cheap, [](float v) { return v; });
      else mapUnary(x, g, out, n, costly, [p0](float v) { return std::pow(v, p0); });
      return true;
    case kClamp: {
      // A NaN bound means no bound: comparisons with NaN are false.
      mapUnary(x, g, out, n, cheap, [p0, p1](float v) {
        float y = v < p0 ? p0 : v;
        return y > p1 ? p1 : y;
      });
      return true;
    }
    case kAddScalar: mapUnary(x, g, out, n, cheap, [p0](float v) { return v + p0; }); return true;
    case kMulScalar: mapUnary(x, g, out, n, cheap, [p0](float v) { return v * p0; }); return true;
    case kRsubScalar: mapUnary(x, g, out, n, cheap, [p0](float v) { return p0 - v; }); return true;
    case kHeaviside:
      // torch.heaviside: 0 at NaN.
      mapUnary(x, g, out, n, cheap, [p0](float v) { return v > 0.0f ? 1.0f : (v == 0.0f ? p0 : 0.0f); });
      return true;
    case kGeluDerivative:
      mapUnary(x, g, out, n, costly, [](float xv) { return geluDerivativef(xv); });
      return true;
    case kGeluTanhDerivative:
      // With s = sigmoid(2u): (1 + tanh u)/2 = s and (1 - tanh² u)/2 = 2 s (1 - s).
      mapUnary(x, g, out, n, costly, [](float xv) {
        float s = sigmoidf(2.0f * kSqrt2OverPi * (xv + 0.044715f * xv * xv * xv));
        float dInner = kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * xv * xv);
        float sech2Half = 2.0f * s * (1.0f - s);
        float tail = sech2Half == 0.0f ? 0.0f : xv * sech2Half * dInner;
        return s + tail;
      });
      return true;
    default: return false;
  }
}

}  // namespace

bool unary(int op, const float* x, float* out, int64_t n, float p0, float p1) { return unaryMap(op, x, nullptr, out, n, p0, p1); }

bool unaryMul(int op, const float* x, const float* g, float* out, int64_t n, float p0, float p1) {
  return unaryMap(op, x, g, out, n, p0, p1);
}

namespace {

// A strided iteration space with size-1 dimensions dropped and mergeable neighbours merged, so that
// the innermost loop is as long as possible. Up to two operands share the same shape.
struct Space {
  int nd = 0;
  int64_t shape[kMaxDims];
  int64_t s0[kMaxDims];
  int64_t s1[kMaxDims];
  int64_t rows = 1;   // product of all but the last dimension
  int64_t inner = 1;  // last dimension
};

Space collapse(const int64_t* shape, const int64_t* st0, const int64_t* st1, int nd) {
  Space sp;
  for (int d = 0; d < nd; ++d) {
    if (shape[d] == 1) continue;
    if (sp.nd > 0) {
      int p = sp.nd - 1;
      // Merge the previous (outer) dimension into this one when it steps exactly over it.
      if (sp.s0[p] == st0[d] * shape[d] && (st1 == nullptr || sp.s1[p] == st1[d] * shape[d])) {
        sp.shape[p] *= shape[d];
        sp.s0[p] = st0[d];
        if (st1 != nullptr) sp.s1[p] = st1[d];
        continue;
      }
    }
    sp.shape[sp.nd] = shape[d];
    sp.s0[sp.nd] = st0[d];
    sp.s1[sp.nd] = st1 != nullptr ? st1[d] : 0;
    ++sp.nd;
  }
  if (sp.nd == 0) {
    sp.nd = 1;
    sp.shape[0] = 1;
    sp.s0[0] = 0;
    sp.s1[0] = 0;
  }
  sp.inner = sp.shape[sp.nd - 1];
  for (int d = 0; d < sp.nd - 1; ++d) sp.rows *= sp.shape[d];
  return sp;
}

// Calls body(row, off0, off1) for rows [rb, re) of the space, walking the outer index like an
// odometer so that only the first row needs divisions.
template <class Body>
void forRows(const Space& sp, int64_t rb, int64_t re, Body body) {
  int outerNd = sp.nd - 1;
  int64_t idx[kMaxDims];
  int64_t o0 = 0, o1 = 0, r = rb;
  for (int d = outerNd - 1; d >= 0; --d) {
    idx[d] = r % sp.shape[d];
    r /= sp.shape[d];
    o0 += idx[d] * sp.s0[d];
    o1 += idx[d] * sp.s1[d];
  }
  for (int64_t row = rb; row < re; ++row) {
    body(row, o0, o1);
    for (int d = outerNd - 1; d >= 0; --d) {
      o0 += sp.s0[d];
      o1 += sp.s1[d];
      if (++idx[d] < sp.shape[d]) break;
      o0 -= sp.s0[d] * sp.shape[d];
      o1 -= sp.s1[d] * sp.shape[d];
      idx[d] = 0;
    }
  }
}

// out[0..len) = f(a[i*sa], b[i*sb]) with the common stride patterns specialised for vectorising.
template <class F>
inline void binaryRun(const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t len, F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < len; ++i) out[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = b[0];
    for (int64_t i = 0; i < len; ++i) out[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < len; ++i) out[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < len; ++i) out[i] = f(a[i * sa], b[i * sb]);
  }
}

template <class F>
void binaryMap(const float* a, const int64_t* as, const float* b, const int64_t* bs, float* out, const int64_t* shape,
               int nd, int64_t grain, F f) {
  int64_t total = 1;
  for (int d = 0; d < nd; ++d) total *= shape[d];
  if (total == 0) return;
  Space sp = collapse(shape, as, bs, nd);
  const int64_t inner = sp.inner;
  if (sp.rows == 1) {
    const int64_t sa = sp.s0[sp.nd - 1], sb = sp.s1[sp.nd - 1];
    parallelFor(inner, grain, [&](int64_t lo, int64_t hi) {
      binaryRun(a + lo * sa, sa, b + lo * sb, sb, out + lo, hi - lo, f);
    });
    return;
  }
  const int64_t rowGrain = grain / inner > 0 ? grain / inner : 1;
  parallelFor(sp.rows, rowGrain, [&](int64_t rb, int64_t re) {
    const int64_t sa = sp.s0[sp.nd - 1], sb = sp.s1[sp.nd - 1];
    forRows(sp, rb, re, [&](int64_t row, int64_t oa, int64_t ob) {
      binaryRun(a + oa, sa, b + ob, sb, out + row * inner, inner, f);
    });
  });
}

}  // namespace

bool binary(int op, const float* a, const int64_t* as, const float* b, const int64_t* bs, float* out,
            const int64_t* shape, int nd) {
  const int64_t cheap = kSerialElems;
  switch (op) {
    case kAdd: binaryMap(a, as, b, bs, out, shape, nd, cheap, [](float x, float y) { return x + y; }); return true;
    case kSub: binaryMap(a, as, b, bs, out, shape, nd, cheap, [](float x, float y) { return x - y; }); return true;
    case kMul: binaryMap(a, as, b, bs, out, shape, nd, cheap, [](float x, float y) { return x * y; }); return true;
    case kDiv: binaryMap(a, as, b, bs, out, shape, nd, cheap, [](float x, float y) { return x / y; }); return true;
    case kPow:
      binaryMap(a, as, b, bs, out, shape, nd, cheap / 8, [](float x, float y) { return std::pow(x, y); });
      return true;
    case kMaximum:
      binaryMap(a, as, b, bs, out, shape, nd, cheap, [](float x, float y) {
        float r = x > y ? x : y;
        return (x != x || y != y) ? x + y : r;  // NaN propagates from either side
      });
      return true;
    case kMinimum:
      binaryMap(a, as, b, bs, out, shape, nd, cheap, [](float x, float y) {
        float r = x < y ? x : y;
        return (x != x || y != y) ? x + y : r;
      });
      return true;
    default: return false;
  }
}

namespace {

// out[r*C + c] = src[r + c*ls] for one [R, C] slab whose source is the transpose of a row-major
// array: copied in 16×16 blocks so that reads and writes both stay within a few cache lines.
template <class T>
void transposeSlab(const T* src, int64_t ls, T* out, int64_t r0, int64_t r1, int64_t C) {
  constexpr int64_t kB = 16;  // 16 output rows: power-of-two row strides would alias 32 rows onto too few L1 sets
  for (int64_t rb = r0; rb < r1; rb += kB) {
    const int64_t re = rb + kB < r1 ? rb + kB : r1;
    for (int64_t cb = 0; cb < C; cb += kB) {
      const int64_t ce = cb + kB < C ? cb + kB : C;
      for (int64_t c = cb; c < ce; ++c) {
        const T* s = src + c * ls;
        for (int64_t r = rb; r < re; ++r) out[r * C + c] = s[r];
      }
    }
  }
}

template <class T>
void copyTyped(const T* src, const int64_t* shape, const int64_t* strides, int nd, T* out) {
  int64_t total = 1;
  for (int d = 0; d < nd; ++d) total *= shape[d];
  if (total == 0) return;
  Space sp = collapse(shape, strides, nullptr, nd);
  const int64_t inner = sp.inner, ls = sp.s0[sp.nd - 1];
  if (sp.nd >= 2 && ls != 1 && sp.s0[sp.nd - 2] == 1 && inner >= 8 && sp.shape[sp.nd - 2] >= 8) {
    // The last two dimensions are a transpose: blocked copy per [R, C] slab.
    const int64_t R = sp.shape[sp.nd - 2], C = inner;
    Space outerSp = sp;  // outer dims plus a size-1 last dim, so forRows walks the slabs
    outerSp.nd = sp.nd - 1;
    outerSp.shape[outerSp.nd - 1] = 1;
    outerSp.s0[outerSp.nd - 1] = 0;
    outerSp.rows = sp.rows / R;
    constexpr int64_t kRows = 64;
    const int64_t rBlocks = (R + kRows - 1) / kRows;
    const int64_t grain = kSerialElems * 2 / (kRows * C) > 0 ? kSerialElems * 2 / (kRows * C) : 1;
    parallelFor(outerSp.rows * rBlocks, grain, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t slab = t / rBlocks, r0 = (t % rBlocks) * kRows, r1 = r0 + kRows < R ? r0 + kRows : R;
        forRows(outerSp, slab, slab + 1, [&](int64_t, int64_t so, int64_t) {
          transposeSlab(src + so, ls, out + slab * R * C, r0, r1, C);
        });
      }
    });
    return;
  }
  auto run = [&](const T* s, T* o, int64_t len) {
    if (ls == 1) std::memcpy(o, s, len * sizeof(T));
    else for (int64_t j = 0; j < len; ++j) o[j] = s[j * ls];
  };
  if (sp.rows == 1) {
    parallelFor(inner, kSerialElems * 2, [&](int64_t lo, int64_t hi) { run(src + lo * ls, out + lo, hi - lo); });
    return;
  }
  const int64_t rowGrain = kSerialElems * 2 / inner > 0 ? kSerialElems * 2 / inner : 1;
  parallelFor(sp.rows, rowGrain, [&](int64_t rb, int64_t re) {
    forRows(sp, rb, re, [&](int64_t row, int64_t so, int64_t) { run(src + so, out + row * inner, inner); });
  });
}

}  // namespace

void copyStrided(const void* src, int elemBytes, int64_t srcOffset, const int64_t* shape, const int64_t* strides,
                 int nd, void* out) {
  switch (elemBytes) {
    case 2:
      copyTyped(static_cast<const uint16_t*>(src) + srcOffset, shape, strides, nd, static_cast<uint16_t*>(out));
      break;
    case 4:
      copyTyped(static_cast<const uint32_t*>(src) + srcOffset, shape, strides, nd, static_cast<uint32_t*>(out));
      break;
    default:
      copyTyped(static_cast<const uint64_t*>(src) + srcOffset, shape, strides, nd, static_cast<uint64_t*>(out));
      break;
  }
}

}  // namespace tf
