/**
 * `kill -9` of a bf16 training, for real: the CLI child is killed with SIGKILL two steps after its
 * checkpoint-4 was written (the work of steps 5 and 6 is lost), then `--resume`d; its final
 * model.safetensors and checkpoint-8's optimizer.safetensors must equal, byte for byte, those of the
 * same run that never stopped (the reference). The child is held at the progress line of step 6 by
 * test/util/block-at.ts and killed from here while it waits, so the point of the kill is the same at
 * every run (no timing luck). test/cli/kill9-experiment.sh does this by hand for float32;
 * test/train/mixed-precision.test.ts stops a bf16 run in-process (stopAfterSteps), not by a signal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliPath, cliScratch, trainformer } from './run-cli.js';

const here = dirname(fileURLToPath(import.meta.url));
const blockAt = resolve(here, '../util/block-at.js');

const s = cliScratch('tf-kill9-bf16-', {});
// Dropout and data order make the RNG and data position part of what a resume must restore.
const run = (outputDir: string) => s.config(s.lm({
  outputDir, bf16: true, seed: 11, model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0.1 },
  maxSteps: 8, saveSteps: 4, loggingSteps: 1, evalSteps: 100, learningRate: 3e-3, warmupSteps: 2, weightDecay: 0.1,
  generation: { maxNewTokens: 4 },
}));

test('bf16: SIGKILL two steps after checkpoint-4, then --resume, ends with the bytes of a run that never stopped', async () => {
  const ref = join(s.dir, 'reference');
  const r0 = trainformer(['train', '--config', run(ref)]);
  assert.equal(r0.code, 0, r0.stderr);

  const out = join(s.dir, 'killed');
  const cfg = run(out);
  const marker = join(s.dir, 'blocked.pid');
  const child = spawn(process.execPath, ['--import', blockAt, cliPath, 'train', '--config', cfg], {
    env: { ...process.env, TRAINFORMER_DEBUG: '', TF_TEST_BLOCK_AT: 'stderr:step 6/8 ', TF_TEST_BLOCK_MARKER: marker },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<NodeJS.Signals | number | null>((res) => child.on('exit', (code, sig) => res(sig ?? code)));
  for (let i = 0; !existsSync(marker); i++) {
    assert.ok(i < 1200, `the child never reached step 6 within 2 minutes; stderr:\n${err}`);
    await sleep(100);
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL', err);
  // Killed at step 6: checkpoint-4 is the latest; no final model.
  assert.deepEqual(readdirSync(out).filter((n) => n.startsWith('checkpoint-')), ['checkpoint-4']);
  assert.ok(!existsSync(join(out, 'model.safetensors')));
  assert.match(err, /^step 6\/8 /m);
  assert.ok(!/^step 7\/8 /m.test(err), err);

  const r1 = trainformer(['train', '--config', cfg, '--resume']);
  assert.equal(r1.code, 0, r1.stderr);
  assert.ok(r1.errLines.some((l) => l.startsWith(`resumed from ${join(out, 'checkpoint-4')} at step 4`)), r1.stderr);

  for (const f of ['model.safetensors', 'checkpoint-8/model.safetensors', 'checkpoint-8/optimizer.safetensors']) {
    const a = readFileSync(join(ref, f), 'hex'), b = readFileSync(join(out, f), 'hex');
    assert.ok(a.length > 0 && a.length === b.length, f);
    assert.ok(a === b, `${f} differs from the uninterrupted run's`);
  }
  // The train lines of metrics.jsonl (without wall-clock fields) are those of the reference, steps 1-8 once each.
  const lines = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.split === 'train').map(({ time: _t, elapsed: _e, tokensPerSecond: _s, ...r }) => JSON.stringify(r));
  const want = lines(ref);
  assert.equal(want.length, 8);
  assert.deepEqual(lines(out), want);
});
