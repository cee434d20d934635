#!/usr/bin/env bash
# The package as a user gets it: `npm pack`, install the tarball into an empty folder, copy an example
# out of the installed package, train 20 steps and evaluate through `npx trainformer`, and import the
# library from user code. Dependencies come from npm's cache (filled by the repository's `npm ci`),
# so this needs no network where that ran first. Usage: bash scripts/pack-smoke.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/trainformer-pack-XXXXXX")
[ "${1:-}" = "--keep" ] || trap 'rm -rf "$work"' EXIT
t0=$SECONDS

# --ignore-scripts: dist/ is already built by the test run before this step; prepack would rebuild it.
[ -f dist/src/index.js ] || npm run build
tarball=$(npm pack --ignore-scripts --silent --pack-destination "$work" | tail -1)
echo "pack-smoke: $tarball ($(du -k "$work/$tarball" | cut -f1) KiB)"
contents=$(tar tzf "$work/$tarball")
if grep -Eq '^package/(dist/test|test|examples/data/(squad|eng_fra|snips_intents))/' <<<"$contents"; then
  echo "pack-smoke: FAIL: tests or large example data in the tarball"; exit 1
fi
for f in LICENSE binding.gyp native/src/addon.cc dist/src/index.js dist/src/index.d.ts dist/src/cli/main.js; do
  grep -qx "package/$f" <<<"$contents" || { echo "pack-smoke: FAIL: package/$f missing from the tarball"; exit 1; }
done

mkdir "$work/app" && cd "$work/app"
npm init -y >/dev/null
npm install "../$tarball" --prefer-offline --no-audit --no-fund --loglevel=error
echo "pack-smoke: installed in $((SECONDS - t0)) s"
backend=$(node --input-type=module -e "import { getBackend } from 'trainformer'; console.log(getBackend().name)")
echo "pack-smoke: backend $backend"
if [ -f "$repo/build/Release/trainformer_native.node" ] && [ "$backend" != native ]; then
  echo "pack-smoke: FAIL: the repository builds the native addon but the installed package did not"; exit 1
fi

cp -r node_modules/trainformer/examples .
npx trainformer train --config examples/shakespeare-char-js.json --maxSteps 20 --loggingSteps 5 --evalSteps 10 \
  --maxEvalBatches 2 --perDeviceEvalBatchSize 16 --generation.maxNewTokens 40 --outputDir runs/smoke --disableTqdm true > train.out
cat train.out
grep -q '^trained 20 steps' train.out || { echo "pack-smoke: FAIL: did not train 20 steps"; exit 1; }
npx trainformer eval runs/smoke > eval.out
cat eval.out
grep -q 'validation loss [0-9.]* nats/char' eval.out || { echo "pack-smoke: FAIL: eval printed no validation loss"; exit 1; }
[ -f runs/smoke/report.html ] && [ -f runs/smoke/loss.svg ] || { echo "pack-smoke: FAIL: no report"; exit 1; }
# The README's library program (Trainer from code), run from the installed package as user code.
node -e "const m = /<!-- readme-trainer:begin -->\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\`/.exec(require('fs').readFileSync('$repo/README.md', 'utf8')); require('fs').writeFileSync('readme-trainer.mjs', m[1]);"
node readme-trainer.mjs | tee readme.out
grep -q 'counting learned' readme.out || { echo "pack-smoke: FAIL: the README's Trainer program did not stop itself"; exit 1; }
echo "pack-smoke: passed in $((SECONDS - t0)) s"
