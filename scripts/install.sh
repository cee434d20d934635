#!/usr/bin/env bash
# Installs what a fresh Debian machine with Node.js 20 lacks, then the npm packages (whose install
# script builds, where OpenBLAS and a compiler are present, the native addon; with Open MPI, the MPI
# binding of distributed training; iproute2 for the two-namespace distributed test; oneDNN (libdnnl-dev)
# for the bf16 matrix products, optional: without it the own kernel or emulation runs), then the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for pkg in libopenblas-dev libopenblas0-openmp libdnnl-dev g++ make python3 libopenmpi-dev openmpi-bin iproute2; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install: apt-get install ${need[*]}"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
      || echo "install: apt-get failed; continuing (trainformer falls back to the js backend)"
  else
    echo "install: missing Debian packages ${need[*]} (not root: the native backend may not build; js still works)"
  fi
fi
# onnxruntime-node (a devDependency: the ONNX export test runs the exported model with it) has its CPU
# binaries in the npm package; its install script (run by npm 10, skipped by npm 11 unless allowed in
# package.json's allowScripts, where it is denied) would also download CUDA binaries from nuget.org,
# which fails offline. ONNXRUNTIME_NODE_INSTALL=skip is the switch its script reads (an .npmrc key
# did the same but made every npm / npx command warn "Unknown project config").
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
npm run build
