// Kernel entry points (plain pointers; addon.cc unpacks the JS arguments). Semantics are those of
// src/backend/backend.ts, which is the contract; op codes follow the order of the TS unions.
#pragma once
#include <cstdint>

namespace tf {

enum UnaryOp {
  kNeg, kExp, kLog, kLog1p, kSqrt, kRsqrt, kAbs, kSign, kTanh, kSigmoid, kRelu, kGelu, kGeluTanh,
  kSilu, kSquare, kReciprocal, kPowScalar, kClamp, kAddScalar, kMulScalar, kRsubScalar, kHeaviside,
  kGeluDerivative, kGeluTanhDerivative, kUnaryCount
};
enum BinaryOp { kAdd, kSub, kMul, kDiv, kPow, kMaximum, kMinimum, kBinaryCount };
enum ReduceOp { kSum, kMax, kMin, kReduceCount };

constexpr int kMaxDims = 16;

// Returns false for an op code the kernel does not define (the caller throws).
bool unary(int op, const float* x, float* out, int64_t n, float p0, float p1);
bool binary(int op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides, float* out,
            const int64_t* shape, int nd);
void copyStrided(const void* src, int elemBytes, int64_t srcOffset, const int64_t* shape, const int64_t* strides,
                 int nd, void* out);
bool reduce(int op, const float* x, float* out, int64_t outer, int64_t len, int64_t inner, int32_t* argOut);
double sumSquares(const float* x, int64_t n);

void matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n, int64_t k, bool transA,
            bool transB, int64_t aBatchStride, int64_t bBatchStride, float alpha, float beta);

/** OpenBLAS's thread count at load: 1 (our pool splits products) unless TRAINFORMER_BLAS_THREADS > 1. */
int defaultBlasThreads();

void softmax(const float* x, float* out, int64_t rows, int64_t cols, bool log);
void softmaxBackward(const float* y, const float* g, float* dx, int64_t rows, int64_t cols, bool log);
void crossEntropy(const float* x, const int32_t* target, const float* weight, float* loss, float* lse, float* wy,
                  float* rowMax, float* logSum, int64_t rows, int64_t C, int32_t ignoreIndex, double labelSmoothing);
void crossEntropyBackward(const float* x, const int32_t* target, const float* weight, const float* rowMax,
                          const float* logSum, const float* gLoss, const float* gLse, float* dx, int64_t rows, int64_t C,
                          int32_t ignoreIndex, double labelSmoothing);
void layerNorm(const float* x, const float* w, const float* b, float* out, float* mean, float* rstd, int64_t rows,
               int64_t cols, float eps);
void layerNormBackward(const float* x, const float* w, const float* mean, const float* rstd, const float* g, float* dx,
                       float* dw, float* db, int64_t rows, int64_t cols);

void gather(const float* x, const int32_t* idx, float* out, int64_t outer, int64_t len, int64_t inner, int64_t idxLen);
void scatterAdd(float* out, const int32_t* idx, const float* src, int64_t outer, int64_t len, int64_t inner,
                int64_t idxLen);
void indexSelect(const float* table, const int32_t* idx, float* out, int64_t n, int64_t cols);
void indexAdd(float* dTable, const int32_t* idx, const float* g, int64_t n, int64_t cols);

void adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr, double b1, double b2, double eps,
           double wd, double bc1, double bc2);

void attention(const float* q, const float* k, const float* v, float* out, float* lse, int64_t bh, int64_t t,
               int64_t s, int64_t d, float scale, bool causal);
void attentionBackward(const float* q, const float* k, const float* v, const float* out, const float* lse,
                       const float* g, float* dq, float* dk, float* dv, int64_t bh, int64_t t, int64_t s, int64_t d,
                       float scale, bool causal);

}  // namespace tf
