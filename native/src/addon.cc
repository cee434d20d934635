// N-API bindings: unpack JS arguments (typed arrays are used in place, no copies) and call the
// kernels. Argument order follows src/backend/backend.ts; the TS wrapper (src/backend/native)
// turns op names into codes and shapes into a Float64Array. Bounds are checked here so that a
// wrong size from a caller throws instead of writing outside a buffer.
#include <cblas.h>
#include <napi.h>

#include <string>

#include "common.h"
#include "kernels.h"

namespace tf {
void registerLowp(Napi::Env env, Napi::Object exports);  // bf16-addon.cc
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
                                         (want == napi_int32_array ? "Int32Array" : "Float32Array")).c_str());
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

void badOp(napi_env env, const char* kernel, int op) {
  napi_throw_range_error(env, nullptr,
                         (std::string("native backend: ") + kernel + " does not define op code " + std::to_string(op)).c_str());
}

// unary(op, x, out, n, p0, p1)
napi_value Unary(napi_env env, napi_callback_info info) {
  napi_value a[6];
  if (!args(env, info, a)) return nullptr;
  Arr x, out;
  int op = static_cast<int>(num(env, a[0]));
  int64_t n = i64(env, a[3]);
  if (!getArr(env, a[1], "x", F32, &x) || !getArr(env, a[2], "out", F32, &out)) return nullptr;
  if (!need(env, x, n, "x") || !need(env, out, n, "out")) return nullptr;
  if (!tf::unary(op, static_cast<float*>(x.data), static_cast<float*>(out.data), n, static_cast<float>(num(env, a[4])),
                 static_cast<float>(num(env, a[5]))))
    badOp(env, "unary", op);
  return nullptr;
}

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

// reduce(op, x, out, outer, len, inner, argOut?)
napi_value Reduce(napi_env env, napi_callback_info info) {
  napi_value a[7];
  if (!args(env, info, a, 6)) return nullptr;
  Arr x, out, arg;
  int op = static_cast<int>(num(env, a[0]));
  int64_t outer = i64(env, a[3]), len = i64(env, a[4]), inner = i64(env, a[5]);
  if (!getArr(env, a[1], "x", F32, &x) || !getArr(env, a[2], "out", F32, &out) ||
      !getArr(env, a[6], "argOut", I32, &arg, true))
    return nullptr;
  if (!need(env, x, outer * len * inner, "x") || !need(env, out, outer * inner, "out") ||
      (arg.data != nullptr && !need(env, arg, outer * inner, "argOut")))
    return nullptr;
  if (!tf::reduce(op, static_cast<float*>(x.data), static_cast<float*>(out.data), outer, len, inner,
                  static_cast<int32_t*>(arg.data)))
    badOp(env, "reduce", op);
  return nullptr;
}

// matmul(a, b, c, batch, m, n, k, transA, transB, aBatchStride, bBatchStride, alpha, beta)
napi_value Matmul(napi_env env, napi_callback_info info) {
  napi_value a[13];
  if (!args(env, info, a)) return nullptr;
  Arr A, B, C;
  if (!getArr(env, a[0], "a", F32, &A) || !getArr(env, a[1], "b", F32, &B) || !getArr(env, a[2], "c", F32, &C))
    return nullptr;
  int64_t batch = i64(env, a[3]), m = i64(env, a[4]), n = i64(env, a[5]), k = i64(env, a[6]);
  bool ta = flag(env, a[7]), tb = flag(env, a[8]);
  int64_t asb = i64(env, a[9]), bsb = i64(env, a[10]);
  if (batch <= 0 || m <= 0 || n <= 0) return nullptr;
  if (!need(env, C, batch * m * n, "c") || !need(env, A, k > 0 ? (batch - 1) * asb + m * k : 0, "a") ||
      !need(env, B, k > 0 ? (batch - 1) * bsb + k * n : 0, "b"))
    return nullptr;
  tf::matmul(static_cast<float*>(A.data), static_cast<float*>(B.data), static_cast<float*>(C.data), batch, m, n, k, ta,
             tb, asb, bsb, static_cast<float>(num(env, a[11])), static_cast<float>(num(env, a[12])));
  return nullptr;
}

