// Attention on 16-bit q, k, v (mixed precision, src/amp): the N-API functions attentionLowp,
// attentionLowpBackward and attentionLowpInfo, registered by addon.cc's Init through
// registerAttentionLowp(), and the generated kernels attentionLowpPacked / attentionLowpPackedBackward
// (GPT-2's self-attention read straight from its packed projection). bfloat16 runs the bf16 tile
// kernel (attention-amx.cc) with its products on AMX, or else on AVX512_BF16, where the CPU and OS
// allow it; otherwise, and for float16, q, k and v are widened to float32 (exactly) and the float32
// kernel (attention.cc) runs on those values (the packed kernels gather them into dense planes first
// and scatter the results back; gathers and scatters run on the pool, into planes kept between calls).
#include <napi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "attention-tiles.h"
#include "bf16-gemm.h"
#include "common.h"
#include "kernels.h"

namespace {

// Which bf16 implementation runs: the best the CPU offers (AMX, then AVX512_BF16, then the float32
// kernel on the widened values), unless a caller (tests, benchmarks) picked another available one.
enum class Impl { kAmx, kAvx512Bf16, kEmulate };
Impl bestImpl() {
  if (tf::attentionAmxAvailable()) return Impl::kAmx;
  if (tf::attentionAvx512Bf16Available()) return Impl::kAvx512Bf16;
  return Impl::kEmulate;
}
Impl gImpl = bestImpl();
const char* implName(Impl i) { return i == Impl::kAmx ? "amx" : i == Impl::kAvx512Bf16 ? "avx512bf16" : "emulate"; }

// Whether `dtype` runs the bf16 tile kernel, and on which products (*on).
bool useTiles(int dtype, tf::Bf16Products* on) {
  if (dtype != tf::kBfloat16 || gImpl == Impl::kEmulate) {
    static bool noticed = false;
    if (dtype == tf::kBfloat16 && bestImpl() == Impl::kEmulate && !noticed) {
      noticed = true;
      std::fprintf(stderr, "trainformer: this CPU (or OS) offers neither AMX-BF16 nor AVX512_BF16; bfloat16 attention runs the float32 kernel on the bf16 values\n");
    }
    return false;
  }
  *on = gImpl == Impl::kAmx ? tf::Bf16Products::kAmx : tf::Bf16Products::kAvx512Bf16;
  return true;
}

// Float scratch of the emulation, grown on demand and kept for the next call (uninitialised: every
// element used is written first). The step calls attention once per layer; fresh planes each call
// cost their page faults (and the zero fill) every time.
struct Planes {
  float* p = nullptr;
  size_t cap = 0;
  float* get(int64_t n) {
    if (static_cast<size_t>(n) > cap) {
      std::free(p);
      p = static_cast<float*>(std::aligned_alloc(64, (static_cast<size_t>(n) * 4 + 63) / 64 * 64));
      if (!p) std::abort();
      cap = static_cast<size_t>(n);
    }
    return p;
  }
  ~Planes() { std::free(p); }
};
thread_local Planes tPlanes;

// Rows per pool chunk of a gather or scatter of rows of d elements.
int64_t rowGrain(int64_t d) { return d > 0 && d < tf::kSerialElems ? tf::kSerialElems / d : 1; }

void throwRange(Napi::Env env, const std::string& m) { Napi::RangeError::New(env, "native backend: " + m).ThrowAsJavaScriptException(); }

// The typed array argument i of kind `type` with at least n elements (or null/undefined when
// optional, then *out = nullptr). Throws and returns false otherwise.
template <class T>
bool arrayArg(const Napi::CallbackInfo& info, size_t i, const char* name, napi_typedarray_type type, int64_t n,
              bool optional, T** out) {
  Napi::Env env = info.Env();
  const Napi::Value v = info[i];
  *out = nullptr;
  if (optional && (v.IsNull() || v.IsUndefined())) return true;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    const char* want = type == napi_uint16_array ? "a Uint16Array" : "a Float32Array";
    Napi::TypeError::New(env, std::string("native backend: ") + name + " must be " + want).ThrowAsJavaScriptException();
    return false;
  }
  const Napi::TypedArray a = v.As<Napi::TypedArray>();
  if (static_cast<int64_t>(a.ElementLength()) < n) {
    throwRange(env, std::string(name) + " has " + std::to_string(a.ElementLength()) + " elements, the kernel needs " +
                        std::to_string(n));
    return false;
  }
  *out = reinterpret_cast<T*>(static_cast<char*>(a.ArrayBuffer().Data()) + a.ByteOffset());
  return true;
}

