// The embedding's backward adds its rows straight into the weight's pending gradient (a tied LM
// head's dW) or its .grad, with no [V, C] temporary. Checked against central differences (float64),
// against the old path (untied copies of the weight, dense sum dW_head + dW_embedding) in float32,
// and against hand-computed sums for gradient accumulation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { fusedLinearCrossEntropy } from '../../src/losses/fused-linear-cross-entropy.js';
import { f64, gradcheck } from '../util/gradcheck.js';

const ids = (v: number[], shape: number[]) => T.tensor(Int32Array.from(v), shape, 'int32');

test('tied embedding + LM head: gradient matches central differences (dense first, then rows)', () => {
  // ids repeat (1 three times, 4 twice) and leave rows 2, 5 untouched.
  const tok = ids([1, 3, 1, 0, 4, 1, 4, 6], [2, 4]);
  const r = gradcheck((w) => T.linear(T.tanh(T.embedding(w, tok)), w), [f64([7, 3], 201)]);
  assert.ok(r.ok, r.detail);
});

test('rows and a dense gradient meeting in either order match central differences', () => {
  const tok = ids([2, 0, 2, 2, 1], [5]);
  const a = f64([5, 4], 202);
  a.requiresGrad = false;
  // add(embedding, a·W): both reach W from one node; mul(dense, rows) the other way round.
  const r1 = gradcheck((w) => T.add(T.embedding(w, tok), T.matmul(a, w)), [f64([4, 3], 203)]);
  assert.ok(r1.ok, r1.detail);
  const r2 = gradcheck((w) => T.mul(T.matmul(a, w), T.embedding(w, tok)), [f64([4, 3], 204)]);
  assert.ok(r2.ok, r2.detail);
  // Two embeddings of one table (rows meet rows), and an embedding of a non-leaf (a scaled table).
  const r3 = gradcheck((w) => T.mul(T.embedding(w, tok), T.embedding(w, ids([1, 1, 3, 0, 2], [5]))), [f64([4, 3], 205)]);
  assert.ok(r3.ok, r3.detail);
  const r4 = gradcheck((w) => T.embedding(T.mulScalar(w, 1.5), tok), [f64([4, 3], 206)]);
  assert.ok(r4.ok, r4.detail);
});

/** A float32 leaf holding a copy of t's values. */
const copy = (t: T.Tensor): T.Tensor => T.tensor(Float32Array.from(t.data()), [...t.shape]);

/** Counts of each id in [0, V). */
function counts(v: number[], V: number): number[] {
  const c = new Array<number>(V).fill(0);
  for (const i of v) c[i]++;
  return c;
}

test('float32 tied fused LM head: the old dense sum within float32 rounding, exact on rows used at most once', () => {
  T.scope(() => {
    const V = 11, C = 8;
    const tokens = [3, 7, 3, 0, 9, 3, 7, 1, 5, 10, 3, 2];
    const target = ids([7, 3, 0, 9, 3, 7, 1, 5, 10, 3, 2, 4], [12]);
    const w0 = T.randn([V, C], { generator: new T.Generator(7) });
    const run = (wEmb: T.Tensor, wHead: T.Tensor): void => {
      const h = T.tanh(T.embedding(wEmb, ids(tokens, [12])));
      T.backward(fusedLinearCrossEntropy(h, wHead, target));
    };
    const tied = copy(w0).requiresGrad_();
    run(tied, tied);
    // Old path: the two uses as separate leaves, summed densely in float32 afterwards.
    const emb = copy(w0).requiresGrad_(), head = copy(w0).requiresGrad_();
    run(emb, head);
    const got = tied.grad!.data(), ge = emb.grad!.data(), gh = head.grad!.data();
    // The rows themselves (gradient of the looked-up embeddings), for the rounding bound.
    const e = copy(T.noGrad(() => T.embedding(w0, ids(tokens, [12])))).requiresGrad_();
    T.backward(fusedLinearCrossEntropy(T.tanh(e), w0, target));
    const rowGrad = e.grad!.data();
    const c = counts(tokens, V);
    let repeatedChecked = 0;
    for (let v = 0; v < V; v++) {
      for (let j = 0; j < C; j++) {
        const k = v * C + j;
        const old = Math.fround(gh[k] + ge[k]);
        if (c[v] <= 1) assert.equal(got[k], old, `row ${v} (used ${c[v]}x) col ${j}`);
        else {
          // dW + r1 + r2 + … (new) against dW + (r1 + r2 + …) (old): c[v] roundings apart at most.
          let absSum = Math.abs(gh[k]);
          tokens.forEach((t, i) => { if (t === v) absSum += Math.abs(rowGrad[i * C + j]); });
          const tol = 2 * c[v] * 2 ** -24 * absSum;
          assert.ok(Math.abs(got[k] - old) <= tol, `row ${v} col ${j}: ${got[k]} vs ${old}`);
          repeatedChecked++;
        }
      }
    }
    assert.ok(repeatedChecked > 0);
  });
});

test('embedding rows add into an existing .grad (accumulation) and hooks run once per pass', () => {
  T.scope(() => {
    const w = T.zeros([4, 2]).requiresGrad_();
    let calls = 0;
    w.registerPostAccumulateGradHook(() => { calls++; });
    const g1 = T.tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
    T.backward(T.embedding(w, ids([2, 0, 2], [3])), g1);
    assert.deepEqual(Array.from(w.grad!.data()), [3, 4, 0, 0, 6, 8, 0, 0]);
    const kept = w.grad!.storage;
    const g2 = T.tensor(Float32Array.from([10, 20, 30, 40]), [2, 2]);
    T.backward(T.embedding(w, ids([3, 0], [2])), g2);
    assert.deepEqual(Array.from(w.grad!.data()), [33, 44, 0, 0, 6, 8, 10, 20]);
    assert.equal(w.grad!.storage, kept, 'accumulated in place');
    assert.equal(calls, 2);
    // The caller's gradients are untouched (rows are read, never adopted).
    assert.deepEqual(Array.from(g1.data()), [1, 2, 3, 4, 5, 6]);
  });
});
