// Standalone timing of the bf16 GEMMs (own vdpbf16ps kernel, oneDNN) against float32 sgemm, and a
// check of both against the emulated product (operands rounded to bf16, float32 cblas_sgemm).
// Build and run: bash native/bench/bf16-gemm.sh   (prints GFLOPS medians per shape)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "../src/bf16-gemm.h"
#include "../src/common.h"
#include "../src/kernels.h"

using namespace tf;

static double secs() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  struct Shape { const char* name; int64_t m, n, k; bool ta, tb; };
  const Shape shapes[] = {
      {"2048^3", 2048, 2048, 2048, false, false},
      {"small fc x@W^T [2048,384]x[1536,384]^T", 2048, 1536, 384, false, true},
      {"small proj dX=g@W [2048,1536]x[1536,384]", 2048, 384, 1536, false, false},
      {"small dW=g^T@x [1536,2048]^T..", 1536, 384, 2048, true, false},
      {"gpt2 fc [512,768]x[3072,768]^T", 512, 3072, 768, false, true},
      {"gpt2 lm head [512,768]x[50257,768]^T", 512, 50257, 768, false, true},
  };
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (const Shape& s : shapes) {
    std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n), ref(s.m * s.n);
    for (auto& x : a) x = nd(rng);
    for (auto& x : b) x = nd(rng);
    const double flops = 2.0 * s.m * s.n * s.k;
    auto time = [&](auto fn) {
      std::vector<double> t;
      fn();
      for (int r = 0; r < reps; ++r) { double t0 = secs(); fn(); t.push_back(secs() - t0); }
      std::sort(t.begin(), t.end());
      return flops / t[t.size() / 2] / 1e9;
    };
    setBf16GemmImpl(0);
    matmulLowp(kBfloat16, a.data(), kOperandF32, b.data(), kOperandF32, ref.data(), 1, s.m, s.n, s.k, s.ta, s.tb, 0, 0, 1, 0);
    const double f32 = time([&] { matmul(a.data(), b.data(), c.data(), 1, s.m, s.n, s.k, s.ta, s.tb, 0, 0, 1, 0); });
    std::printf("%-42s sgemm %7.1f", s.name, f32);
    for (int impl = 1; impl <= 2; ++impl) {
      if (!setBf16GemmImpl(impl)) { std::printf("  impl%d n/a", impl); continue; }
      const double g = time([&] { matmulLowp(kBfloat16, a.data(), kOperandF32, b.data(), kOperandF32, c.data(), 1, s.m, s.n, s.k, s.ta, s.tb, 0, 0, 1, 0); });
      double err = 0, scale = 0;
      for (size_t i = 0; i < c.size(); ++i) { err = std::max(err, (double)std::fabs(c[i] - ref[i])); scale = std::max(scale, (double)std::fabs(ref[i])); }
      std::printf("  %s %7.1f (max|d| %.2g of %.3g)", impl == 1 ? "own" : "dnnl", g, err, scale);
    }
    std::printf(" GFLOPS\n");
    std::fflush(stdout);
  }
  return 0;
}
