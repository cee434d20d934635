// Data-parallel training over MPI: 2 ranks × batch 4 must train exactly as 1 process × batch 8 (same
// seed, 50 AdamW steps, accumulation 2, sequences of unequal lengths padded with ignoreIndex). The
// two runs sum float32 gradients in different orders, so "exactly" means within float32 rounding:
// each parameter tensor within 1e-6 relative (‖a − b‖ / ‖b‖), each logged loss within 1e-6
// relative. A 1-process run with batch 4 (half the data per step) shows the check can fail.
// ZeRO-1 must give the very same parameters as plain DDP with half the optimizer state per rank.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { maxLossDifference, maxRelativeDifference, mpirunArgs, mpirunMissing, readResult, run, worker } from './helpers.js';

const skip = mpirunMissing();
const dir = mkdtempSync(path.join(tmpdir(), 'trainformer-ddp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('2 ranks × batch 4 train as 1 process × batch 8; ZeRO-1 halves optimizer state', { skip: skip ?? false }, async () => {
  const one = path.join(dir, 'one.json'), two = path.join(dir, 'two.json'), zero = path.join(dir, 'zero.json'), half = path.join(dir, 'half.json');
  await run(process.execPath, [worker, '--worker', '--batch', '8', '--out', one]);
  await run('mpirun', [...mpirunArgs(2), process.execPath, worker, '--worker', '--batch', '4', '--out', two]);
  await run('mpirun', [...mpirunArgs(2), process.execPath, worker, '--worker', '--batch', '4', '--zero', '--out', zero]);
  await run(process.execPath, [worker, '--worker', '--batch', '4', '--out', half]);
  const a = readResult(one), b = readResult(two), z = readResult(zero), h = readResult(half);
  assert.equal(b.size, 2);
  assert.equal(b.losses.length, 50);
  const dp = maxRelativeDifference(b.params, a.params);
  assert.ok(dp.value <= 1e-6, `parameters differ by ${dp.value.toExponential(2)} relative (${dp.name})`);
  const dl = maxLossDifference(b.losses, a.losses);
  assert.ok(dl <= 1e-6, `logged losses differ by ${dl.toExponential(2)} relative`);
  // The control: another global batch trains differently, far beyond the tolerance.
  assert.ok(maxRelativeDifference(h.params, a.params).value > 1e-3);
  // ZeRO-1: every update computed by the parameter's owner from the same reduced gradients.
  assert.deepEqual(z.params, b.params);
  assert.deepEqual(z.losses, b.losses);
  const [r0, r1] = z.stateBytes;
  assert.equal(r0 + r1, a.stateBytes[0], 'the shards together hold the whole state');
  for (const r of [r0, r1]) assert.ok(Math.abs(r / a.stateBytes[0] - 0.5) < 0.05, `a rank holds ${r} of ${a.stateBytes[0]} bytes`);
  process.stdout.write(`# ddp: params rel diff ${dp.value.toExponential(2)} (${dp.name}), losses ${dl.toExponential(2)}; ZeRO-1 state per rank ${r0} + ${r1} of ${a.stateBytes[0]} bytes\n`);
});
