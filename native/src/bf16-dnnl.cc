// oneDNN's bf16 matmul (Debian libdnnl-dev 2.6.3), built in only when its headers were found
// (binding.gyp defines TRAINFORMER_DNNL). float32 operands are rounded to bf16 by our own cast
// first (oneDNN's matmul wants both in bf16); primitives are cached per shape and thread count.
// C is float32, or bf16 (c16): oneDNN then rounds the float32 sums, bias included, as it stores them
// (round to nearest even, as castToLowp; see linearLowpBits in bf16-gemm.h for subnormals).
//
// Threads: Debian's oneDNN runs on OpenMP (libgomp) and sizes a primitive by omp_get_max_threads()
// of the calling thread when it is created. That setting is shared with OpenBLAS: its OpenMP build
// (the "best environment" of ../shared/bench/README.md) implements openblas_set_num_threads(1), which
// the addon calls at load, as omp_set_num_threads(1), and so left oneDNN on one thread (365 GFLOPS at
// 2048³ instead of 916 on 2 threads, measured 2026-12-06). Every oneDNN call therefore runs with the
// pool's thread count (numThreads()) as the OpenMP setting and restores the caller's afterwards.
#include "bf16-gemm.h"
#include "common.h"

#if defined(TRAINFORMER_DNNL)
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "oneapi/dnnl/dnnl.h"

extern "C" int omp_get_max_threads(void);
extern "C" void omp_set_num_threads(int);

namespace tf {
namespace {

/** OpenMP threads of the calling thread set to `n` for this object's lifetime, then restored. */
class OmpThreads {
 public:
  explicit OmpThreads(int n) : prev_(omp_get_max_threads()) {
    if (prev_ != n) omp_set_num_threads(n);
  }
  ~OmpThreads() {
    if (omp_get_max_threads() != prev_) omp_set_num_threads(prev_);
  }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int prev_;
};

// m, n, k, transA, transB, alpha, beta, threads, bias, bf16 dst
using Key = std::tuple<int64_t, int64_t, int64_t, bool, bool, float, float, int, bool, bool>;

// One cached primitive per shape, with its memory objects (data handles set per call). Every
// primitive uses one shared scratchpad (user mode): memory is the largest scratchpad, not the sum.
struct Entry {
  dnnl_primitive_t prim = nullptr;
  dnnl_memory_t a = nullptr, b = nullptr, c = nullptr, bias = nullptr, pad = nullptr;
  size_t padBytes = 0;
};

struct Dnnl {
  dnnl_engine_t eng = nullptr;
  dnnl_stream_t strm = nullptr;
  bool ok = false;
  std::map<Key, Entry> cache;
  std::mutex mu;
  std::vector<unsigned char> scratch;
  Dnnl() {
    ok = dnnl_engine_create(&eng, dnnl_cpu, 0) == dnnl_success &&
         dnnl_stream_create(&strm, eng, dnnl_stream_default_flags) == dnnl_success;
  }
};

Dnnl& dnnl() {
  static Dnnl d;
  return d;
}

// float32 operands are rounded into a per-thread buffer that is reused from product to product, up
// to kKeepElems elements (8 MiB); a larger operand (the LM head's weight, its logits' gradient) gets
// a buffer of its own for the one call, so no 16-bit copy of it stays resident between products.
// Rounded operands start on a 64-byte boundary: rows that start mid cache line made oneDNN's AMX
// matmul up to 2.7x slower (native/src/aligned-buffer.cc).
constexpr int64_t kKeepElems = int64_t{4} << 20;
constexpr size_t kKeepScratchBytes = size_t{16} << 20;
constexpr size_t kAlign = 64;

/** A grow-only 64-byte-aligned uint16_t buffer. */
class Bits16 {
 public:
  uint16_t* get(size_t n) {
    if (n > cap_) {
      std::free(p_);
      p_ = static_cast<uint16_t*>(std::aligned_alloc(kAlign, (n * 2 + kAlign - 1) / kAlign * kAlign));
      cap_ = p_ != nullptr ? n : 0;
    }
    return p_;
  }
  ~Bits16() { std::free(p_); }

