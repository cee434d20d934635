// Tensor basics: views share storage, broadcasting, errors, autograd errors, RNG streams, memory scopes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { AutogradError, IndexError, ShapeError } from '../../src/errors.js';

test('views copy nothing and see writes', () => {
  const x = T.tensor(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3]);
  const views = [x.reshape(3, 2), x.transpose(0, 1), x.permute(1, 0), x.narrow(1, 1, 2), x.unsqueeze(0), x.unsqueeze(2).squeeze(2), x.narrow(0, 0, 1).expand(4, 3)];
  for (const v of views) assert.equal(v.storage, x.storage);
  assert.deepEqual(x.transpose(0, 1).toArray(), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(x.narrow(1, 1, 2).toArray(), [1, 2, 4, 5]);
  assert.deepEqual(x.narrow(0, 1, 1).expand(2, 3).toArray(), [3, 4, 5, 3, 4, 5]);
  (x.storage.data as Float32Array)[4] = 40;
  assert.equal(x.transpose(0, 1).toArray()[3], 40);
  // reshape of a non-contiguous view must copy (values in row-major order of the view)
  assert.deepEqual(x.transpose(0, 1).reshape(6).toArray(), [0, 3, 1, 40, 2, 5]);
});

test('broadcasting follows NumPy rules', () => {
  const a = T.tensor([[1], [2], [3]]); // [3,1]
  const b = T.tensor([10, 20]); // [2]
  const c = T.add(a, b);
  assert.deepEqual(c.shape, [3, 2]);
  assert.deepEqual(c.toArray(), [11, 21, 12, 22, 13, 23]);
  assert.deepEqual(T.broadcastShapes([8, 1, 6, 1], [7, 1, 5]), [8, 7, 6, 5]);
});

test('shape mismatches name both shapes', () => {
  assert.throws(() => T.matmul(T.zeros([2, 3]), T.zeros([4, 5])), (e: Error) => e instanceof ShapeError && /\[2, 3\]/.test(e.message) && /\[4, 5\]/.test(e.message));
  assert.throws(() => T.add(T.zeros([2, 3]), T.zeros([4])), (e: Error) => e instanceof ShapeError && /\[2, 3\]/.test(e.message) && /\[4\]/.test(e.message));
  assert.throws(() => T.matmul(T.zeros([2, 2, 3]), T.zeros([3, 3, 1])), ShapeError);
});

test('out-of-range gather index names the index and the dimension size', () => {
  const idx = T.tensor(Int32Array.from([0, 7]), [1, 2], 'int32');
  assert.throws(() => T.gather(T.zeros([1, 5]), 1, idx), (e: Error) => e instanceof IndexError && /index 7/.test(e.message) && /size 5/.test(e.message));
  assert.throws(() => T.embedding(T.zeros([4, 2]), T.tensor(Int32Array.from([-1]), [1], 'int32')), (e: Error) => e instanceof IndexError && /-1/.test(e.message) && /size 4/.test(e.message));
});

test('autograd: accumulation, zeroing, freed graph and non-scalar errors', () => {
  const x = T.tensor([1, 2, 3]).requiresGrad_();
  const y = T.sum(T.mul(x, x));
  T.backward(y, undefined, { retainGraph: true });
  T.backward(y);
  assert.deepEqual(x.grad!.toArray(), [4, 8, 12]); // 2x, twice
  assert.throws(() => T.backward(y), AutogradError); // graph freed by the second call
  assert.throws(() => T.backward(T.mul(x, 2)), (e: Error) => e instanceof AutogradError && /scalar/.test(e.message));
  const z = T.mul(x, 2);
  T.backward(z, T.tensor([1, 0, 1]));
  assert.deepEqual(x.grad!.toArray(), [6, 8, 14]);
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(T.noGrad(() => T.mul(x, 3)).requiresGrad, false);
});

test('seeded RNG streams are reproducible and state round-trips', () => {
  const a = new T.Generator(1234), b = new T.Generator(1234);
  const s1 = Array.from({ length: 5 }, () => a.random());
  assert.deepEqual(s1, Array.from({ length: 5 }, () => b.random()));
  const st = a.getState();
  const n1 = [a.normal(), a.normal(), a.randint(0, 10)];
  const c = new T.Generator(0);
  c.setState(st);
  assert.deepEqual([c.normal(), c.normal(), c.randint(0, 10)], n1);
  // statistical properties with known answers (6-sigma bounds)
  const g = new T.Generator(7);
  const n = 20000;
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) { const v = g.normal(); s += v; s2 += v * v; }
  assert.ok(Math.abs(s / n) < 6 / Math.sqrt(n));
  assert.ok(Math.abs(s2 / n - 1) < 6 * Math.sqrt(2 / n));
  const p = g.randperm(100);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
});

test('scopes return buffers to the pool: live memory stays flat across steps', () => {
  const w = T.randn([16, 16]).requiresGrad_().keep();
  const step = (): number => T.scope(() => {
    const x = T.randn([8, 16]);
    const loss = T.mean(T.square(T.tanh(T.matmul(x, w))));
    T.backward(loss);
    return loss.item();
  });
  step();
  const before = T.memoryStats();
  for (let i = 0; i < 20; i++) step();
  const after = T.memoryStats();
  assert.equal(after.liveBuffers, before.liveBuffers);
  assert.equal(after.liveBytes, before.liveBytes);
  // a tensor that escaped its scope without keep() is an error to read, never stale data
  let leaked: T.Tensor | null = null;
  T.scope(() => { leaked = T.ones([3]); return 0; });
  assert.throws(() => leaked!.toArray(), AutogradError);
});

test('bfloat16/float16 rounding of float32 through cast helpers', async () => {
  const { f32ToBf16Bits, f32ToF16Bits } = await import('../../src/amp/cast.js') as unknown as Record<string, (x: number) => number>;
  if (typeof f32ToBf16Bits === 'function') {
    assert.equal(f32ToBf16Bits(1), 0x3f80);
    assert.equal(f32ToF16Bits(1), 0x3c00);
  }
});
