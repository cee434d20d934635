// Post-accumulate gradient hooks: each leaf's hook runs once per backward, after its whole
// gradient of the pass is in .grad (hand-computed values), leaves nearer the loss first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValueError } from '../../src/errors.js';
import * as T from '../../src/tensor/index.js';

test('a leaf used twice: the hook sees the summed gradient, once per backward', () => {
  T.scope(() => {
    const x = T.tensor(Float32Array.from([1, -2]), [2]).requiresGrad_();
    const seen: number[][] = [];
    x.registerPostAccumulateGradHook((t) => seen.push(Array.from(t.grad!.data())));
    // d/dx sum(x·x + 3x) = 2x + 3, computed through two uses of x
    const f = () => T.sum(T.add(T.mul(x, x), T.mul(x, T.scalar(3))));
    T.backward(f());
    assert.deepEqual(seen, [[5, -1]]);
    T.backward(f()); // accumulation: the hook sees the running total
    assert.deepEqual(seen, [[5, -1], [10, -2]]);
  });
});

// Parameters enter ops after the activation (x·w, h + b, linear(h, W)), as in every layer here.
test('hooks run in reverse order of use: the last layer\'s weight first', () => {
  T.scope(() => {
    const w1 = T.tensor(Float32Array.from([2]), [1]).requiresGrad_();
    const w2 = T.tensor(Float32Array.from([3]), [1]).requiresGrad_();
    const x = T.tensor(Float32Array.from([5]), [1]);
    const order: string[] = [];
    const grads: Record<string, number> = {};
    w1.registerPostAccumulateGradHook((t) => { order.push('w1'); grads.w1 = t.grad!.item(); });
    w2.registerPostAccumulateGradHook((t) => { order.push('w2'); grads.w2 = t.grad!.item(); });
    // y = (x · w1) · w2: dy/dw2 = w1·x = 10, dy/dw1 = w2·x = 15
    T.backward(T.sum(T.mul(T.mul(x, w1), w2)));
    assert.deepEqual(order, ['w2', 'w1']);
    assert.deepEqual(grads, { w1: 15, w2: 10 });
  });
});

test('remove() unregisters; a hook on a non-leaf or a tensor without grad is refused', () => {
  T.scope(() => {
    const x = T.tensor(Float32Array.from([1]), [1]).requiresGrad_();
    let calls = 0;
    const h = x.registerPostAccumulateGradHook(() => calls++);
    T.backward(T.sum(T.mul(x, x)));
    h.remove();
    T.backward(T.sum(T.mul(x, x)));
    assert.equal(calls, 1);
    assert.throws(() => T.mul(x, x).registerPostAccumulateGradHook(() => {}), ValueError);
    assert.throws(() => T.tensor(Float32Array.from([1]), [1]).registerPostAccumulateGradHook(() => {}), ValueError);
  });
});
