// Gradient buffers: backward lets a leaf keep a gradient buffer instead of copying it, and returns
// consumed gradients to the pool early. Each leaf's .grad must still be its own buffer with the
// right values (hand-computed), and nothing released may be read again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';

test('add hands one gradient to two leaves: each gets its own buffer', () => {
  T.scope(() => {
    const x = T.tensor(Float32Array.from([1, 2, 3]), [3]).requiresGrad_();
    const y = T.tensor(Float32Array.from([4, 5, 6]), [3]).requiresGrad_();
    const g = T.tensor(Float32Array.from([0.5, -1, 2]), [3]);
    T.backward(T.add(x, y), g);
    assert.deepEqual(Array.from(x.grad!.data()), [0.5, -1, 2]);
    assert.deepEqual(Array.from(y.grad!.data()), [0.5, -1, 2]);
    assert.notEqual(x.grad!.storage, y.grad!.storage);
    assert.notEqual(x.grad!.storage, g.storage, 'the caller\'s gradient is never adopted');
    (x.grad!.data() as Float32Array)[0] = 100;
    assert.equal(y.grad!.data()[0], 0.5);
    assert.equal(g.data()[0], 0.5);
  });
});

test('a leaf used twice sums both contributions; a second backward accumulates in place', () => {
  T.scope(() => {
    const x = T.tensor(Float32Array.from([1, -2]), [2]).requiresGrad_();
    // d/dx sum(x·x + 3x) = 2x + 3
    const f = () => T.sum(T.add(T.mul(x, x), T.mul(x, T.scalar(3))));
    T.backward(f());
    assert.deepEqual(Array.from(x.grad!.data()), [5, -1]);
    const st = x.grad!.storage;
    T.backward(f());
    assert.deepEqual(Array.from(x.grad!.data()), [10, -2]);
    assert.equal(x.grad!.storage, st);
  });
});

test('linear-style x · wᵀ: the weight gradient is contiguous, w-shaped and equals gᵀ x', () => {
  T.scope(() => {
    const gen = new T.Generator(7);
    const x = T.randn([2, 3, 4], { generator: gen });
    const w = T.randn([5, 4], { generator: gen }).requiresGrad_();
    const g = T.randn([2, 3, 5], { generator: gen });
    T.backward(T.matmul(x, T.transpose(w, 0, 1)), g);
    const dw = w.grad!;
    assert.deepEqual(dw.shape, [5, 4]);
    assert.ok(dw.isContiguous());
    const xd = x.data(), gd = g.data(), d = dw.data();
    for (let o = 0; o < 5; o++) {
      for (let i = 0; i < 4; i++) {
        let s = 0;
        for (let r = 0; r < 6; r++) s += gd[r * 5 + o] * xd[r * 4 + i];
        assert.ok(Math.abs(d[o * 4 + i] - s) <= 1e-5 * (1 + Math.abs(s)), `dw[${o}, ${i}] = ${d[o * 4 + i]}, expected ${s}`);
      }
    }
  });
});

test('gradients kept by leaves survive the scope; the step\'s other buffers are released', () => {
  const w = T.tensor(Float32Array.from([1, 2, 3, 4]), [2, 2]).requiresGrad_().keep();
  const x = T.tensor(Float32Array.from([1, 1, 2, 0]), [2, 2]); // wraps the array: not pooled, not scoped
  const before = T.memoryStats().liveBuffers;
  T.scope(() => {
    T.backward(T.sum(T.relu(T.matmul(x, T.transpose(w, 0, 1)))));
  });
  // x·wᵀ = [[3, 7], [2, 6]] (all positive), so dw = 1ᵀ x summed over rows = [[3, 1], [3, 1]].
  assert.deepEqual(Array.from(w.grad!.data()), [3, 1, 3, 1]);
  assert.equal(T.memoryStats().liveBuffers, before + 1, 'only w.grad outlives the scope');
});