// softmax(x, out, rows, cols, log) / softmaxBackward(y, g, dx, rows, cols, log)
napi_value Softmax(napi_env env, napi_callback_info info) {
  napi_value a[5];
  if (!args(env, info, a)) return nullptr;
  Arr x, out;
  int64_t rows = i64(env, a[2]), cols = i64(env, a[3]);
  if (!getArr(env, a[0], "x", F32, &x) || !getArr(env, a[1], "out", F32, &out)) return nullptr;
  if (!need(env, x, rows * cols, "x") || !need(env, out, rows * cols, "out")) return nullptr;
  tf::softmax(static_cast<float*>(x.data), static_cast<float*>(out.data), rows, cols, flag(env, a[4]));
  return nullptr;
}

napi_value SoftmaxBackward(napi_env env, napi_callback_info info) {
  napi_value a[6];
  if (!args(env, info, a)) return nullptr;
  Arr y, g, dx;
  int64_t rows = i64(env, a[3]), cols = i64(env, a[4]);
  if (!getArr(env, a[0], "y", F32, &y) || !getArr(env, a[1], "g", F32, &g) || !getArr(env, a[2], "dx", F32, &dx))
    return nullptr;
  if (!need(env, y, rows * cols, "y") || !need(env, g, rows * cols, "g") || !need(env, dx, rows * cols, "dx"))
    return nullptr;
  tf::softmaxBackward(static_cast<float*>(y.data), static_cast<float*>(g.data), static_cast<float*>(dx.data), rows, cols,
                      flag(env, a[5]));
  return nullptr;
}

// crossEntropy(x, target, weight?, loss, lse, wy, rowMax, logSum, rows, cols, ignoreIndex, labelSmoothing)
napi_value CrossEntropy(napi_env env, napi_callback_info info) {
  napi_value a[12];
  if (!args(env, info, a)) return nullptr;
  Arr x, t, w, loss, lse, wy, mx, ls;
  int64_t rows = i64(env, a[8]), cols = i64(env, a[9]);
  if (!getArr(env, a[0], "x", F32, &x) || !getArr(env, a[1], "target", I32, &t) ||
      !getArr(env, a[2], "weight", F32, &w, true) || !getArr(env, a[3], "loss", F32, &loss) ||
      !getArr(env, a[4], "lse", F32, &lse) || !getArr(env, a[5], "wy", F32, &wy) ||
      !getArr(env, a[6], "rowMax", F32, &mx) || !getArr(env, a[7], "logSum", F32, &ls))
    return nullptr;
  if (!need(env, x, rows * cols, "x") || !need(env, t, rows, "target") || !need(env, loss, rows, "loss") ||
      !need(env, lse, rows, "lse") || !need(env, wy, rows, "wy") || !need(env, mx, rows, "rowMax") ||
      !need(env, ls, rows, "logSum") || (w.data != nullptr && !need(env, w, cols, "weight")))
    return nullptr;
  tf::crossEntropy(static_cast<float*>(x.data), static_cast<int32_t*>(t.data), static_cast<float*>(w.data),
                   static_cast<float*>(loss.data), static_cast<float*>(lse.data), static_cast<float*>(wy.data),
                   static_cast<float*>(mx.data), static_cast<float*>(ls.data), rows, cols,
                   static_cast<int32_t>(i64(env, a[10])), num(env, a[11]));
  return nullptr;
}

// crossEntropyBackward(x, target, weight?, rowMax, logSum, gLoss, gLse?, dx, rows, cols, ignoreIndex, labelSmoothing)
napi_value CrossEntropyBackward(napi_env env, napi_callback_info info) {
  napi_value a[12];
  if (!args(env, info, a)) return nullptr;
  Arr x, t, w, mx, ls, gl, gz, dx;
  int64_t rows = i64(env, a[8]), cols = i64(env, a[9]);
  if (!getArr(env, a[0], "x", F32, &x) || !getArr(env, a[1], "target", I32, &t) ||
      !getArr(env, a[2], "weight", F32, &w, true) || !getArr(env, a[3], "rowMax", F32, &mx) ||
      !getArr(env, a[4], "logSum", F32, &ls) || !getArr(env, a[5], "gLoss", F32, &gl) ||
      !getArr(env, a[6], "gLse", F32, &gz, true) || !getArr(env, a[7], "dx", F32, &dx))
    return nullptr;
  if (!need(env, x, rows * cols, "x") || !need(env, t, rows, "target") || !need(env, mx, rows, "rowMax") ||
      !need(env, ls, rows, "logSum") || !need(env, gl, rows, "gLoss") || !need(env, dx, rows * cols, "dx") ||
      (w.data != nullptr && !need(env, w, cols, "weight")) || (gz.data != nullptr && !need(env, gz, rows, "gLse")))
    return nullptr;
  tf::crossEntropyBackward(static_cast<float*>(x.data), static_cast<int32_t*>(t.data), static_cast<float*>(w.data),
                           static_cast<float*>(mx.data), static_cast<float*>(ls.data), static_cast<float*>(gl.data),
                           static_cast<float*>(gz.data), static_cast<float*>(dx.data), rows, cols,
                           static_cast<int32_t>(i64(env, a[10])), num(env, a[11]));
  return nullptr;
}

