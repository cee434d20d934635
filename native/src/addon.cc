// N-API bindings: unpack JS arguments (typed arrays are used in place, no copies) and call the
// kernels. The unpacking of most kernels is generated from the kernel specification
// (src/backend/spec.ts → unpack.gen.inc); binary and copyStrided (shapes and strides packed in a
// Float64Array) are written here. Bounds are checked so that a wrong size from a caller throws
// instead of writing outside a buffer.
#include <cblas.h>
#include <napi.h>

#include <string>

#include "common.h"
#include "kernels.h"

namespace tf {
void registerLowp(Napi::Env env, Napi::Object exports);  // bf16-addon.cc
void registerAttentionLowp(Napi::Env env, Napi::Object exports);  // attention-lowp.cc
void registerAlignedBuffer(Napi::Env env, Napi::Object exports);  // aligned-buffer.cc
}

namespace {

struct Arr {
  void* data = nullptr;
  int64_t length = 0;  // elements
  napi_typedarray_type type = napi_float32_array;
};

// Throws (and returns false) unless v is a typed array of the wanted kind; null/undefined is
// accepted (data = nullptr) only when optional.
bool getArr(napi_env env, napi_value v, const char* name, napi_typedarray_type want, Arr* out, bool optional = false,
            bool anyType = false) {
  napi_valuetype vt;
  napi_typeof(env, v, &vt);
  if (optional && (vt == napi_null || vt == napi_undefined)) {
    out->data = nullptr;
    out->length = 0;
    return true;
  }
  size_t len = 0;
  void* data = nullptr;
  napi_value ab;
  size_t off;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, &ab, &off) != napi_ok || (!anyType && type != want)) {
    napi_throw_type_error(env, nullptr, (std::string("native backend: ") + name + " must be a " +
                                         (want == napi_int32_array    ? "Int32Array"
                                          : want == napi_uint16_array ? "Uint16Array"
                                                                      : "Float32Array")).c_str());
    return false;
  }
  out->data = data;
  out->length = static_cast<int64_t>(len);
  out->type = type;
  return true;
}

bool need(napi_env env, const Arr& a, int64_t n, const char* name) {
  if (a.data == nullptr && n == 0) return true;
  if (a.length < n) {
    napi_throw_range_error(env, nullptr, (std::string("native backend: ") + name + " has " + std::to_string(a.length) +
                                          " elements, the kernel needs " + std::to_string(n)).c_str());
    return false;
  }
  return true;
}

inline double num(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}
inline int64_t i64(napi_env env, napi_value v) { return static_cast<int64_t>(num(env, v)); }
inline bool flag(napi_env env, napi_value v) {
  bool b = false;
  if (napi_get_value_bool(env, v, &b) != napi_ok) b = num(env, v) != 0;
  return b;
}

// Collects up to N arguments into argv; throws when fewer are given.
template <size_t N>
bool args(napi_env env, napi_callback_info info, napi_value (&argv)[N], size_t min = N) {
  size_t argc = N;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < min) {
    napi_throw_type_error(env, nullptr, "native backend: too few arguments");
    return false;
  }
  for (size_t i = argc; i < N; ++i) napi_get_undefined(env, &argv[i]);
  return true;
}

constexpr napi_typedarray_type F32 = napi_float32_array;
constexpr napi_typedarray_type I32 = napi_int32_array;
constexpr napi_typedarray_type U16 = napi_uint16_array;

void badOp(napi_env env, const char* kernel, int op) {
  napi_throw_range_error(env, nullptr,
                         (std::string("native backend: ") + kernel + " does not define op code " + std::to_string(op)).c_str());
}


// {name, function} of an exported kernel.
struct Export {
  const char* name;
  napi_callback cb;
};

// The unpacking of every kernel of src/backend/spec.ts not marked manual (generated).
#include "unpack.gen.inc"

// Reads nd dims from meta (a Float64Array) at `at`.
bool readMeta(napi_env env, const Arr& meta, int64_t at, int nd, int64_t* dst) {
  if (nd < 0 || nd > tf::kMaxDims || meta.length < at + nd) {
    napi_throw_range_error(env, nullptr, "native backend: bad shape metadata (at most 16 dimensions)");
    return false;
  }
  const double* m = static_cast<const double*>(meta.data);
  for (int i = 0; i < nd; ++i) dst[i] = static_cast<int64_t>(m[at + i]);
  return true;
}

// Largest element offset reached + 1 (so that a buffer of that length suffices); strides >= 0.
int64_t extent(const int64_t* shape, const int64_t* strides, int nd, int64_t base, bool* negative) {
  int64_t hi = base;
  for (int d = 0; d < nd; ++d) {
    if (shape[d] == 0) return 0;
    if (strides[d] < 0) *negative = true;
    hi += (shape[d] - 1) * strides[d];
  }
  return hi + 1;
}

