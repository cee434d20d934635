// fusedLinearCrossEntropy against the unfused path crossEntropy(hidden·Wᵀ) (+ zLoss): loss and
// gradients agree to 1e-5 relative on random cases with ignored targets, smoothing, class weights.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { crossEntropy, fusedLinearCrossEntropy, fusedLinearCrossEntropyWithParts, zLoss, type Reduction } from '../../src/losses/index.js';
import { assertClose, rand64 } from './helpers.js';

interface Case { N: number; C: number; V: number; chunk?: number; pre?: boolean; eps: number; ignore: number; weighted: boolean; z: number; reduction: Reduction }

function f32(shape: number[], gen: T.Generator, scale: number): T.Tensor {
  return T.randn(shape, { generator: gen, std: scale });
}

/** Loss and gradients of both paths on one random case (float32). */
function run(c: Case, seed: number) {
  const gen = new T.Generator(seed);
  const h0 = f32([c.N, c.C], gen, 1), w0 = f32([c.V, c.C], gen, 0.3);
  const ids = new Int32Array(c.N);
  for (let i = 0; i < c.N; i++) ids[i] = gen.random() < c.ignore ? -100 : Math.floor(gen.random() * c.V);
  const y = T.tensor(ids, [c.N], 'int32');
  const cw = c.weighted ? T.cast(rand64([c.V], gen, 0.2, 2), 'float32') : null;
  const g = c.reduction === 'none' ? f32([c.N], gen, 1) : undefined;
  const opts = { labelSmoothing: c.eps, weight: cw, reduction: c.reduction };
  const paths = [
    (h: T.Tensor, w: T.Tensor) => {
      const logits = T.matmul(h, T.transpose(w, 0, 1));
      const ce = crossEntropy(logits, y, { ...opts, layout: 'BTV' });
      return c.z ? T.add(ce, zLoss(logits, { coef: c.z, reduction: c.reduction })) : ce;
    },
    (h: T.Tensor, w: T.Tensor) => fusedLinearCrossEntropy(h, w, y, { ...opts, zLossCoef: c.z, chunkSize: c.chunk, precomputeGradients: c.pre }),
  ];
  return paths.map((f) => {
    const h = T.tensor(Float32Array.from(h0.data()), [c.N, c.C]).requiresGrad_();
    const w = T.tensor(Float32Array.from(w0.data()), [c.V, c.C]).requiresGrad_();
    const loss = f(h, w);
    T.backward(loss, g);
    return { loss: Array.from(loss.data()), dh: Array.from(h.grad!.data()), dw: Array.from(w.grad!.data()) };
  });
}

/** Elementwise relative agreement, with an absolute floor at 1e-5 of the largest magnitude (entries near 0). */
function agree(a: number[], b: number[], what: string): void {
  const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertClose(a, b, 1e-5, 1e-5 * scale, what);
}

