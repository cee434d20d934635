// Low-precision matrix products for mixed precision (src/amp): operands rounded to bfloat16 or
// float16 (round to nearest even), products and sums in float32. See bf16-gemm.cc.
#pragma once
#include <cstdint>

namespace tf {

/** Operand storage: float32 values (rounded while packing) or 16-bit patterns of the product's dtype. */
enum LowpOperand { kOperandF32 = 0, kOperandBits16 = 1 };
/** The product's operand dtype. */
enum LowpDtype { kBfloat16 = 0, kFloat16 = 1 };

/**
 * Batched C_i = alpha · op(A_i)·op(B_i) + beta · C_i with the semantics of tf::matmul, except that
 * every operand element is first rounded to `dtype` (round to nearest even; elements given as 16-bit
 * patterns are used as they are). Products of two 16-bit values are exact in float32, sums are
 * float32. bfloat16 runs the AVX512_BF16 kernel (vdpbf16ps) where the CPU has it; otherwise, and
 * for float16, operands are rounded into float32 buffers and multiplied by cblas_sgemm.
 * `a`/`b` point at float (kOperandF32) or uint16_t (kOperandBits16) elements.
 */
void matmulLowp(int dtype, const void* a, int aKind, const void* b, int bKind, float* c, int64_t batch, int64_t m,
                int64_t n, int64_t k, bool transA, bool transB, int64_t aBatchStride, int64_t bBatchStride,
                float alpha, float beta);

/**
 * matmulLowp with C as 16-bit patterns of `dtype` and beta 0: alpha·op(A)·op(B), the float32 sums
 * rounded to nearest even (castToLowp's rule). oneDNN writes bf16 itself (a single product, or the
 * stacked case of matmulLowp; values below 2^-126 in magnitude become ±0 as in linearLowpBits); the
 * own kernel rounds as it stores (castToLowp's bits); the emulation through a float32 buffer and castToLowp. The input gradient of a linear layer with a bf16 input.
 */
void matmulLowpBits(int dtype, const void* a, int aKind, const void* b, int bKind, uint16_t* c, int64_t batch, int64_t m,
                    int64_t n, int64_t k, bool transA, bool transB, int64_t aBatchStride, int64_t bBatchStride, float alpha);

/**
 * The linear layer's forward under mixed precision: out [rows, outF] = x·wᵀ + bias, with x [rows, inF]
 * and w [outF, inF] rounded to `dtype` as in matmulLowp, bias [outF] float32 (nullptr for none) added
 * to the float32 sums. The own kernel and oneDNN add the bias as they store the product (no second
 * pass over out).
 */
void linearLowp(int dtype, const void* x, int xKind, const void* w, int wKind, const float* bias, float* out,
                int64_t rows, int64_t outF, int64_t inF);
/**
 * linearLowp with the output as 16-bit patterns of `dtype`: the float32 sums plus bias, rounded to
 * nearest even (castToLowp's rule) as they are stored, so no float32 [rows, outF] is written. For a
 * consumer that rounds the output to `dtype` anyway (GPT-2's packed q/k/v projection under bf16
 * autocast). The own kernel rounds as it stores (castToLowp's bits); oneDNN writes bf16 directly
 * (vcvtneps2bf16: the same bits, except that sums below 2^-126 in magnitude become ±0 where castToLowp
 * keeps a bf16 subnormal); the emulation's float32 output goes through a buffer and castToLowp.
 */
void linearLowpBits(int dtype, const void* x, int xKind, const void* w, int wKind, const float* bias, uint16_t* out,
                    int64_t rows, int64_t outF, int64_t inF);

/**
 * x [rows, cols] float32 → out = its 16-bit `dtype` patterns (as castToLowp), and sums[j] = Σ_i x[i, j]
 * of the float32 values: float32 sums over blocks of 256 rows in row order, then the block sums in
 * block order (the same whatever the thread count). The linear backward's rounded output gradient
 * and its bias gradient from one read of the gradient.
 */
void castToLowpColumnSums(int dtype, const float* x, uint16_t* out, float* sums, int64_t rows, int64_t cols);

/** True when this CPU runs the bfloat16 dot-product kernel (AVX512_BF16), false when it emulates. */
bool bf16KernelAvailable();

/** Which bf16 GEMM runs: 0 = emulation (float32 products), 1 = own vdpbf16ps kernel, 2 = oneDNN. */
int bf16GemmImpl();
/** Selects the bf16 GEMM (for benchmarks and tests); returns false when that one is not available here. */
bool setBf16GemmImpl(int impl);

/** x [n] float32 → 16-bit patterns of `dtype`, round to nearest even (NaN stays NaN, overflow → inf). */
void castToLowp(int dtype, const float* x, uint16_t* out, int64_t n);
/** 16-bit patterns of `dtype` [n] → float32 (exact). */
void castFromLowp(int dtype, const uint16_t* x, float* out, int64_t n);

// ---- internals shared by the kernel files -------------------------------------------------------
/** The own kernel: one product (no batch), bf16 operands packed per tile. Needs AVX512_BF16. */
void bf16GemmOwn(const void* a, int aKind, const void* b, int bKind, float* c, int64_t m, int64_t n, int64_t k,
                 bool transA, bool transB, float alpha, float beta);
/**
 * bf16GemmOwn with an epilogue: plus bias [n] (float32, added to every row after the product's sums;
 * nullptr for none), and with c16 (not nullptr) the result rounded to bf16 as castToLowp does and
 * stored there instead of into c (c unused; beta must be 0). Same sums, so the same bits, as
 * bf16GemmOwn followed by the bias add and castToLowp.
 */
void bf16GemmOwnEx(const void* a, int aKind, const void* b, int bKind, float* c, uint16_t* c16, int64_t m, int64_t n,
                   int64_t k, bool transA, bool transB, float alpha, float beta, const float* bias);
/**
 * oneDNN's bf16 matmul for one product, plus `bias` [n] (float32, added to every row of C after the
 * product; nullptr for none); false when oneDNN is not built in or refuses the shape. `c` is float*,
 * or uint16_t* bf16 patterns when `c16` (the float32 sums rounded to nearest even as they are stored).
 */
bool bf16GemmDnnl(const void* a, int aKind, const void* b, int bKind, void* c, int64_t m, int64_t n, int64_t k,
                  bool transA, bool transB, float alpha, float beta, const float* bias = nullptr, bool c16 = false);
/** True when the addon was built with oneDNN. */
bool dnnlBuiltIn();

}  // namespace tf