// layerNorm(x, w?, b?, out, mean, rstd, rows, cols, eps)
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  napi_value a[9];
  if (!args(env, info, a)) return nullptr;
  Arr x, w, b, out, mean, rstd;
  int64_t rows = i64(env, a[6]), cols = i64(env, a[7]);
  if (!getArr(env, a[0], "x", F32, &x) || !getArr(env, a[1], "w", F32, &w, true) ||
      !getArr(env, a[2], "b", F32, &b, true) || !getArr(env, a[3], "out", F32, &out) ||
      !getArr(env, a[4], "mean", F32, &mean) || !getArr(env, a[5], "rstd", F32, &rstd))
    return nullptr;
  if (!need(env, x, rows * cols, "x") || !need(env, out, rows * cols, "out") || !need(env, mean, rows, "mean") ||
      !need(env, rstd, rows, "rstd") || (w.data != nullptr && !need(env, w, cols, "w")) ||
      (b.data != nullptr && !need(env, b, cols, "b")))
    return nullptr;
  tf::layerNorm(static_cast<float*>(x.data), static_cast<float*>(w.data), static_cast<float*>(b.data),
                static_cast<float*>(out.data), static_cast<float*>(mean.data), static_cast<float*>(rstd.data), rows, cols,
                static_cast<float>(num(env, a[8])));
  return nullptr;
}

// layerNormBackward(x, w?, mean, rstd, g, dx, dw?, db?, rows, cols)
napi_value LayerNormBackward(napi_env env, napi_callback_info info) {
  napi_value a[10];
  if (!args(env, info, a)) return nullptr;
  Arr x, w, mean, rstd, g, dx, dw, db;
  int64_t rows = i64(env, a[8]), cols = i64(env, a[9]);
  if (!getArr(env, a[0], "x", F32, &x) || !getArr(env, a[1], "w", F32, &w, true) ||
      !getArr(env, a[2], "mean", F32, &mean) || !getArr(env, a[3], "rstd", F32, &rstd) ||
      !getArr(env, a[4], "g", F32, &g) || !getArr(env, a[5], "dx", F32, &dx) ||
      !getArr(env, a[6], "dw", F32, &dw, true) || !getArr(env, a[7], "db", F32, &db, true))
    return nullptr;
  if (!need(env, x, rows * cols, "x") || !need(env, g, rows * cols, "g") || !need(env, dx, rows * cols, "dx") ||
      !need(env, mean, rows, "mean") || !need(env, rstd, rows, "rstd") ||
      (w.data != nullptr && !need(env, w, cols, "w")) || (dw.data != nullptr && !need(env, dw, cols, "dw")) ||
      (db.data != nullptr && !need(env, db, cols, "db")))
    return nullptr;
  tf::layerNormBackward(static_cast<float*>(x.data), static_cast<float*>(w.data), static_cast<float*>(mean.data),
                        static_cast<float*>(rstd.data), static_cast<float*>(g.data), static_cast<float*>(dx.data),
                        static_cast<float*>(dw.data), static_cast<float*>(db.data), rows, cols);
  return nullptr;
}