describe('fusedLinearCrossEntropy matches crossEntropy(hidden · weightᵀ)', () => {
  const cases: Case[] = [];
  let k = 0;
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    for (const eps of [0, 0.1]) {
      for (const weighted of [false, true]) {
        cases.push({ N: 29 + k, C: 12, V: 41 + 3 * k, chunk: [5, 7, undefined][k % 3], eps, ignore: 0.25, weighted, z: k % 2 ? 1e-3 : 0, reduction });
        cases.push({ N: 50 + k, C: 9, V: 23 + k, chunk: [4, undefined, 11][k % 3], eps, ignore: 0.3, weighted, z: k % 2 ? 0 : 2e-3, reduction, pre: k % 3 === 0 ? false : undefined });
        k++;
      }
    }
  }
  for (const [i, c] of cases.entries()) {
    test(`case ${i}: N=${c.N} V=${c.V} chunk=${c.chunk ?? 'auto'} precompute=${c.pre ?? 'auto'} eps=${c.eps} weighted=${c.weighted} z=${c.z} ${c.reduction}`, () => {
      const [u, f] = run(c, 100 + i);
      agree(f.loss, u.loss, 'loss');
      agree(f.dh, u.dh, 'dHidden');
      agree(f.dw, u.dw, 'dWeight');
    });
  }
  for (const pre of [true, false]) {
    test(`every target ignored: mean is NaN and gradients are 0, as the unfused path (precomputeGradients ${pre})`, () => {
      const [u, f] = run({ N: 6, C: 4, V: 9, chunk: 4, pre, eps: 0.1, ignore: 1, weighted: true, z: 0, reduction: 'mean' }, 5);
      assert.ok(Number.isNaN(f.loss[0]) && Number.isNaN(u.loss[0]));
      assert.ok(f.dh.every((v) => v === 0) && f.dw.every((v) => v === 0));
      assert.deepEqual(f.dh, u.dh);
    });
  }
  test('retainGraph: a second backward recomputes and gives the same gradients', () => {
    const gen = new T.Generator(4);
    const h = f32([7, 5], gen, 1).requiresGrad_(), w = f32([9, 5], gen, 0.5).requiresGrad_();
    const y = T.tensor(Int32Array.from([1, 2, 3, -100, 5, 6, 7]), [7], 'int32');
    const loss = fusedLinearCrossEntropy(h, w, y, { chunkSize: 3, labelSmoothing: 0.1 });
    T.backward(loss, undefined, { retainGraph: true });
    const [dh1, dw1] = [Array.from(h.grad!.data()), Array.from(w.grad!.data())];
    h.grad = null;
    w.grad = null;
    T.backward(loss);
    assertClose(Array.from(h.grad!.data()), dh1, 1e-6, 1e-9, 'dHidden');
    assertClose(Array.from(w.grad!.data()), dw1, 1e-6, 1e-9, 'dWeight');
  });
  test('weight.grad accumulates over two backward passes (in place) like autograd', () => {
    const gen = new T.Generator(9);
    const h = f32([8, 5], gen, 1), w = f32([11, 5], gen, 0.5).requiresGrad_();
    const y = T.tensor(Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [8], 'int32');
    T.backward(fusedLinearCrossEntropy(h, w, y, { chunkSize: 3 }));
    const once = Array.from(w.grad!.data());
    T.backward(fusedLinearCrossEntropy(h, w, y, { chunkSize: 3 }));
    assertClose(Array.from(w.grad!.data()), once.map((v) => 2 * v), 1e-6, 1e-9, 'twice');
    assert.equal(h.grad, null);
  });
  test('under noGrad nothing is recorded and the value is unchanged', () => {
    const gen = new T.Generator(3);
    const h = f32([4, 3], gen, 1).requiresGrad_(), w = f32([6, 3], gen, 1).requiresGrad_();
    const y = T.tensor(Int32Array.from([0, 1, 2, 5]), [4], 'int32');
    const a = fusedLinearCrossEntropy(h, w, y);
    const b = T.noGrad(() => fusedLinearCrossEntropy(h, w, y));
    assert.equal(b.requiresGrad, false);
    assert.equal(a.item(), b.item());
  });
  test('WithParts: the cross-entropy and z-loss parts equal the separate losses', () => {
    const gen = new T.Generator(21);
    const h = f32([10, 6], gen, 1), w = f32([13, 6], gen, 1);
    const y = T.tensor(Int32Array.from([0, 1, 2, -100, 4, 5, 6, 7, 12, 3]), [10], 'int32');
    const p = fusedLinearCrossEntropyWithParts(h, w, y, { zLossCoef: 1e-2, labelSmoothing: 0.2, chunkSize: 4 });
    const logits = T.matmul(h, T.transpose(w, 0, 1));
    const ce = crossEntropy(logits, y, { labelSmoothing: 0.2 }).item(), z = zLoss(logits, { coef: 1e-2 }).item();
    assertClose([p.crossEntropy, p.zLoss, p.loss.item()], [ce, z, ce + z], 1e-5, 0, 'parts');
  });
});
