// N-API bindings of the mixed-precision kernels (bf16-gemm.h): matmulLowp, linearLowp, castToLowp,
// castToLowpColumnSums, castFromLowp, bf16GemmInfo. Registered by addon.cc's Init through registerLowp().
#include <napi.h>

#include <string>

#include "bf16-gemm.h"

namespace {

struct View {
  void* data = nullptr;
  int64_t length = 0;
  int kind = tf::kOperandF32;
};

// A Float32Array (kind f32) or Uint16Array (16-bit patterns); throws a TypeError otherwise.
bool view(napi_env env, napi_value v, const char* name, bool allow16, bool allow32, View* out) {
  napi_typedarray_type type;
  size_t len = 0, off = 0;
  void* data = nullptr;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, &ab, &off) != napi_ok ||
      !((allow32 && type == napi_float32_array) || (allow16 && type == napi_uint16_array))) {
    const std::string want = allow16 && allow32 ? "a Float32Array or Uint16Array" : allow16 ? "a Uint16Array" : "a Float32Array";
    napi_throw_type_error(env, nullptr, (std::string("native backend: ") + name + " must be " + want).c_str());
    return false;
  }
  out->data = data;
  out->length = static_cast<int64_t>(len);
  out->kind = type == napi_uint16_array ? tf::kOperandBits16 : tf::kOperandF32;
  return true;
}

bool need(napi_env env, const View& a, int64_t n, const char* name) {
  if (a.length >= n) return true;
  napi_throw_range_error(env, nullptr, (std::string("native backend: ") + name + " has " + std::to_string(a.length) +
                                        " elements, the kernel needs " + std::to_string(n)).c_str());
  return false;
}

double num(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}
bool flag(napi_env env, napi_value v) {
  bool b = false;
  if (napi_get_value_bool(env, v, &b) != napi_ok) b = num(env, v) != 0;
  return b;
}

template <size_t N>
bool args(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < N) {
    napi_throw_type_error(env, nullptr, "native backend: too few arguments");
    return false;
  }
  return true;
}

// matmulLowp(dtype, a, b, c, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, beta); c a
// Float32Array, or a Uint16Array for the product rounded to dtype (matmulLowpBits, beta 0).
napi_value MatmulLowp(napi_env env, napi_callback_info info) {
  napi_value a[14];
  if (!args(env, info, a)) return nullptr;
  const int dtype = static_cast<int>(num(env, a[0]));
  View A, B, C;
  if (!view(env, a[1], "a", true, true, &A) || !view(env, a[2], "b", true, true, &B) ||
      !view(env, a[3], "c", true, true, &C))
    return nullptr;
  const int64_t batch = static_cast<int64_t>(num(env, a[4])), m = static_cast<int64_t>(num(env, a[5])),
                n = static_cast<int64_t>(num(env, a[6])), k = static_cast<int64_t>(num(env, a[7]));
  const int64_t asb = static_cast<int64_t>(num(env, a[10])), bsb = static_cast<int64_t>(num(env, a[11]));
  if (batch <= 0 || m <= 0 || n <= 0) return nullptr;
  if (!need(env, C, batch * m * n, "c") || !need(env, A, k > 0 ? (batch - 1) * asb + m * k : 0, "a") ||
      !need(env, B, k > 0 ? (batch - 1) * bsb + k * n : 0, "b"))
    return nullptr;
  const float alpha = static_cast<float>(num(env, a[12])), beta = static_cast<float>(num(env, a[13]));
  if (C.kind == tf::kOperandBits16) {
    // A 16-bit c: the product rounded to dtype (matmulLowpBits), which has no beta.
    if (beta != 0.0f) {
      napi_throw_range_error(env, nullptr, "native backend: matmulLowp into a Uint16Array c needs beta 0");
      return nullptr;
    }
    tf::matmulLowpBits(dtype, A.data, A.kind, B.data, B.kind, static_cast<uint16_t*>(C.data), batch, m, n, k,
                       flag(env, a[8]), flag(env, a[9]), asb, bsb, alpha);
    return nullptr;
  }
  tf::matmulLowp(dtype, A.data, A.kind, B.data, B.kind, static_cast<float*>(C.data), batch, m, n, k, flag(env, a[8]),
                 flag(env, a[9]), asb, bsb, alpha, beta);
  return nullptr;
}

