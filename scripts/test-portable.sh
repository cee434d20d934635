#!/usr/bin/env bash
# Builds the native addon for baseline x86-64 (-march=x86-64: SSE2 only, no AVX/FMA, as a machine
# without them would compile it) into build/portable/, checks that its code uses no AVX register,
# and runs the test suite on it (TRAINFORMER_NATIVE_ADDON points the loader at it).
# Usage: bash scripts/test-portable.sh [node --test arguments]   (default: `npm test`, the whole suite)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
src=$(mktemp -d "${TMPDIR:-/tmp}/trainformer-portable-XXXXXX")
trap 'rm -rf "$src"' EXIT
cp -r binding.gyp native "$src/"
ln -s "$repo/node_modules" "$src/node_modules"
(cd "$src" && TRAINFORMER_NATIVE_MARCH=x86-64 node native/build.mjs >/dev/null)
mkdir -p build/portable
cp "$src/build/Release/trainformer_native.node" build/portable/
addon=$repo/build/portable/trainformer_native.node
# objdump disassembles each object file; ymm/zmm registers mean AVX or AVX-512 instructions. Files
# that choose their code at run time by CPUID (__builtin_cpu_supports) may hold such code on purpose.
if command -v objdump >/dev/null; then
  for o in "$src"/build/Release/obj.target/trainformer_native/native/src/*.o; do
    c=native/src/$(basename "$o" .o).cc
    if grep -q __builtin_cpu_supports "$c"; then echo "test-portable: $c dispatches by CPUID (not checked)"; continue; fi
    wide=$(objdump -d --no-show-raw-insn "$o" | grep -cE '%[yz]mm[0-9]' || true)
    [ "$wide" = 0 ] || { echo "test-portable: FAIL: $c has $wide AVX instructions in the baseline build"; exit 1; }
  done
  echo "test-portable: no AVX instruction in the baseline build's kernels"
fi
[ -f dist/src/index.js ] || npm run build
# OPENBLAS_CORETYPE keeps OpenBLAS (a DYNAMIC_ARCH build) on its SSE kernels too.
export TRAINFORMER_NATIVE_ADDON=$addon OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Nehalem}
node --input-type=module -e "import { getBackend } from './dist/src/index.js'; if (getBackend().name !== 'native') { console.error('test-portable: FAIL: the baseline addon did not load'); process.exit(1); }"
if [ $# -gt 0 ]; then node --test "$@"; else npm test; fi
