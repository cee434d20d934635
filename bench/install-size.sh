#!/usr/bin/env bash
# Runtime dependencies of two commits: count (`npm ls --omit=dev --all --parseable`, less the root),
# node_modules size after `npm ci --omit=dev`, and the median `npm ci` wall time of N runs from npm's
# cache (--prefer-offline; install scripts off, so the native build, the same in both, is not timed).
# Usage: bash bench/install-size.sh [before-ref (default main)] [after-ref (default HEAD)] [runs (default 5)]
set -euo pipefail
cd "$(dirname "$0")/.."
refs=("${1:-main}" "${2:-HEAD}")
runs=${3:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/trainformer-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
printf '| commit | runtime packages | node_modules (KiB) | npm ci median (s) | runs (s) |\n|---|---|---|---|---|\n'
for ref in "${refs[@]}"; do
  d="$work/$(git rev-parse --short "$ref")"
  mkdir -p "$d"
  git show "$ref:package.json" > "$d/package.json"
  git show "$ref:package-lock.json" > "$d/package-lock.json"
  times=()
  for ((i = 0; i < runs; i++)); do
    rm -rf "$d/node_modules"
    s=$(date +%s.%N)
    (cd "$d" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
    times+=("$(echo "$(date +%s.%N) - $s" | bc)")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  count=$(( $(cd "$d" && npm ls --omit=dev --all --parseable | wc -l) - 1 ))
  size=$(du -s --block-size=1K "$d/node_modules" | cut -f1)
  printf '| %s | %d | %d | %.2f | %s |\n' "$ref ($(git rev-parse --short "$ref"))" "$count" "$size" "$median" "$(printf '%.1f ' "${times[@]}")"
done
