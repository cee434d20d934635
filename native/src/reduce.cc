// Reductions over the middle axis of [outer, len, inner], and the sum of squares (grad norms).
// Tall column sums (bias gradients) split their rows into fixed chunks so both threads work.
// Sums accumulate in float64 lanes (rows.h: independent accumulators, so GCC can vectorise without
// reassociating); max/min propagate NaN and report the first index of the extreme value.
#include <vector>

#include "common.h"
#include "kernels.h"
#include "rows.h"

namespace tf {
namespace {

// Row sums and sums of squares: rows.h's float64 lanes.
double rowSum(const float* x, int64_t len) { return sum(x, len); }
double rowSumSquares(const float* x, int64_t len) { return dot(x, x, len); }

// The sum of squares of a long range (a gradient, for clipping) as four quarter-ranges walked
// together: one sequential read stream per thread measured ~7 GB/s from memory here, four ~13-20
// (2 threads, 256 MB, bench lock: 23-35 ms → 13 ms), since more cache-line misses are in flight.
double streamSumSquares(const float* x, int64_t n) {
  constexpr int64_t kW = 16;
  const int64_t q = n / 4 / kW * kW;
  if (q < 4096) return rowSumSquares(x, n);
  double a0[kW] = {}, a1[kW] = {}, a2[kW] = {}, a3[kW] = {};
  const float *x0 = x, *x1 = x + q, *x2 = x + 2 * q, *x3 = x + 3 * q;
  for (int64_t i = 0; i < q; i += kW)
    for (int j = 0; j < kW; ++j) {
      const double v0 = x0[i + j], v1 = x1[i + j], v2 = x2[i + j], v3 = x3[i + j];
      a0[j] += v0 * v0;
      a1[j] += v1 * v1;
      a2[j] += v2 * v2;
      a3[j] += v3 * v3;
    }
  double s = rowSumSquares(x + 4 * q, n - 4 * q);
  for (int j = 0; j < kW; ++j) s += (a0[j] + a1[j]) + (a2[j] + a3[j]);
  return s;
}

// Extreme of a contiguous row: value and first index; NaN wins (first NaN's index). The scan is
// written with vector types (GCC does not vectorise a max-and-NaN-flag reduction from scalar
// code); the index is found by a second pass that stops at the first match.
template <bool kMax>
void rowExtreme(const float* x, int64_t len, float* best, int32_t* arg) {
  if (len == 0) {
    *best = std::numeric_limits<float>::quiet_NaN();
    if (arg != nullptr) *arg = 0;
    return;
  }
  typedef int32_t v16i __attribute__((vector_size(64)));
  const float init = kMax ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  v16f acc = v16f{} + init;
  v16i nanv = v16i{};
  int64_t i = 0;
  for (; i + 16 <= len; i += 16) {
    v16f v;
    std::memcpy(&v, x + i, sizeof(v));
    nanv |= v != v;
    acc = kMax ? (v > acc ? v : acc) : (v < acc ? v : acc);
  }
  float m = init;
  int nan = 0;
  for (int j = 0; j < 16; ++j) {
    m = kMax ? (acc[j] > m ? acc[j] : m) : (acc[j] < m ? acc[j] : m);
    nan |= nanv[j];
  }
  for (; i < len; ++i) {
    const float v = x[i];
    nan |= v != v;
    m = kMax ? (v > m ? v : m) : (v < m ? v : m);
  }
  int64_t at = 0;
  if (nan) {
    while (x[at] == x[at]) ++at;
    m = x[at];
  } else {
    while (x[at] != m) ++at;
  }
  *best = m;
  if (arg != nullptr) *arg = static_cast<int32_t>(at);
}

// Strided case: out[i] over a block of columns [i0, i1) of one outer slice.
template <int kOp>
void columnsReduce(const float* x, int64_t len, int64_t inner, int64_t i0, int64_t i1, float* out, int32_t* argOut) {
  constexpr int64_t kBlock = 256;
  for (int64_t b = i0; b < i1; b += kBlock) {
    const int64_t w = i1 - b < kBlock ? i1 - b : kBlock;
    if (kOp == kSum) {
      double acc[kBlock];
      for (int64_t i = 0; i < w; ++i) acc[i] = 0;
      for (int64_t l = 0; l < len; ++l) {
        const float* row = x + l * inner + b;
        for (int64_t i = 0; i < w; ++i) acc[i] += row[i];
      }
      for (int64_t i = 0; i < w; ++i) out[b + i] = static_cast<float>(acc[i]);
    } else {
      float best[kBlock];
      int32_t arg[kBlock];
      const float init = kOp == kMax ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < w; ++i) {
        best[i] = len == 0 ? std::numeric_limits<float>::quiet_NaN() : init;
        arg[i] = 0;
      }
      for (int64_t l = 0; l < len; ++l) {
        const float* row = x + l * inner + b;
        for (int64_t i = 0; i < w; ++i) {
          float v = row[i], c = best[i];
          bool better = kOp == kMax ? v > c : v < c;
          bool upd = better || (v != v && c == c);
          best[i] = upd ? v : c;
          arg[i] = upd ? static_cast<int32_t>(l) : arg[i];
        }
      }
      for (int64_t i = 0; i < w; ++i) out[b + i] = best[i];
      if (argOut != nullptr)
        for (int64_t i = 0; i < w; ++i) argOut[b + i] = arg[i];
    }
  }
}

// Rows per partial sum of columnSumsChunked: a fixed count, so the partial sums (and the result's
// rounding) do not depend on the number of threads.
constexpr int64_t kSumRowChunk = 256;
constexpr int64_t kSumColBlock = 256;

// Column sums of one tall [len, inner] slice (a linear layer's bias gradient: [B·T, out] → [out]).
// Splitting by columns alone gives one or two tasks for out ≤ 2048 (one thread idle); here tasks are
// (chunk of kSumRowChunk rows, block of columns), each summing into its own float64 row of partial
// sums, which are then added in chunk order.
void columnSumsChunked(const float* x, int64_t len, int64_t inner, float* out) {
  const int64_t chunks = (len + kSumRowChunk - 1) / kSumRowChunk;
  const int64_t blocks = (inner + kSumColBlock - 1) / kSumColBlock;
  std::vector<double> part(static_cast<size_t>(chunks * inner));
  parallelTasks(chunks * blocks, [&](int64_t t, int) {
    const int64_t c = t / blocks, b0 = (t % blocks) * kSumColBlock;
    const int64_t w = inner - b0 < kSumColBlock ? inner - b0 : kSumColBlock;
    const int64_t r0 = c * kSumRowChunk, r1 = r0 + kSumRowChunk < len ? r0 + kSumRowChunk : len;
    double acc[kSumColBlock];
    for (int64_t i = 0; i < w; ++i) acc[i] = 0;
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * inner + b0;
      for (int64_t i = 0; i < w; ++i) acc[i] += row[i];
    }
    double* p = part.data() + c * inner + b0;
    for (int64_t i = 0; i < w; ++i) p[i] = acc[i];
  });
  parallelFor(inner, kSerialElems, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      double s = 0;
      for (int64_t c = 0; c < chunks; ++c) s += part[static_cast<size_t>(c * inner + i)];
      out[i] = static_cast<float>(s);
    }
  });
}

