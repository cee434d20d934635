#!/bin/bash
# Manual experiment (not part of npm test): `kill -9` during training, then --resume, compared with a run
# that never stopped. Run from anywhere after `npm run build`: bash test/cli/kill9-experiment.sh
# Prints whether the final model.safetensors, optimizer.safetensors and metrics lines (without wall-clock fields) are identical.
# kill -9 experiment: straight run vs run killed mid-way (after a checkpoint, between checkpoints) then --resume.
export OUT=${OUT:-$(mktemp -d)}
set -u
cd "$(dirname "$0")/../.."
ARGS="--config examples/shakespeare-char.json --maxSteps 300 --saveSteps 50 --evalSteps 100 --loggingSteps 10 --model.nLayer 2 --model.nEmbd 64 --model.dropout 0.1 --perDeviceTrainBatchSize 8 --saveTotalLimit 3"
rm -rf $OUT/straight $OUT/killed
node dist/src/cli/main.js train $ARGS --outputDir $OUT/straight > $OUT/straight.out 2>&1
node dist/src/cli/main.js train $ARGS --outputDir $OUT/killed > $OUT/killed1.out 2>&1 &
PID=$!
# wait until checkpoint-150 exists, then a little more (mid-way between checkpoints)
while [ ! -f $OUT/killed/checkpoint-150/trainer_state.json ]; do sleep 0.2; done
sleep 3
kill -9 $PID
wait $PID 2>/dev/null
echo "killed at: $(grep -o '"step":[0-9]*' $OUT/killed/metrics.jsonl | tail -1)"
ls $OUT/killed
node dist/src/cli/main.js train $ARGS --outputDir $OUT/killed --resume > $OUT/killed2.out 2>&1
cmp $OUT/straight/checkpoint-300/model.safetensors $OUT/killed/checkpoint-300/model.safetensors && echo "model.safetensors: identical"
cmp $OUT/straight/checkpoint-300/optimizer.safetensors $OUT/killed/checkpoint-300/optimizer.safetensors && echo "optimizer.safetensors: identical"
node -e '
const fs=require("fs");
const rd=(p)=>fs.readFileSync(p,"utf8").trim().split("\n").map(JSON.parse).filter(r=>r.split).map(r=>{delete r.time;delete r.elapsed;delete r.tokensPerSecond;return JSON.stringify(r)});
const a=rd(process.env.OUT+"/straight/metrics.jsonl"), b=rd(process.env.OUT+"/killed/metrics.jsonl");
console.log("metric lines", a.length, b.length, "identical:", a.length===b.length && a.every((x,i)=>x===b[i]));'
grep -h "validation loss" $OUT/straight.out $OUT/killed2.out
grep -h "resumed" $OUT/killed2.out
