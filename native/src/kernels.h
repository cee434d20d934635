// Kernel entry points (plain pointers; addon.cc unpacks the JS arguments). Semantics are those of
// src/backend/backend.ts; the declarations of the kernels of src/backend/spec.ts and the op enums are
// generated (kernels.gen.h); binary and copyStrided are declared here.
#pragma once
#include <cstdint>

#include "kernels.gen.h"  // op enums and the kernels of src/backend/spec.ts

namespace tf {

constexpr int kMaxDims = 16;

// Returns false for an op code the kernel does not define (the caller throws).
bool binary(int op, const float* a, const int64_t* aStrides, const float* b, const int64_t* bStrides, float* out,
            const int64_t* shape, int nd);
void copyStrided(const void* src, int elemBytes, int64_t srcOffset, const int64_t* shape, const int64_t* strides,
                 int nd, void* out);

/** OpenBLAS's thread count at load: 1 (our pool splits products) unless TRAINFORMER_BLAS_THREADS > 1. */
int defaultBlasThreads();

}  // namespace tf