int64_t intArg(const Napi::CallbackInfo& info, size_t i) { return static_cast<int64_t>(info[i].As<Napi::Number>().DoubleValue()); }


// The arguments both kernels share, after the arrays: keyPad, ropeCos, ropeSin, bh, t, s, d, heads,
// scale, causal, window (starting at argument `at`).
struct Common {
  const float* keyPad;
  const float* cosT;
  const float* sinT;
  int64_t bh, t, s, d, heads, window;
  float scale;
  bool causal;
};

bool commonArgs(const Napi::CallbackInfo& info, size_t at, Common* c) {
  if (info.Length() < at + 11) {
    Napi::TypeError::New(info.Env(), "native backend: too few arguments").ThrowAsJavaScriptException();
    return false;
  }
  c->bh = intArg(info, at + 3);
  c->t = intArg(info, at + 4);
  c->s = intArg(info, at + 5);
  c->d = intArg(info, at + 6);
  c->heads = intArg(info, at + 7);
  c->scale = static_cast<float>(info[at + 8].As<Napi::Number>().DoubleValue());
  c->causal = info[at + 9].ToBoolean().Value();
  c->window = intArg(info, at + 10);
  const int64_t padN = c->heads > 0 ? c->bh / c->heads * c->s : 0, ropeN = c->s * (c->d / 2);
  return arrayArg(info, at, "keyPad", napi_float32_array, padN, true, &c->keyPad) &&
         arrayArg(info, at + 1, "ropeCos", napi_float32_array, ropeN, true, &c->cosT) &&
         arrayArg(info, at + 2, "ropeSin", napi_float32_array, ropeN, true, &c->sinT);
}

// attentionLowp(dtype, q, k, v: Uint16Array, out, lse: Float32Array, keyPad?, ropeCos?, ropeSin?, bh, t, s, d, heads, scale, causal, window)
Napi::Value AttentionLowp(const Napi::CallbackInfo& info) {
  Common c;
  if (!commonArgs(info, 6, &c)) return info.Env().Undefined();
  const int dtype = static_cast<int>(intArg(info, 0));
  const uint16_t *q, *k, *v;
  float *out, *lse;
  if (!arrayArg(info, 1, "q", napi_uint16_array, c.bh * c.t * c.d, false, &q) ||
      !arrayArg(info, 2, "k", napi_uint16_array, c.bh * c.s * c.d, false, &k) ||
      !arrayArg(info, 3, "v", napi_uint16_array, c.bh * c.s * c.d, false, &v) ||
      !arrayArg(info, 4, "out", napi_float32_array, c.bh * c.t * c.d, false, &out) ||
      !arrayArg(info, 5, "lse", napi_float32_array, c.bh * c.t, false, &lse))
    return info.Env().Undefined();
  if (c.bh <= 0 || c.t <= 0 || c.d < 0) return info.Env().Undefined();
  tf::Bf16Products on;
  if (useTiles(dtype, &on) && c.d > 0) {
    const tf::Problem pb = tf::makeProblem(c.keyPad, c.cosT, c.sinT, c.t, c.s, c.d, c.heads, c.causal, c.window);
    tf::attentionBf16(on, q, k, v, out, lse, pb, tf::denseLayout(c.t, c.s, c.d), c.bh, c.scale);
  } else {
    const int64_t nq = c.bh * c.t * c.d, nk = c.bh * c.s * c.d;
    float* qf = tPlanes.get(nq + 2 * nk);
    tf::castFromLowp(dtype, q, qf, nq);
    tf::castFromLowp(dtype, k, qf + nq, nk);
    tf::castFromLowp(dtype, v, qf + nq + nk, nk);
    tf::attention(qf, qf + nq, qf + nq + nk, out, lse, c.keyPad, c.cosT, c.sinT, c.bh, c.t, c.s, c.d, c.heads, c.scale,
                  c.causal, c.window);
  }
  return info.Env().Undefined();
}