// linearLowp(dtype, x, w, bias: Float32Array | null, out, rows, outF, inF); out a Float32Array, or a
// Uint16Array for the output rounded to dtype (linearLowpBits).
napi_value LinearLowp(napi_env env, napi_callback_info info) {
  napi_value a[8];
  if (!args(env, info, a)) return nullptr;
  const int dtype = static_cast<int>(num(env, a[0]));
  View X, W, B, O;
  napi_valuetype biasType;
  napi_typeof(env, a[3], &biasType);
  const bool hasBias = biasType != napi_null && biasType != napi_undefined;
  if (!view(env, a[1], "x", true, true, &X) || !view(env, a[2], "weight", true, true, &W) ||
      (hasBias && !view(env, a[3], "bias", false, true, &B)) || !view(env, a[4], "out", true, true, &O))
    return nullptr;
  const int64_t rows = static_cast<int64_t>(num(env, a[5])), outF = static_cast<int64_t>(num(env, a[6])),
                inF = static_cast<int64_t>(num(env, a[7]));
  if (rows <= 0 || outF <= 0 || inF < 0) return nullptr;
  if (!need(env, O, rows * outF, "out") || !need(env, X, rows * inF, "x") || !need(env, W, outF * inF, "weight") ||
      (hasBias && !need(env, B, outF, "bias")))
    return nullptr;
  const float* bias = hasBias ? static_cast<const float*>(B.data) : nullptr;
  if (O.kind == tf::kOperandBits16)
    tf::linearLowpBits(dtype, X.data, X.kind, W.data, W.kind, bias, static_cast<uint16_t*>(O.data), rows, outF, inF);
  else tf::linearLowp(dtype, X.data, X.kind, W.data, W.kind, bias, static_cast<float*>(O.data), rows, outF, inF);
  return nullptr;
}

// castToLowpColumnSums(dtype, x: Float32Array, out: Uint16Array, sums: Float32Array, rows, cols)
napi_value CastToLowpColumnSums(napi_env env, napi_callback_info info) {
  napi_value a[6];
  if (!args(env, info, a)) return nullptr;
  View x, out, sums;
  if (!view(env, a[1], "x", false, true, &x) || !view(env, a[2], "out", true, false, &out) ||
      !view(env, a[3], "sums", false, true, &sums))
    return nullptr;
  const int64_t rows = static_cast<int64_t>(num(env, a[4])), cols = static_cast<int64_t>(num(env, a[5]));
  if (rows <= 0 || cols <= 0) return nullptr;
  if (!need(env, x, rows * cols, "x") || !need(env, out, rows * cols, "out") || !need(env, sums, cols, "sums")) return nullptr;
  tf::castToLowpColumnSums(static_cast<int>(num(env, a[0])), static_cast<float*>(x.data), static_cast<uint16_t*>(out.data),
                           static_cast<float*>(sums.data), rows, cols);
  return nullptr;
}

// castToLowp(dtype, x: Float32Array, out: Uint16Array, n) / castFromLowp(dtype, x: Uint16Array, out: Float32Array, n)
napi_value Cast(napi_env env, napi_callback_info info, bool to) {
  napi_value a[4];
  if (!args(env, info, a)) return nullptr;
  View x, out;
  if (!view(env, a[1], "x", !to, to, &x) || !view(env, a[2], "out", to, !to, &out)) return nullptr;
  const int64_t n = static_cast<int64_t>(num(env, a[3]));
  if (n <= 0) return nullptr;
  if (!need(env, x, n, "x") || !need(env, out, n, "out")) return nullptr;
  const int dtype = static_cast<int>(num(env, a[0]));
  if (to) tf::castToLowp(dtype, static_cast<float*>(x.data), static_cast<uint16_t*>(out.data), n);
  else tf::castFromLowp(dtype, static_cast<uint16_t*>(x.data), static_cast<float*>(out.data), n);
  return nullptr;
}
napi_value CastToLowp(napi_env env, napi_callback_info info) { return Cast(env, info, true); }
napi_value CastFromLowp(napi_env env, napi_callback_info info) { return Cast(env, info, false); }

// bf16GemmInfo() -> { impl: 'emulate' | 'own' | 'dnnl', cpuBf16, dnnl }; bf16GemmInfo(impl) selects one first.
napi_value Bf16GemmInfo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc >= 1) {
    size_t len = 0;
    char buf[16] = {0};
    napi_get_value_string_utf8(env, argv[0], buf, sizeof(buf), &len);
    const std::string want(buf, len);
    const int impl = want == "emulate" ? 0 : want == "own" ? 1 : want == "dnnl" ? 2 : -1;
    if (impl < 0 || !tf::setBf16GemmImpl(impl)) {
      napi_throw_error(env, nullptr, (std::string("native backend: bf16 GEMM '") + want + "' is not available here").c_str());
      return nullptr;
    }
  }
  Napi::Object o = Napi::Object::New(env);
  const int impl = tf::bf16GemmImpl();
  o.Set("impl", Napi::String::New(env, impl == 0 ? "emulate" : impl == 1 ? "own" : "dnnl"));
  o.Set("cpuBf16", Napi::Boolean::New(env, tf::bf16KernelAvailable()));
  o.Set("dnnl", Napi::Boolean::New(env, tf::dnnlBuiltIn()));
  return o;
}

}  // namespace

namespace tf {
/** Adds the mixed-precision functions to the addon's exports. */
void registerLowp(Napi::Env env, Napi::Object exports) {
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  const Fn fns[] = {{"matmulLowp", MatmulLowp}, {"castToLowp", CastToLowp}, {"castFromLowp", CastFromLowp},
                    {"bf16GemmInfo", Bf16GemmInfo}, {"linearLowp", LinearLowp},
                    {"castToLowpColumnSums", CastToLowpColumnSums}};
  for (const Fn& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn);
    exports.Set(f.name, Napi::Value(env, fn));
  }
}
}  // namespace tf
