/**
 * The garbage-collection safety net of tensor storage (DESIGN.md "Memory") must not grow with the
 * number of steps: a storage released by its scope leaves the FinalizationRegistry at once. Before
 * (issue 19) every storage stayed registered until the garbage collector *and* a turn of the event
 * loop had run its cleanup, so a loop that never yields kept one registry cell plus its ledger per
 * buffer ever allocated (~30 KB per training step of a small model).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as T from '../../src/tensor/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** `steps` scopes of a few small ops each, synchronously (no turn of the event loop in between). */
function steps(n: number): void {
  const x = T.tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
  for (let i = 0; i < n; i++) T.scope(() => { T.sum(T.mul(T.add(x, x), x)); });
}

test('released storages leave the GC registry: heap stays flat over 100,000 scopes without yielding', () => {
  steps(1000); // warm up (pool, inline caches)
  gc();
  const before = process.memoryUsage().heapUsed;
  steps(100_000); // ~300,000 storages
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  // One registry cell and ledger per storage would be ≥ 300,000 × 40 bytes = 12 MB.
  assert.ok(grown < 3 * 1024 * 1024, `heap grew by ${(grown / 2 ** 20).toFixed(1)} MiB over 100,000 scopes`);
});

test('memoryStats().registered counts live storages only, not every storage ever allocated', () => {
  steps(10);
  const r0 = (T.memoryStats() as { registered?: number }).registered;
  assert.equal(typeof r0, 'number', 'memoryStats() reports registered');
  steps(10_000);
  const r1 = (T.memoryStats() as { registered?: number }).registered!;
  assert.ok(r1 <= r0! + 10, `registered ${r0} → ${r1} after 10,000 scopes`);
});