// attentionLowpBackward(dtype, q, k, v: Uint16Array, out, lse, g, dq, dk, dv: Float32Array, keyPad?, ropeCos?, ropeSin?, bh, t, s, d, heads, scale, causal, window)
Napi::Value AttentionLowpBackward(const Napi::CallbackInfo& info) {
  Common c;
  if (!commonArgs(info, 10, &c)) return info.Env().Undefined();
  const int dtype = static_cast<int>(intArg(info, 0));
  const uint16_t *q, *k, *v;
  float *out, *lse, *g, *dq, *dk, *dv;
  const int64_t nq = c.bh * c.t * c.d, nk = c.bh * c.s * c.d;
  if (!arrayArg(info, 1, "q", napi_uint16_array, nq, false, &q) ||
      !arrayArg(info, 2, "k", napi_uint16_array, nk, false, &k) ||
      !arrayArg(info, 3, "v", napi_uint16_array, nk, false, &v) ||
      !arrayArg(info, 4, "out", napi_float32_array, nq, false, &out) ||
      !arrayArg(info, 5, "lse", napi_float32_array, c.bh * c.t, false, &lse) ||
      !arrayArg(info, 6, "g", napi_float32_array, nq, false, &g) ||
      !arrayArg(info, 7, "dq", napi_float32_array, nq, false, &dq) ||
      !arrayArg(info, 8, "dk", napi_float32_array, nk, false, &dk) ||
      !arrayArg(info, 9, "dv", napi_float32_array, nk, false, &dv))
    return info.Env().Undefined();
  if (c.bh <= 0) return info.Env().Undefined();
  tf::Bf16Products on;
  if (useTiles(dtype, &on) && c.t > 0 && c.d > 0) {
    const tf::Problem pb = tf::makeProblem(c.keyPad, c.cosT, c.sinT, c.t, c.s, c.d, c.heads, c.causal, c.window);
    tf::attentionBf16Backward(on, q, k, v, out, lse, g, dq, dk, dv, pb, tf::denseLayout(c.t, c.s, c.d), c.bh, c.scale);
  } else {
    float* qf = tPlanes.get(nq + 2 * nk);
    tf::castFromLowp(dtype, q, qf, nq);
    tf::castFromLowp(dtype, k, qf + nq, nk);
    tf::castFromLowp(dtype, v, qf + nq + nk, nk);
    tf::attentionBackward(qf, qf + nq, qf + nq + nk, out, lse, g, dq, dk, dv, c.keyPad, c.cosT, c.sinT, c.bh, c.t, c.s,
                          c.d, c.heads, c.scale, c.causal, c.window);
  }
  return info.Env().Undefined();
}

// attentionLowpInfo(impl?: 'amx' | 'avx512bf16' | 'emulate') -> { impl, amx, avx512bf16 }: which bf16
// attention runs (after selecting `impl` when given; throws when that one is not available).
Napi::Value AttentionLowpInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() >= 1 && info[0].IsString()) {
    const std::string want = info[0].As<Napi::String>().Utf8Value();
    if (want == "emulate") gImpl = Impl::kEmulate;
    else if (want == "amx" && tf::attentionAmxAvailable()) gImpl = Impl::kAmx;
    else if (want == "avx512bf16" && tf::attentionAvx512Bf16Available()) gImpl = Impl::kAvx512Bf16;
    else {
      Napi::Error::New(env, "native backend: bf16 attention '" + want + "' is not available here").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("impl", Napi::String::New(env, implName(gImpl)));
  o.Set("amx", Napi::Boolean::New(env, tf::attentionAmxAvailable()));
  o.Set("avx512bf16", Napi::Boolean::New(env, tf::attentionAvx512Bf16Available()));
  return o;
}

// Row r < n of head h (of bh) of a [.., d] operand laid out as `rows`, for every head and row:
// widened from 16 bits into dense [bh, n, d] float32. Rows are spread over the pool (per row, the
// casts stay on the calling thread: d is far below their own parallel threshold).
void gatherWiden(int dtype, const uint16_t* src, const tf::Rows& rows, int64_t bh, int64_t n, int64_t d, float* dst) {
  tf::parallelFor(bh * n, rowGrain(d), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) tf::castFromLowp(dtype, src + rows.at(r / n, r % n), dst + r * d, d);
  });
}
// The same for float32 rows (to dense), and back (from dense).
void gatherRows(const float* src, const tf::Rows& rows, int64_t bh, int64_t n, int64_t d, float* dst) {
  tf::parallelFor(bh * n, rowGrain(d), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) std::memcpy(dst + r * d, src + rows.at(r / n, r % n), sizeof(float) * d);
  });
}
void scatterRows(const float* src, const tf::Rows& rows, int64_t bh, int64_t n, int64_t d, float* dst) {
  tf::parallelFor(bh * n, rowGrain(d), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) std::memcpy(dst + rows.at(r / n, r % n), src + r * d, sizeof(float) * d);
  });
}
// Dense float32 rows rounded to 16 bits (castToLowp) into rows laid out as `rows`.
void scatterRound(int dtype, const float* src, const tf::Rows& rows, int64_t bh, int64_t n, int64_t d, uint16_t* dst) {
  tf::parallelFor(bh * n, rowGrain(d), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) tf::castToLowp(dtype, src + r * d, dst + rows.at(r / n, r % n), d);
  });
}

