// Gradient accumulation: 4 micro-batches with losses scaled by 1/4 give the gradient of one batch
// 4× larger (to 1e-6), and the same parameters after the optimiser step.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValueError } from '../../src/errors.js';
import { accumulationScale, accumulationWeights, AdamW, type Optimizer, SGD } from '../../src/optim/index.js';
import * as T from '../../src/tensor/index.js';
import { cloneMlp, makeBatch, makeMlp, maxAbsDiff, mlpLoss, mlpParams } from './helpers.js';

const N = 4, MICRO = 5;

function compare(makeOpt: (ps: T.Tensor[]) => Optimizer<{ lr: number }>, label: string): void {
  const big = makeMlp(21);
  const acc = cloneMlp(big);
  const optBig = makeOpt(mlpParams(big));
  const optAcc = makeOpt(mlpParams(acc));
  const gen = new T.Generator(22);
  for (let step = 0; step < 3; step++) {
    const { x, y } = makeBatch(gen, N * MICRO);
    T.scope(() => T.backward(mlpLoss(big, x, y)));
    for (let k = 0; k < N; k++) {
      T.scope(() => {
        const xk = x.narrow(0, k * MICRO, MICRO), yk = y.narrow(0, k * MICRO, MICRO);
        T.backward(T.mulScalar(mlpLoss(acc, xk, yk), accumulationScale(N)));
      });
    }
    mlpParams(big).forEach((p, i) => {
      const q = mlpParams(acc)[i];
      const d = maxAbsDiff(p.grad!.data(), q.grad!.data());
      assert.ok(d <= 1e-6, `${label} step ${step} grad ${i}: max |diff| ${d}`);
    });
    optBig.step();
    optAcc.step();
    optBig.zeroGrad();
    optAcc.zeroGrad();
    mlpParams(big).forEach((p, i) => {
      const d = maxAbsDiff(p.data(), mlpParams(acc)[i].data());
      assert.ok(d <= 1e-6, `${label} step ${step} param ${i}: max |diff| ${d}`);
    });
  }
}

test('4 accumulated micro-batches = one 4× batch: gradients and parameters after SGD and AdamW steps to 1e-6', () => {
  compare((ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }), 'SGD');
  compare((ps) => new AdamW(ps, { lr: 0.01, weightDecay: 0.1 }), 'AdamW');
});

test('accumulated gradient matches a central finite difference of the full-batch loss (float64)', () => {
  const gen = new T.Generator(5);
  const m = makeMlp(6);
  const m64 = { w1: T.cast(m.w1.detach(), 'float64').requiresGrad_(), b1: T.cast(m.b1.detach(), 'float64').requiresGrad_(),
    w2: T.cast(m.w2.detach(), 'float64').requiresGrad_(), b2: T.cast(m.b2.detach(), 'float64').requiresGrad_() };
  const { x, y } = makeBatch(gen, N * MICRO);
  const x64 = T.cast(x, 'float64'), y64 = T.cast(y, 'float64');
  for (let k = 0; k < N; k++) {
    T.backward(T.mulScalar(mlpLoss(m64, x64.narrow(0, k * MICRO, MICRO), y64.narrow(0, k * MICRO, MICRO)), accumulationScale(N)));
  }
  const w = m64.w1.data() as Float64Array;
  const h = 1e-6;
  for (const i of [0, 5, 11, 23]) {
    const orig = w[i];
    w[i] = orig + h;
    const up = T.noGrad(() => mlpLoss(m64, x64, y64).item());
    w[i] = orig - h;
    const down = T.noGrad(() => mlpLoss(m64, x64, y64).item());
    w[i] = orig;
    const fd = (up - down) / (2 * h);
    assert.ok(Math.abs(m64.w1.grad!.data()[i] - fd) <= 1e-7, `w1[${i}]: ${m64.w1.grad!.data()[i]} vs ${fd}`);
  }
});

test('accumulationScale / accumulationWeights: 1/n, count shares; bad input throws ValueError', () => {
  assert.equal(accumulationScale(4), 0.25);
  assert.deepEqual(accumulationWeights([10, 30, 0]), [0.25, 0.75, 0]);
  assert.deepEqual(accumulationWeights([0, 0]), [0, 0]);
  assert.throws(() => accumulationScale(0), (e: unknown) => e instanceof ValueError && /gradientAccumulationSteps/.test(e.message));
  assert.throws(() => accumulationScale(2.5), ValueError);
  assert.throws(() => accumulationWeights([]), ValueError);
  assert.throws(() => accumulationWeights([1, -1]), (e: unknown) => e instanceof ValueError && /counts\[1\]/.test(e.message));
});