template <int kOp>
void reduceT(const float* x, float* out, int64_t outer, int64_t len, int64_t inner, int32_t* argOut) {
  if (outer == 0 || inner == 0) return;
  if (inner == 1) {
    const int threads = numThreads();
    if (kOp == kSum && outer < threads && len >= kSerialElems) {
      // Few long rows: split each row across threads and add the partial sums in a fixed order.
      for (int64_t o = 0; o < outer; ++o) {
        const float* row = x + o * len;
        const int64_t parts = threads, chunk = (len + parts - 1) / parts;
        std::vector<double> part(parts, 0.0);
        parallelTasks(parts, [&](int64_t p, int) {
          int64_t b = p * chunk, e = b + chunk < len ? b + chunk : len;
          if (b < e) part[p] = rowSum(row + b, e - b);
        });
        double s = 0;
        for (double v : part) s += v;
        out[o] = static_cast<float>(s);
      }
      return;
    }
    const int64_t grain = len > 0 && kSerialElems / len > 0 ? kSerialElems / len : 1;
    parallelFor(outer, grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        if (kOp == kSum) out[o] = static_cast<float>(rowSum(x + o * len, len));
        else rowExtreme<kOp == kMax>(x + o * len, len, out + o, argOut != nullptr ? argOut + o : nullptr);
      }
    });
    return;
  }
  if (kOp == kSum && outer == 1 && len >= 2 * kSumRowChunk && len * inner >= kSerialElems) {
    columnSumsChunked(x, len, inner, out);
    return;
  }
  // Tasks are (outer slice, block of columns), so both a long outer and a wide inner spread out.
  const int64_t colBlock = inner < 1024 ? inner : 1024;
  const int64_t blocks = (inner + colBlock - 1) / colBlock;
  const int64_t tasks = outer * blocks;
  auto task = [&](int64_t t) {
    const int64_t o = t / blocks, c0 = (t % blocks) * colBlock;
    const int64_t c1 = c0 + colBlock < inner ? c0 + colBlock : inner;
    columnsReduce<kOp>(x + o * len * inner, len, inner, c0, c1, out + o * inner,
                       argOut != nullptr ? argOut + o * inner : nullptr);
  };
  if (outer * len * inner < kSerialElems) {
    for (int64_t t = 0; t < tasks; ++t) task(t);
  } else {
    parallelTasks(tasks, [&](int64_t t, int) { task(t); });
  }
}

}  // namespace

bool reduce(int op, const float* x, float* out, int64_t outer, int64_t len, int64_t inner, int32_t* argOut) {
  switch (op) {
    case kSum: reduceT<kSum>(x, out, outer, len, inner, nullptr); return true;
    case kMax: reduceT<kMax>(x, out, outer, len, inner, argOut); return true;
    case kMin: reduceT<kMin>(x, out, outer, len, inner, argOut); return true;
    default: return false;
  }
}

double sumSquares(const float* x, int64_t n) {
  if (n < kSerialElems * 4) return rowSumSquares(x, n);
  const int64_t parts = numThreads(), chunk = (n + parts - 1) / parts;
  std::vector<double> part(parts, 0.0);
  parallelTasks(parts, [&](int64_t p, int) {
    int64_t b = p * chunk, e = b + chunk < n ? b + chunk : n;
    if (b < e) part[p] = streamSumSquares(x + b, e - b);
  });
  double s = 0;
  for (double v : part) s += v;
  return s;
}

}  // namespace tf