// By the element type of the outside rows: 16-bit rows are widened / rounded, float32 rows copied.
void gatherAny(int dtype, const uint16_t* src, const tf::Rows& rows, int64_t bh, int64_t n, int64_t d, float* dst) {
  gatherWiden(dtype, src, rows, bh, n, d, dst);
}
void gatherAny(int, const float* src, const tf::Rows& rows, int64_t bh, int64_t n, int64_t d, float* dst) {
  gatherRows(src, rows, bh, n, d, dst);
}
void scatterAny(int dtype, const float* src, const tf::Rows& rows, int64_t bh, int64_t n, int64_t d, uint16_t* dst) {
  scatterRound(dtype, src, rows, bh, n, d, dst);
}
void scatterAny(int, const float* src, const tf::Rows& rows, int64_t bh, int64_t n, int64_t d, float* dst) {
  scatterRows(src, rows, bh, n, d, dst);
}

// The rows of the packed projection [b, t, 3, h, d] (q; k and v at +h·d, +2·h·d) and of heads merged [b, t, h, d].
tf::Layout packedLayout(int64_t t, int64_t h, int64_t d) {
  const tf::Rows qkv = tf::interleavedRows(h, t, 3 * h * d, d);
  return tf::Layout{qkv, qkv, tf::interleavedRows(h, t, h * d, d)};
}

// The packed forward with y (and the backward with y, its gradient and dqkv) as float32 or 16-bit rows (O).
template <typename O>
void packedForward(int dtype, const uint16_t* qkv, O* out, float* lse, const float* keyPad, const float* ropeCos,
                   const float* ropeSin, int64_t b, int64_t t, int64_t h, int64_t d, float scale, bool causal, int64_t window) {
  const int64_t bh = b * h, c = h * d, n = bh * t * d;
  if (bh <= 0 || t <= 0 || d <= 0) return;
  const tf::Layout lay = packedLayout(t, h, d);
  const tf::Problem pb = tf::makeProblem(keyPad, ropeCos, ropeSin, t, t, d, h, causal, window);
  tf::Bf16Products on;
  if (useTiles(dtype, &on)) {
    tf::attentionBf16(on, qkv, qkv + c, qkv + 2 * c, out, lse, pb, lay, bh, scale);
    return;
  }
  float* qf = tPlanes.get(4 * n);
  gatherWiden(dtype, qkv, lay.q, bh, t, d, qf);
  gatherWiden(dtype, qkv + c, lay.kv, bh, t, d, qf + n);
  gatherWiden(dtype, qkv + 2 * c, lay.kv, bh, t, d, qf + 2 * n);
  tf::attention(qf, qf + n, qf + 2 * n, qf + 3 * n, lse, keyPad, ropeCos, ropeSin, bh, t, t, d, h, scale, causal, window);
  scatterAny(dtype, qf + 3 * n, lay.o, bh, t, d, out);
}