// gather(x, idx, out, outer, len, inner, idxLen) / scatterAdd(out, idx, src, outer, len, inner, idxLen)
napi_value Gather(napi_env env, napi_callback_info info) {
  napi_value a[7];
  if (!args(env, info, a)) return nullptr;
  Arr x, idx, out;
  int64_t outer = i64(env, a[3]), len = i64(env, a[4]), inner = i64(env, a[5]), il = i64(env, a[6]);
  if (!getArr(env, a[0], "x", F32, &x) || !getArr(env, a[1], "idx", I32, &idx) || !getArr(env, a[2], "out", F32, &out))
    return nullptr;
  if (!need(env, x, outer * len * inner, "x") || !need(env, idx, outer * il * inner, "idx") ||
      !need(env, out, outer * il * inner, "out"))
    return nullptr;
  tf::gather(static_cast<float*>(x.data), static_cast<int32_t*>(idx.data), static_cast<float*>(out.data), outer, len,
             inner, il);
  return nullptr;
}

napi_value ScatterAdd(napi_env env, napi_callback_info info) {
  napi_value a[7];
  if (!args(env, info, a)) return nullptr;
  Arr out, idx, src;
  int64_t outer = i64(env, a[3]), len = i64(env, a[4]), inner = i64(env, a[5]), il = i64(env, a[6]);
  if (!getArr(env, a[0], "out", F32, &out) || !getArr(env, a[1], "idx", I32, &idx) ||
      !getArr(env, a[2], "src", F32, &src))
    return nullptr;
  if (!need(env, out, outer * len * inner, "out") || !need(env, idx, outer * il * inner, "idx") ||
      !need(env, src, outer * il * inner, "src"))
    return nullptr;
  tf::scatterAdd(static_cast<float*>(out.data), static_cast<int32_t*>(idx.data), static_cast<float*>(src.data), outer,
                 len, inner, il);
  return nullptr;
}

// indexSelect(table, idx, out, n, cols) / indexAdd(dTable, idx, g, n, cols)
napi_value IndexSelect(napi_env env, napi_callback_info info) {
  napi_value a[5];
  if (!args(env, info, a)) return nullptr;
  Arr table, idx, out;
  int64_t n = i64(env, a[3]), cols = i64(env, a[4]);
  if (!getArr(env, a[0], "table", F32, &table) || !getArr(env, a[1], "idx", I32, &idx) ||
      !getArr(env, a[2], "out", F32, &out))
    return nullptr;
  if (!need(env, idx, n, "idx") || !need(env, out, n * cols, "out")) return nullptr;
  tf::indexSelect(static_cast<float*>(table.data), static_cast<int32_t*>(idx.data), static_cast<float*>(out.data), n,
                  cols);
  return nullptr;
}

napi_value IndexAdd(napi_env env, napi_callback_info info) {
  napi_value a[5];
  if (!args(env, info, a)) return nullptr;
  Arr table, idx, g;
  int64_t n = i64(env, a[3]), cols = i64(env, a[4]);
  if (!getArr(env, a[0], "dTable", F32, &table) || !getArr(env, a[1], "idx", I32, &idx) ||
      !getArr(env, a[2], "g", F32, &g))
    return nullptr;
  if (!need(env, idx, n, "idx") || !need(env, g, n * cols, "g")) return nullptr;
  tf::indexAdd(static_cast<float*>(table.data), static_cast<int32_t*>(idx.data), static_cast<float*>(g.data), n, cols);
  return nullptr;
}

// sumSquares(x, n) -> number
napi_value SumSquares(napi_env env, napi_callback_info info) {
  napi_value a[2];
  if (!args(env, info, a)) return nullptr;
  Arr x;
  int64_t n = i64(env, a[1]);
  if (!getArr(env, a[0], "x", F32, &x) || !need(env, x, n, "x")) return nullptr;
  napi_value r;
  napi_create_double(env, tf::sumSquares(static_cast<float*>(x.data), n), &r);
  return r;
}

// adamw(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2)
napi_value Adamw(napi_env env, napi_callback_info info) {
  napi_value a[12];
  if (!args(env, info, a)) return nullptr;
  Arr p, g, m, v;
  int64_t n = i64(env, a[4]);
  if (!getArr(env, a[0], "p", F32, &p) || !getArr(env, a[1], "g", F32, &g) || !getArr(env, a[2], "m", F32, &m) ||
      !getArr(env, a[3], "v", F32, &v))
    return nullptr;
  if (!need(env, p, n, "p") || !need(env, g, n, "g") || !need(env, m, n, "m") || !need(env, v, n, "v")) return nullptr;
  tf::adamw(static_cast<float*>(p.data), static_cast<float*>(g.data), static_cast<float*>(m.data),
            static_cast<float*>(v.data), n, num(env, a[5]), num(env, a[6]), num(env, a[7]), num(env, a[8]),
            num(env, a[9]), num(env, a[10]), num(env, a[11]));
  return nullptr;
}

