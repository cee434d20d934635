/**
 * The buffer pool under shapes that change every step (length-grouped text batches): it must reuse
 * buffers across lengths instead of keeping one set per length (examples/eng-fra.json's resident
 * size grew 1.5 → 3.5 GB over 800 steps with exact-length pooling), and a reused buffer must behave
 * exactly like a fresh one (length, zeroing, values of ops).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { poolSizeClass } from '../../src/tensor/buffer-pool.js';
import { getBackend } from '../../src/backend/index.js';

test('poolSizeClass: ≥ n, at most 1/16 above n beyond 4096 elements, exact below, monotone', () => {
  let prev = 0;
  for (let n = 1; n < 300_000; n += 1 + Math.floor(n / 97)) {
    const c = poolSizeClass(n);
    assert.ok(c >= n && c >= prev, `class of ${n} is ${c}`);
    if (n <= 4096) assert.equal(c, n);
    else assert.ok(c <= n * (1 + 1 / 16), `class of ${n} is ${c}`);
    prev = c;
  }
  // Known values: 5000 lies in [4096, 8192), steps of 256 → 5120; 2^20 + 1 → steps of 65,536.
  assert.equal(poolSizeClass(5000), 5120);
  assert.equal(poolSizeClass(2 ** 20 + 1), 2 ** 20 + 65_536);
});

test('a step of ever-new lengths does not grow the pool by one buffer per length', () => {
  T.emptyPool();
  // 2,000 steps, each holding three buffers of a length drawn from 20,000–40,000 floats at once
  // (like a batch's activations); 20,000 distinct lengths pooled exactly would keep every one of them.
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let step = 0; step < 2000; step++) {
    const n = 20_000 + Math.floor(rand() * 20_000);
    T.scope(() => { for (let k = 0; k < 3; k++) T.allocStorage('float32', n + k); });
  }
  const pooled = T.memoryStats().pooledBytes;
  // Best-fit reuse needs at most three buffers per size class between 20,000 and 40,000 floats
  // (classes 20,480 … 32,768 in steps of 1,024 and 34,816 … 40,960 in steps of 2,048: 17 classes),
  // each ≤ 40,960 floats; exact-length pooling would keep ~720 MB.
  const bound = 3 * 17 * 40_960 * 4;
  assert.ok(pooled <= bound, `pool holds ${pooled} bytes, bound ${bound}`);
  T.emptyPool();
});

test('a buffer reused from a larger class has the requested length and is zeroed on request', () => {
  T.emptyPool();
  T.scope(() => { T.allocStorage('float32', 30_000).data.fill(5); });
  const s = T.allocStorage('float32', 17_000, true); // served from the 30,720-float buffer
  assert.equal(s.data.length, 17_000);
  assert.equal(s.length, 17_000);
  assert.ok(s.data.every((v) => v === 0));
  const u = T.allocStorage('float32', 17_000); // nothing pooled now: a fresh buffer
  assert.equal(u.data.length, 17_000);
  s.release(); u.release();
  T.emptyPool();
});

test('ops on tensors whose buffers come from larger pooled ones give the same values as fresh ones', () => {
  const a = Array.from({ length: 6000 }, (_, i) => Math.sin(i));
  const run = () => T.scope(() => {
    const x = T.tensor(new Float32Array(a), [60, 100]);
    const y = T.matmul(x, T.transpose(x, 0, 1));
    return T.sum(T.mul(y, y), 1).toArray();
  });
  T.emptyPool();
  const fresh = run();
  T.scope(() => { for (let k = 0; k < 8; k++) T.allocStorage('float32', 11_000 + k * 1000).data.fill(Number.NaN); });
  const reused = run();
  assert.deepEqual(reused, fresh);
  T.emptyPool();
});

// Large buffers start on a 64-byte cache line on a backend that can tell where one is (native):
// oneDNN's bf16 products ran up to 2.7x slower on Node's own buffers, 16 bytes past a line.
test('large pooled buffers start on a 64-byte boundary (native), small ones are left as they come', () => {
  const alignOffset = getBackend().alignOffset;
  T.emptyPool();
  const big = T.allocStorage('float32', 50_000, true);
  const half = T.allocStorage('bfloat16', 40_000, true);
  const small = T.allocStorage('float32', 1000);
  assert.equal(big.data.length, 50_000);
  assert.ok(big.data.every((v) => v === 0));
  assert.ok(half.data.every((v) => v === 0));
  if (alignOffset) {
    for (const d of [big.data, half.data]) {
      const off = alignOffset(d.buffer as ArrayBuffer);
      assert.ok(off >= 0 && off < 64 && off % 8 === 0, `alignOffset ${off}`);
      assert.equal(d.byteOffset, off, 'the view starts at the buffer\'s first 64-byte boundary');
      assert.ok(d.buffer.byteLength >= d.byteOffset + d.byteLength);
    }
  } else {
    assert.equal(big.data.byteOffset, 0);
  }
  assert.equal(small.data.byteOffset, 0);
  big.release(); half.release(); small.release();
  T.emptyPool();
});