 private:
  uint16_t* p_ = nullptr;
  size_t cap_ = 0;
};
thread_local Bits16 tlsA16, tlsB16;

// x as bf16 bits: itself when it holds them, else rounded into `keep` (up to kKeepElems) or `own`.
// nullptr when no memory could be had.
const uint16_t* asBits(const void* x, int kind, int64_t n, Bits16& keep, Bits16& own) {
  if (kind == kOperandBits16) return static_cast<const uint16_t*>(x);
  uint16_t* buf = (n <= kKeepElems ? keep : own).get(static_cast<size_t>(n));
  if (buf != nullptr) castToLowp(kBfloat16, static_cast<const float*>(x), buf, n);
  return buf;
}

bool build(Dnnl& d, int64_t m, int64_t n, int64_t k, bool transA, bool transB, float alpha, float beta, bool bias, bool c16,
           Entry* e) {
  dnnl_memory_desc_t aMd, bMd, cMd, biasMd;
  const dnnl_dims_t aDims = {m, k}, bDims = {k, n}, cDims = {m, n}, biasDims = {1, n};
  const dnnl_dims_t aStr = {transA ? 1 : k, transA ? m : 1}, bStr = {transB ? 1 : n, transB ? k : 1}, cStr = {n, 1};
  if (dnnl_memory_desc_init_by_strides(&aMd, 2, aDims, dnnl_bf16, aStr) != dnnl_success ||
      dnnl_memory_desc_init_by_strides(&bMd, 2, bDims, dnnl_bf16, bStr) != dnnl_success ||
      dnnl_memory_desc_init_by_strides(&cMd, 2, cDims, c16 ? dnnl_bf16 : dnnl_f32, cStr) != dnnl_success ||
      dnnl_memory_desc_init_by_strides(&biasMd, 2, biasDims, dnnl_f32, cStr) != dnnl_success)
    return false;
  dnnl_matmul_desc_t md;
  if (dnnl_matmul_desc_init(&md, &aMd, &bMd, bias ? &biasMd : nullptr, &cMd) != dnnl_success) return false;
  dnnl_primitive_attr_t attr = nullptr;
  dnnl_post_ops_t po = nullptr;
  dnnl_primitive_desc_t pd = nullptr;
  bool ok = dnnl_primitive_attr_create(&attr) == dnnl_success &&
            dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success;
  if (ok && alpha != 1.0f) ok = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha) == dnnl_success;
  if (ok && beta != 0.0f) {
    ok = dnnl_post_ops_create(&po) == dnnl_success && dnnl_post_ops_append_sum(po, beta) == dnnl_success &&
         dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
  }
  ok = ok && dnnl_primitive_desc_create(&pd, &md, attr, d.eng, nullptr) == dnnl_success &&
       dnnl_primitive_create(&e->prim, pd) == dnnl_success &&
       dnnl_memory_create(&e->a, &aMd, d.eng, DNNL_MEMORY_NONE) == dnnl_success &&
       dnnl_memory_create(&e->b, &bMd, d.eng, DNNL_MEMORY_NONE) == dnnl_success &&
       dnnl_memory_create(&e->c, &cMd, d.eng, DNNL_MEMORY_NONE) == dnnl_success &&
       (!bias || dnnl_memory_create(&e->bias, &biasMd, d.eng, DNNL_MEMORY_NONE) == dnnl_success);
  if (ok) {
    const dnnl_memory_desc_t* padMd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    e->padBytes = padMd != nullptr ? dnnl_memory_desc_get_size(padMd) : 0;
    if (e->padBytes > 0) ok = dnnl_memory_create(&e->pad, padMd, d.eng, DNNL_MEMORY_NONE) == dnnl_success;
  }
  if (pd != nullptr) dnnl_primitive_desc_destroy(pd);
  if (po != nullptr) dnnl_post_ops_destroy(po);
  if (attr != nullptr) dnnl_primitive_attr_destroy(attr);
  return ok;
}

}  // namespace

bool dnnlBuiltIn() { return dnnl().ok; }

bool bf16GemmDnnl(const void* a, int aKind, const void* b, int bKind, void* c, int64_t m, int64_t n, int64_t k,
                  bool transA, bool transB, float alpha, float beta, const float* bias, bool c16) {
  Dnnl& d = dnnl();
  if (!d.ok) return false;
  std::lock_guard<std::mutex> lk(d.mu);
  const int threads = numThreads();
  const OmpThreads omp(threads);
  const Key key{m, n, k, transA, transB, alpha, beta, threads, bias != nullptr, c16};
  auto it = d.cache.find(key);
  if (it == d.cache.end()) {
    Entry e;
    if (!build(d, m, n, k, transA, transB, alpha, beta, bias != nullptr, c16, &e)) return false;
    it = d.cache.emplace(key, e).first;
  }
  const Entry& e = it->second;
  Bits16 ownA, ownB;
  std::unique_ptr<unsigned char[]> ownPad;
  const uint16_t* a16 = asBits(a, aKind, m * k, tlsA16, ownA);
  const uint16_t* b16 = asBits(b, bKind, k * n, tlsB16, ownB);
  if (a16 == nullptr || b16 == nullptr) return false;
  dnnl_memory_set_data_handle(e.a, const_cast<uint16_t*>(a16));
  dnnl_memory_set_data_handle(e.b, const_cast<uint16_t*>(b16));
  dnnl_memory_set_data_handle(e.c, c);
  int nargs = 3;
  dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, e.a}, {DNNL_ARG_WEIGHTS, e.b}, {DNNL_ARG_DST, e.c}};
  if (bias != nullptr) {
    dnnl_memory_set_data_handle(e.bias, const_cast<float*>(bias));
    args[nargs++] = {DNNL_ARG_BIAS, e.bias};
  }
  if (e.pad != nullptr) {
    // The shared scratchpad stays allocated up to kKeepScratchBytes; a larger one is this call's own.
    unsigned char* scratch;
    if (e.padBytes + 64 <= kKeepScratchBytes) {
      if (d.scratch.size() < e.padBytes + 64) d.scratch.resize(e.padBytes + 64);
      scratch = d.scratch.data();
    } else {
      ownPad.reset(new unsigned char[e.padBytes + 64]);
      scratch = ownPad.get();
    }
    const uintptr_t base = reinterpret_cast<uintptr_t>(scratch);
    dnnl_memory_set_data_handle(e.pad, reinterpret_cast<void*>((base + 63) / 64 * 64));
    args[nargs++] = {DNNL_ARG_SCRATCHPAD, e.pad};
  }
  if (dnnl_primitive_execute(e.prim, d.strm, nargs, args) != dnnl_success) return false;
  return dnnl_stream_wait(d.strm) == dnnl_success;
}

}  // namespace tf

#else

namespace tf {
bool dnnlBuiltIn() { return false; }
bool bf16GemmDnnl(const void*, int, const void*, int, void*, int64_t, int64_t, int64_t, bool, bool, float, float, const float*,
                  bool) {
  return false;
}
}  // namespace tf

#endif