// attention(q, k, v, out, lse, bh, t, s, d, scale, causal)
napi_value Attention(napi_env env, napi_callback_info info) {
  napi_value a[11];
  if (!args(env, info, a)) return nullptr;
  Arr q, k, v, out, lse;
  int64_t bh = i64(env, a[5]), t = i64(env, a[6]), s = i64(env, a[7]), d = i64(env, a[8]);
  if (!getArr(env, a[0], "q", F32, &q) || !getArr(env, a[1], "k", F32, &k) || !getArr(env, a[2], "v", F32, &v) ||
      !getArr(env, a[3], "out", F32, &out) || !getArr(env, a[4], "lse", F32, &lse))
    return nullptr;
  if (!need(env, q, bh * t * d, "q") || !need(env, k, bh * s * d, "k") || !need(env, v, bh * s * d, "v") ||
      !need(env, out, bh * t * d, "out") || !need(env, lse, bh * t, "lse"))
    return nullptr;
  tf::attention(static_cast<float*>(q.data), static_cast<float*>(k.data), static_cast<float*>(v.data),
                static_cast<float*>(out.data), static_cast<float*>(lse.data), bh, t, s, d,
                static_cast<float>(num(env, a[9])), flag(env, a[10]));
  return nullptr;
}

// attentionBackward(q, k, v, out, lse, g, dq, dk, dv, bh, t, s, d, scale, causal)
napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  napi_value a[15];
  if (!args(env, info, a)) return nullptr;
  Arr q, k, v, out, lse, g, dq, dk, dv;
  int64_t bh = i64(env, a[9]), t = i64(env, a[10]), s = i64(env, a[11]), d = i64(env, a[12]);
  if (!getArr(env, a[0], "q", F32, &q) || !getArr(env, a[1], "k", F32, &k) || !getArr(env, a[2], "v", F32, &v) ||
      !getArr(env, a[3], "out", F32, &out) || !getArr(env, a[4], "lse", F32, &lse) ||
      !getArr(env, a[5], "g", F32, &g) || !getArr(env, a[6], "dq", F32, &dq) || !getArr(env, a[7], "dk", F32, &dk) ||
      !getArr(env, a[8], "dv", F32, &dv))
    return nullptr;
  if (!need(env, q, bh * t * d, "q") || !need(env, k, bh * s * d, "k") || !need(env, v, bh * s * d, "v") ||
      !need(env, out, bh * t * d, "out") || !need(env, lse, bh * t, "lse") || !need(env, g, bh * t * d, "g") ||
      !need(env, dq, bh * t * d, "dq") || !need(env, dk, bh * s * d, "dk") || !need(env, dv, bh * s * d, "dv"))
    return nullptr;
  tf::attentionBackward(static_cast<float*>(q.data), static_cast<float*>(k.data), static_cast<float*>(v.data),
                        static_cast<float*>(out.data), static_cast<float*>(lse.data), static_cast<float*>(g.data),
                        static_cast<float*>(dq.data), static_cast<float*>(dk.data), static_cast<float*>(dv.data), bh, t,
                        s, d, static_cast<float>(num(env, a[13])), flag(env, a[14]));
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
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  const Fn fns[] = {
      {"unary", Unary}, {"binary", Binary}, {"copyStrided", CopyStrided},
      {"reduce", Reduce}, {"matmul", Matmul}, {"softmax", Softmax}, {"softmaxBackward", SoftmaxBackward},
      {"crossEntropy", CrossEntropy}, {"crossEntropyBackward", CrossEntropyBackward},
      {"layerNorm", LayerNorm}, {"layerNormBackward", LayerNormBackward}, {"gather", Gather},
      {"scatterAdd", ScatterAdd}, {"indexSelect", IndexSelect}, {"indexAdd", IndexAdd}, {"sumSquares", SumSquares},
      {"adamw", Adamw}, {"attention", Attention}, {"attentionBackward", AttentionBackward},
      {"numThreads", NumThreads}, {"setNumThreads", SetNumThreads}, {"blasInfo", BlasInfo},
  };
  for (const Fn& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn);
    exports.Set(f.name, Napi::Value(env, fn));
  }
  tf::registerLowp(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(trainformer_native, Init)
