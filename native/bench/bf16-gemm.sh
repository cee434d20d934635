#!/usr/bin/env bash
# Builds and runs native/bench/bf16-gemm.cc (own bf16 kernel vs oneDNN vs sgemm). Args: repetitions.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
dnnl=()
[ -f /usr/include/oneapi/dnnl/dnnl.hpp ] && dnnl=(-DTRAINFORMER_DNNL -ldnnl)
g++ -O3 -march=native -std=c++17 -pthread -o "$out/bf16-gemm" native/bench/bf16-gemm.cc native/src/bf16-gemm.cc \
  native/src/bf16-kernel.cc native/src/bf16-dnnl.cc native/src/matmul.cc native/src/pool.cc -lopenblas -ldl "${dnnl[@]}"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$out/bf16-gemm" "$@"
rm -rf "$out"
