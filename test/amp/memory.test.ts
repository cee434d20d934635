// Memory under autocast (issue 12): backward keeps 16-bit copies of linear inputs, not the float32
// ones, so a float32 input nothing else reads goes back to the pool as soon as it is consumed, and a
// training step under bf16 holds fewer tensor bytes at its peak than the same step in float32.
// Runs on whichever backend is active (npm test runs the suite on native and on js).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { autocast } from '../../src/amp/autocast.js';
import { GPT } from '../../src/models/gpt.js';
import { crossEntropy } from '../../src/losses/index.js';
import * as T from '../../src/tensor/index.js';

const randn = (shape: number[], seed: number): T.Tensor => T.randn(shape, { generator: new T.Generator(seed) });

test('linear under autocast saves a 16-bit copy of x: x is released at once and backward gives the same gradients', () => {
  const w = randn([6, 8], 1).requiresGrad_(true).keep(), b = randn([6], 2).requiresGrad_(true).keep();
  const grads = (release: boolean): { dw: number[]; db: number[]; freed: boolean; bytes: number } => T.scope(() => {
    let freed = false, bytes = 0;
    autocast({ dtype: 'bfloat16' }, () => {
      const x = T.mulScalar(randn([5, 8], 3), 1.5); // a temporary, read by the linear layer only
      const y = T.linear(x, w, b);
      if (release) {
        const before = T.memoryStats().liveBytes;
        freed = T.releaseIfUnsaved(x);
        bytes = before - T.memoryStats().liveBytes;
      }
      T.backward(T.sum(T.square(y)));
    });
    const r = { dw: Array.from(w.grad!.data()), db: Array.from(b.grad!.data()), freed, bytes };
    w.grad = null; b.grad = null;
    return r;
  });
  const kept = grads(false), released = grads(true);
  assert.equal(released.freed, true);
  assert.equal(released.bytes, 5 * 8 * 4, 'the float32 input (5×8 floats) went back to the pool');
  assert.deepEqual(released.dw, kept.dw);
  assert.deepEqual(released.db, kept.db);
});

test('linear in float32 saves x itself: releaseIfUnsaved refuses and the weight gradient is the column sums of x', () => {
  const w = randn([3, 4], 4).requiresGrad_(true).keep();
  T.scope(() => {
    const x = T.mulScalar(randn([2, 4], 5), 2);
    const y = T.linear(x, w);
    assert.equal(T.releaseIfUnsaved(x), false);
    T.backward(T.sum(y));
    // dW = Σ_rows g·x with g = 1: the column sums of x, computed independently.
    const xd = x.data(), want = [0, 1, 2, 3].map((j) => xd[j] + xd[4 + j]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) assert.ok(Math.abs(w.grad!.data()[i * 4 + j] - want[j]) < 1e-5);
  });
});

test('a GPT training step under bf16 autocast peaks below the float32 step in tensor bytes', () => {
  const model = new GPT({ vocabSize: 50, nLayer: 2, nHead: 2, nEmbd: 64, blockSize: 32, dropout: 0, seed: 7 });
  for (const p of model.parameters()) p.keep();
  const ids = T.randint(0, 50, [4, 33], new T.Generator(8)).keep();
  const peak = (amp: boolean): { bytes: number; loss: number } => {
    T.resetPeakMemoryStats();
    const base = T.memoryStats().liveBytes;
    const loss = T.scope(() => autocast({ dtype: 'bfloat16', enabled: amp }, () => {
      const x = ids.narrow(1, 0, 32).contiguous(), y = ids.narrow(1, 1, 32).contiguous();
      const l = crossEntropy(model.forward(x), y, { layout: 'BTV' });
      T.backward(l);
      return l.item();
    }));
    for (const p of model.parameters()) p.grad = null;
    return { bytes: T.memoryStats().peakLiveBytes - base, loss };
  };
  peak(false); // first-use allocations out of the way
  const f32 = peak(false), bf16 = peak(true);
  assert.ok(Math.abs(bf16.loss - f32.loss) < 0.05, `bf16 loss ${bf16.loss} vs float32 ${f32.loss}`);
  assert.ok(bf16.bytes < f32.bytes, `bf16 step peak ${bf16.bytes} B, float32 ${f32.bytes} B`);
});
