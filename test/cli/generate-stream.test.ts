/**
 * Generation streams (issue 19): `trainformer generate --maxNewTokens 1e9` used to allocate without
 * bound and print nothing; now tokens are printed as they are drawn, the model holds only its
 * context window (cropped to blockSize, so memory is bounded), and the greedy tokens are those of a
 * plain recomputation over the last blockSize tokens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../src/models/gpt.js';
import * as T from '../../src/tensor/index.js';
import { firstOutput, trainformer } from './run-cli.js';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-generate-'));

test('generate --maxNewTokens 1e9 prints tokens as they come', async () => {
  const text = join(dir, 'text.txt');
  writeFileSync(text, 'to be or not to be, that is the question.\n'.repeat(40));
  const cfg = join(dir, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({
    task: 'lm', outputDir: join(dir, 'run'), data: { train: text, blockSize: 8 }, model: { nLayer: 1, nHead: 2, nEmbd: 16 },
    learningRate: 1e-2, perDeviceTrainBatchSize: 4, maxSteps: 4, evalSteps: 100, disableTqdm: true, generation: { prompt: 'to ', maxNewTokens: 4 },
  }));
  assert.equal(trainformer(['train', '--config', cfg]).code, 0);
  // 40 characters after the prompt long before 1e9 tokens could be generated; the process is then killed.
  const r = await firstOutput(['generate', join(dir, 'run'), '--prompt', 'to ', '--maxNewTokens', '1e9'], (out) => out.length >= 43, HANG_GUARD_MS);
  assert.equal(r.exited, null, `the command ended: ${r.stderr}`);
  assert.ok(r.stdout.startsWith('to '), r.stdout);
});

test('generate piped into a reader that closes early (`| head -c 5`) exits 0 without a stack', () => {
  // Uses the run trained by the first test.
  const main = join(process.cwd(), 'dist/src/cli/main.js');
  const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${main}" generate "${join(dir, 'run')}" --prompt 'to ' --maxNewTokens 200000 | head -c 5 >/dev/null`], { encoding: 'utf8', timeout: HANG_GUARD_MS });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!/EPIPE|at .*main\.js/.test(r.stderr), r.stderr);
});

test('GPT.generateStream: greedy tokens equal a recomputation over the last blockSize tokens; memory stays flat', () => {
  const model = new GPT({ vocabSize: 13, nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 6, seed: 5 });
  model.eval();
  const prompt = [1, 2, 3];
  const want = [...prompt];
  for (let i = 0; i < 20; i++) {
    const ctx = want.slice(-6);
    const next = T.scope(() => T.noGrad(() => {
      const logits = model.forward(T.tensor(Int32Array.from(ctx), [1, ctx.length], 'int32')).data();
      const row = logits.subarray((ctx.length - 1) * 13, ctx.length * 13);
      let best = 0;
      for (let v = 1; v < 13; v++) if (row[v] > row[best]) best = v;
      return best;
    }));
    want.push(next);
  }
  const got = [...prompt];
  const live: number[] = [];
  const ids = T.tensor(Int32Array.from(prompt), [1, 3], 'int32');
  for (const next of model.generateStream(ids, { maxNewTokens: 1e9, temperature: 0 })) {
    got.push(next[0]);
    live.push(T.memoryStats().liveBuffers);
    if (got.length === want.length) break; // leaving the loop ends the generator and frees its caches
  }
  assert.deepEqual(got, want);
  assert.ok(live[live.length - 1] <= live[10], `live buffers while streaming: ${live.join(', ')}`);
});
