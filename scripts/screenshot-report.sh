#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium (Debian's `chromium` package) and saves a PNG.
#
#   scripts/screenshot-report.sh <run-dir> <out.png>
#
# If <run-dir>/report.html does not exist it is written first with the built report module
# (dist/src/report/index.js; run `npx tsc -p tsconfig.json` before). Chromium runs offline with
# a fresh, temporary profile; the page's scripts get a few seconds of virtual time to draw.
# Environment: CHROMIUM (binary, default `chromium`), WINDOW_SIZE (default 1280,2000).
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 <run-dir> <out.png>" >&2
  exit 2
fi
run_dir=$(cd "$1" && pwd)
out_png=$2
case "$out_png" in /*) ;; *) out_png="$PWD/$out_png" ;; esac
repo=$(cd "$(dirname "$0")/.." && pwd)
chromium_bin=${CHROMIUM:-chromium}
window_size=${WINDOW_SIZE:-1280,2000}

if ! command -v "$chromium_bin" >/dev/null 2>&1; then
  echo "error: $chromium_bin not found (apt-get install -y chromium)" >&2
  exit 1
fi

if [ ! -f "$run_dir/report.html" ]; then
  module="$repo/dist/src/report/index.js"
  if [ ! -f "$module" ]; then
    echo "error: $run_dir/report.html is missing and $module is not built (npx tsc -p tsconfig.json)" >&2
    exit 1
  fi
  RUN_DIR="$run_dir" MODULE="$module" node --input-type=module -e \
    'const { writeReport } = await import(process.env.MODULE); const r = await writeReport(process.env.RUN_DIR); console.error(`wrote ${r.html} and ${r.svg}`);'
fi

profile=$(mktemp -d "${TMPDIR:-/tmp}/tf-chromium-XXXXXX")
trap 'rm -rf "$profile"' EXIT

timeout 120 "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --force-device-scale-factor=1 --virtual-time-budget=5000 \
  --user-data-dir="$profile" --window-size="$window_size" --screenshot="$out_png" \
  "file://$run_dir/report.html" 2> "$profile/chromium.log" || {
    status=$?
    cat "$profile/chromium.log" >&2
    echo "error: chromium exited with status $status" >&2
    exit "$status"
  }

if [ ! -s "$out_png" ]; then
  cat "$profile/chromium.log" >&2
  echo "error: no screenshot written to $out_png" >&2
  exit 1
fi
echo "$out_png"