// binary(op, a, b, out, meta=[shape, aStrides, bStrides], nd)
napi_value Binary(napi_env env, napi_callback_info info) {
  napi_value a[6];
  if (!args(env, info, a)) return nullptr;
  Arr x, y, out, meta;
  int op = static_cast<int>(num(env, a[0]));
  int nd = static_cast<int>(num(env, a[5]));
  if (!getArr(env, a[1], "a", F32, &x) || !getArr(env, a[2], "b", F32, &y) || !getArr(env, a[3], "out", F32, &out) ||
      !getArr(env, a[4], "meta", napi_float64_array, &meta))
    return nullptr;
  int64_t shape[tf::kMaxDims], as[tf::kMaxDims], bs[tf::kMaxDims];
  if (!readMeta(env, meta, 0, nd, shape) || !readMeta(env, meta, nd, nd, as) || !readMeta(env, meta, 2 * nd, nd, bs))
    return nullptr;
  int64_t total = 1;
  for (int d = 0; d < nd; ++d) total *= shape[d];
  bool neg = false;
  if (!need(env, out, total, "out") || !need(env, x, extent(shape, as, nd, 0, &neg), "a") ||
      !need(env, y, extent(shape, bs, nd, 0, &neg), "b"))
    return nullptr;
  if (neg) {
    napi_throw_range_error(env, nullptr, "native backend: binary strides must be >= 0");
    return nullptr;
  }
  if (!tf::binary(op, static_cast<float*>(x.data), as, static_cast<float*>(y.data), bs, static_cast<float*>(out.data),
                  shape, nd))
    badOp(env, "binary", op);
  return nullptr;
}

int elemBytes(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    default: return 8;
  }
}

// copyStrided(src, srcOffset, meta=[shape, strides], nd, out)
napi_value CopyStrided(napi_env env, napi_callback_info info) {
  napi_value a[5];
  if (!args(env, info, a)) return nullptr;
  Arr src, meta, out;
  if (!getArr(env, a[0], "src", F32, &src, false, true) || !getArr(env, a[2], "meta", napi_float64_array, &meta) ||
      !getArr(env, a[4], "out", F32, &out, false, true))
    return nullptr;
  const int eb = elemBytes(src.type);
  if (eb != elemBytes(out.type) || eb == 1) {
    napi_throw_type_error(env, nullptr, "native backend: copyStrided needs src and out of the same 2, 4 or 8 byte type");
    return nullptr;
  }
  int64_t off = i64(env, a[1]);
  int nd = static_cast<int>(num(env, a[3]));
  int64_t shape[tf::kMaxDims], st[tf::kMaxDims];
  if (!readMeta(env, meta, 0, nd, shape) || !readMeta(env, meta, nd, nd, st)) return nullptr;
  int64_t total = 1;
  for (int d = 0; d < nd; ++d) total *= shape[d];
  if (total == 0) return nullptr;
  bool neg = false;
  int64_t lo = off;
  for (int d = 0; d < nd; ++d)
    if (st[d] < 0) lo += (shape[d] - 1) * st[d];
  if (lo < 0 || !need(env, src, extent(shape, st, nd, off, &neg), "src") || !need(env, out, total, "out")) {
    if (lo < 0) napi_throw_range_error(env, nullptr, "native backend: copyStrided reads before the start of src");
    return nullptr;
  }
  tf::copyStrided(src.data, eb, off, shape, st, nd, out.data);
  return nullptr;
}

















// numThreads() -> number; setNumThreads(n, blasN = current) sets the pool and OpenBLAS's thread count.
napi_value NumThreads(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_int32(env, tf::numThreads(), &r);
  return r;
}

napi_value SetNumThreads(napi_env env, napi_callback_info info) {
  napi_value a[2];
  if (!args(env, info, a, 1)) return nullptr;
  int n = static_cast<int>(num(env, a[0]));
  if (n < 1) n = 1;
  napi_valuetype t;
  napi_typeof(env, a[1], &t);
  tf::setNumThreads(n);
  if (t == napi_number) {
    int blas = static_cast<int>(num(env, a[1]));
    openblas_set_num_threads(blas < 1 ? 1 : blas);
  }
  return nullptr;
}

// blasInfo() -> { config, corename, threads, parallel } of the OpenBLAS actually loaded.
napi_value BlasInfo(napi_env env, napi_callback_info) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("config", Napi::String::New(env, openblas_get_config()));
  o.Set("corename", Napi::String::New(env, openblas_get_corename()));
  o.Set("threads", Napi::Number::New(env, openblas_get_num_threads()));
  // 0: sequential, 1: pthreads, 2: OpenMP
  o.Set("parallel", Napi::Number::New(env, openblas_get_parallel()));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Our pool splits matrix products; OpenBLAS itself stays single-threaded unless asked otherwise.
  openblas_set_num_threads(tf::defaultBlasThreads());
  const Export manual[] = {
      {"binary", Binary}, {"copyStrided", CopyStrided},
      {"numThreads", NumThreads}, {"setNumThreads", SetNumThreads}, {"blasInfo", BlasInfo},
  };
  for (const auto* table : {&manual[0], &kGeneratedKernels[0]}) {
    const size_t count = table == &manual[0] ? sizeof(manual) / sizeof(manual[0])
                                             : sizeof(kGeneratedKernels) / sizeof(kGeneratedKernels[0]);
    for (size_t i = 0; i < count; ++i) {
      napi_value fn;
      napi_create_function(env, table[i].name, NAPI_AUTO_LENGTH, table[i].cb, nullptr, &fn);
      exports.Set(table[i].name, Napi::Value(env, fn));
    }
  }
  tf::registerLowp(env, exports);
  tf::registerAttentionLowp(env, exports);
  tf::registerAlignedBuffer(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(trainformer_native, Init)
