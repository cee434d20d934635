// TRAINFORMER_OPENMP_POOL=1 runs the native pool's jobs as OpenMP regions on libgomp's threads
// (native/src/pool.cc). The chunks are the same as the pool's and every reduction adds its parts in
// a fixed order, so a training run must give bit-identical losses and weights either way: checked on
// a small GPT for three AdamW steps on one batch in float32 and under bf16 autocast, 2 threads, in fresh processes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadNativeAddon } from '../../src/backend/native/index.js';

const addon = loadNativeAddon();
const skip = !addon ? "native addon not built (run 'npm run build:native')" : false;
const src = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
const url = (p: string): string => JSON.stringify(pathToFileURL(path.join(src, p)).href);

/** Losses and a weight checksum of 3 training steps, as printed by a fresh process with `env`. */
function train(amp: boolean, openmpPool: boolean): string {
  const script = `
    const T = await import(${url('tensor/index.js')});
    const { GPT } = await import(${url('models/gpt.js')});
    const { AdamW } = await import(${url('optim/adam.js')});
    const { crossEntropy } = await import(${url('losses/index.js')});
    const { autocast } = await import(${url('amp/autocast.js')});
    const model = new GPT({ vocabSize: 50, nLayer: 2, nHead: 4, nEmbd: 128, blockSize: 64, dropout: 0, bias: true,
      tieWordEmbeddings: true, activation: 'gelu', layerNormEpsilon: 1e-5, seed: 7 });
    const opt = new AdamW(model.parameters(), { lr: 1e-3 });
    const batch = T.randint(0, 50, [8, 65], new T.Generator(3)).keep();
    const out = [];
    for (let s = 0; s < 3; s++) T.scope(() => {
      const x = batch.narrow(1, 0, 64).contiguous(), y = batch.narrow(1, 1, 64).contiguous();
      opt.zeroGrad();
      const loss = autocast({ dtype: 'bfloat16', enabled: ${amp} }, () => {
        const l = crossEntropy(model.forward(x), y, { layout: 'BTV' });
        T.backward(l);
        return l;
      });
      opt.step();
      out.push(loss.item());
    });
    let sum = 0;
    for (const p of model.parameters()) for (const v of p.data()) sum += v;
    console.log(JSON.stringify({ losses: out, sum }));`;
  const env: NodeJS.ProcessEnv = { ...process.env, TRAINFORMER_BACKEND: 'native', TRAINFORMER_NUM_THREADS: '2', TRAINFORMER_OPENMP_POOL: openmpPool ? '1' : '0' };
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

for (const amp of [false, true]) {
  test(`TRAINFORMER_OPENMP_POOL=1 trains bit-identically to the pool (${amp ? 'bf16 autocast' : 'float32'}, 2 threads)`, { skip }, () => {
    const pool = train(amp, false), omp = train(amp, true);
    const parsed = JSON.parse(pool) as { losses: number[]; sum: number };
    assert.ok(parsed.losses.every(Number.isFinite) && Number.isFinite(parsed.sum), pool);
    assert.ok(parsed.losses[2] < parsed.losses[0], `loss did not fall: ${pool}`);
    assert.equal(omp, pool);
  });
}
