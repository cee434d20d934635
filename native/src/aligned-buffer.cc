// Where an ArrayBuffer's first 64-byte cache-line boundary is, for the tensor buffer pool
// (src/tensor/buffer-pool.ts), which puts its large typed arrays there.
//
// Why: Node allocates an ArrayBuffer's memory with calloc, and glibc serves a large calloc from its
// own mmap with a 16-byte header, so every large typed array starts 16 bytes past a cache line. Then
// every row of a matrix starts mid-line and each 64-byte load or store of a kernel spans two lines.
// oneDNN's bf16 matmul (AMX) measured 1.5-2.7x slower on such buffers: 2048x1536x384 with B
// transposed, 1.27 ms on 64-byte-aligned buffers vs 3.46 ms at 16 bytes past (2 threads, bench
// lock, 2026-12-06 22:36 UTC). PyTorch's CPU allocator aligns to 64 bytes.
//
// The buffer stays an ordinary V8 ArrayBuffer (freed by the garbage collector as any other): an
// external buffer of our own (mmap) was tried first, but Node runs the finalizers of external
// buffers only when the event loop turns, so a synchronous training loop never gave them back.
#include <napi.h>

#include <cstdint>

namespace {

constexpr uintptr_t kLine = 64;

// alignOffset(buffer: ArrayBuffer) -> bytes from the start of `buffer` to its first 64-byte boundary.
napi_value AlignOffset(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  void* data = nullptr;
  size_t len = 0;
  bool isAb = false;
  if (argc < 1 || napi_is_arraybuffer(env, argv[0], &isAb) != napi_ok || !isAb ||
      napi_get_arraybuffer_info(env, argv[0], &data, &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "native backend: alignOffset(buffer) needs an ArrayBuffer");
    return nullptr;
  }
  const uintptr_t addr = reinterpret_cast<uintptr_t>(data);
  napi_value out;
  napi_create_uint32(env, static_cast<uint32_t>((kLine - addr % kLine) % kLine), &out);
  return out;
}

}  // namespace

namespace tf {
/** Adds alignOffset to the addon's exports. */
void registerAlignedBuffer(Napi::Env env, Napi::Object exports) {
  napi_value fn;
  napi_create_function(env, "alignOffset", NAPI_AUTO_LENGTH, AlignOffset, nullptr, &fn);
  exports.Set("alignOffset", Napi::Value(env, fn));
}
}  // namespace tf