template <typename O>
void packedBackward(int dtype, const uint16_t* qkv, const O* out, const float* lse, const O* g, O* dqkv,
                    const float* keyPad, const float* ropeCos, const float* ropeSin, int64_t b, int64_t t, int64_t h,
                    int64_t d, float scale, bool causal, int64_t window) {
  const int64_t bh = b * h, c = h * d, n = bh * t * d;
  if (bh <= 0 || t <= 0 || d <= 0) return;  // dqkv [b, t, 3·h·d] is empty
  const tf::Layout lay = packedLayout(t, h, d);
  const tf::Problem pb = tf::makeProblem(keyPad, ropeCos, ropeSin, t, t, d, h, causal, window);
  tf::Bf16Products on;
  if (useTiles(dtype, &on)) {
    tf::attentionBf16Backward(on, qkv, qkv + c, qkv + 2 * c, out, lse, g, dqkv, dqkv + c, dqkv + 2 * c, pb, lay, bh, scale);
    return;
  }
  float* qf = tPlanes.get(8 * n);
  gatherWiden(dtype, qkv, lay.q, bh, t, d, qf);
  gatherWiden(dtype, qkv + c, lay.kv, bh, t, d, qf + n);
  gatherWiden(dtype, qkv + 2 * c, lay.kv, bh, t, d, qf + 2 * n);
  gatherAny(dtype, out, lay.o, bh, t, d, qf + 3 * n);
  gatherAny(dtype, g, lay.o, bh, t, d, qf + 4 * n);
  tf::attentionBackward(qf, qf + n, qf + 2 * n, qf + 3 * n, lse, qf + 4 * n, qf + 5 * n, qf + 6 * n, qf + 7 * n, keyPad, ropeCos,
                    ropeSin, bh, t, t, d, h, scale, causal, window);
  scatterAny(dtype, qf + 5 * n, lay.q, bh, t, d, dqkv);
  scatterAny(dtype, qf + 6 * n, lay.kv, bh, t, d, dqkv + c);
  scatterAny(dtype, qf + 7 * n, lay.kv, bh, t, d, dqkv + 2 * c);
}

}  // namespace

namespace tf {

void attentionLowpPacked(int dtype, const uint16_t* qkv, float* out, float* lse, const float* keyPad, const float* ropeCos,
                         const float* ropeSin, int64_t b, int64_t t, int64_t h, int64_t d, float scale, bool causal,
                         int64_t window) {
  packedForward(dtype, qkv, out, lse, keyPad, ropeCos, ropeSin, b, t, h, d, scale, causal, window);
}

void attentionLowpPackedBackward(int dtype, const uint16_t* qkv, const float* out, const float* lse, const float* g,
                                 float* dqkv, const float* keyPad, const float* ropeCos, const float* ropeSin, int64_t b,
                                 int64_t t, int64_t h, int64_t d, float scale, bool causal, int64_t window) {
  packedBackward(dtype, qkv, out, lse, g, dqkv, keyPad, ropeCos, ropeSin, b, t, h, d, scale, causal, window);
}

void attentionLowpPacked16(int dtype, const uint16_t* qkv, uint16_t* out, float* lse, const float* keyPad,
                           const float* ropeCos, const float* ropeSin, int64_t b, int64_t t, int64_t h, int64_t d,
                           float scale, bool causal, int64_t window) {
  packedForward(dtype, qkv, out, lse, keyPad, ropeCos, ropeSin, b, t, h, d, scale, causal, window);
}

void attentionLowpPacked16Backward(int dtype, const uint16_t* qkv, const uint16_t* out, const float* lse,
                                   const uint16_t* g, uint16_t* dqkv, const float* keyPad, const float* ropeCos,
                                   const float* ropeSin, int64_t b, int64_t t, int64_t h, int64_t d, float scale,
                                   bool causal, int64_t window) {
  packedBackward(dtype, qkv, out, lse, g, dqkv, keyPad, ropeCos, ropeSin, b, t, h, d, scale, causal, window);
}

/** Adds attentionLowp, attentionLowpBackward and attentionLowpInfo to the addon's exports. */
void registerAttentionLowp(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionLowp", Napi::Function::New(env, AttentionLowp, "attentionLowp"));
  exports.Set("attentionLowpBackward", Napi::Function::New(env, AttentionLowpBackward, "attentionLowpBackward"));
  exports.Set("attentionLowpInfo", Napi::Function::New(env, AttentionLowpInfo, "attentionLowpInfo"));
}
}  // namespace tf
