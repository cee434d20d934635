// splitHeadsLowp: the q, k, v heads of GPT-2's packed projection [b, t, 3, h, d] (float32) as the
// 16-bit planes [3, b, h, t, d] the bf16 attention kernels read, in one pass. Gathering the heads
// into a float32 copy and rounding that copy was two passes over memory (the copy written and read
// again); here each (plane, batch row, head) slab is gathered into a per-thread buffer that stays in
// cache and rounded from there by castToLowp's rule.
#include <vector>

#include "bf16-gemm.h"
#include "common.h"
#include "kernels.h"

namespace tf {

void splitHeadsLowp(int dtype, const float* qkv, uint16_t* out, int64_t b, int64_t t, int64_t h, int64_t d) {
  const int64_t slabs = 3 * b * h, slab = t * d;
  if (slabs == 0 || slab == 0) return;
  parallelTasks(slabs, [&](int64_t s, int) {
    thread_local std::vector<float> buf;
    if (static_cast<int64_t>(buf.size()) < slab) buf.resize(static_cast<size_t>(slab));
    const int64_t p = s / (b * h), bi = (s / h) % b, hi = s % h;
    const float* src = qkv + (bi * t * 3 + p) * h * d + hi * d;  // row ti at src + ti·3·h·d
    for (int64_t ti = 0; ti < t; ++ti) std::memcpy(buf.data() + ti * d, src + ti * 3 * h * d, d * sizeof(float));
    // castToLowp runs inline here: the pool is busy with this loop.
    castToLowp(dtype, buf.data(), out + s * slab, slab);
  });
}

}  // namespace tf
