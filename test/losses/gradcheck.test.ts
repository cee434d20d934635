// Float64 finite-difference checks of every loss's gradient (the js kernels compute in float64).
import { describe, test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import {
  bceWithLogits, crossEntropy, fusedLinearCrossEntropy, huberLoss, klDiv, l1Loss, l1Penalty, l2Penalty, mseLoss, nllLoss,
  smoothL1Loss, zLoss,
} from '../../src/losses/index.js';
import { gradCheck, ints, rand64, randn64 } from './helpers.js';

const gen = new T.Generator(2024);
const reductions = ['mean', 'sum', 'none'] as const;

describe('crossEntropy gradients (finite differences, float64)', () => {
  const w = rand64([5], gen, 0.2, 2);
  for (const reduction of reductions) {
    test(`NC, weight, ignoreIndex, labelSmoothing 0.2, ${reduction}`, () => {
      const y = ints([0, 4, -100, 2, 2, 1]);
      gradCheck(([x]) => crossEntropy(x, y, { weight: w, labelSmoothing: 0.2, reduction }), [randn64([6, 5], gen, 2)]);
    });
  }
  test('NCd [2, 4, 3, 2] with smoothing and an ignored position', () => {
    const y = ints([0, 1, 2, 3, -100, 0, 1, 1, 2, 2, 3, 0], [2, 3, 2]);
    const cw = rand64([4], gen, 0.5, 1.5);
    gradCheck(([x]) => crossEntropy(x, y, { labelSmoothing: 0.1, weight: cw }), [randn64([2, 4, 3, 2], gen)]);
  });
  test('BTV [2, 3, 7], ignoreIndex equal to a class id', () => {
    const y = ints([0, 6, 3, 3, 1, 2], [2, 3]);
    gradCheck(([x]) => crossEntropy(x, y, { layout: 'BTV', ignoreIndex: 3, reduction: 'none' }), [randn64([2, 3, 7], gen)]);
  });
  test('non-contiguous logits (a transposed view) and a 1-D logits vector', () => {
    const y = ints([2, 0, 1]);
    gradCheck(([x]) => crossEntropy(T.transpose(x, 0, 1), y, { labelSmoothing: 0.1 }), [randn64([4, 3], gen)]);
    gradCheck(([x]) => crossEntropy(x, T.tensor(Int32Array.from([3]), [], 'int32')), [randn64([5], gen)]);
  });
  test('a -inf logit at a non-target class keeps finite gradients', () => {
    const x = randn64([3, 4], gen);
    const y = ints([0, 1, 2]);
    const mask = T.tensor(Float64Array.from([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), [3, 4]);
    gradCheck(([v]) => crossEntropy(T.maskedFill(v, mask, -Infinity), y), [x]);
  });
  test('probability targets: gradients for logits and target, with smoothing and weight', () => {
    const cw = rand64([4], gen, 0.5, 2);
    gradCheck(([x, p]) => crossEntropy(x, p, { labelSmoothing: 0.3, weight: cw }),
      [randn64([3, 4], gen), rand64([3, 4], gen)]);
  });
  test('probability targets, BTV layout, none', () => {
    gradCheck(([x, p]) => crossEntropy(x, p, { layout: 'BTV', reduction: 'none' }), [randn64([2, 2, 3], gen), rand64([2, 2, 3], gen)]);
  });
});

describe('other losses (finite differences, float64)', () => {
  test('nllLoss [N, C, d] with weights and ignoreIndex', () => {
    const y = ints([0, 2, -100, 1, 1, 0], [2, 3]);
    const cw = rand64([3], gen, 0.5, 2);
    gradCheck(([x]) => nllLoss(x, y, { weight: cw }), [randn64([2, 3, 3], gen)]);
  });
  for (const reduction of reductions) {
    test(`zLoss ${reduction}`, () => {
      gradCheck(([x]) => zLoss(x, { coef: 0.3, reduction }), [randn64([2, 3, 5], gen, 3)]);
    });
  }
  test('bceWithLogits with weight and posWeight (input and target)', () => {
    const weight = rand64([4], gen, 0.5, 2), posWeight = rand64([4], gen, 0.5, 3);
    gradCheck(([x, y]) => bceWithLogits(x, y, { weight, posWeight }),
      [randn64([3, 4], gen, 3), rand64([3, 4], gen)]);
  });
  test('bceWithLogits none without weights', () => {
    gradCheck(([x, y]) => bceWithLogits(x, y, { reduction: 'none' }), [randn64([2, 5], gen, 3), rand64([2, 5], gen)]);
  });
  // Inputs keep |d| away from the kinks (0, β, δ), where the derivative jumps.
  const diffPair = (): T.Tensor[] => {
    const a = randn64([3, 4], gen, 2);
    const b = T.tensor(Float64Array.from(a.data(), (v, i) => v + (i % 2 ? 1 : -1) * (0.2 + 0.35 * (i % 7))), [3, 4]);
    return [a, b];
  };
  for (const reduction of reductions) {
    test(`mseLoss / l1Loss / smoothL1Loss / huberLoss ${reduction}`, () => {
      gradCheck(([a, b]) => mseLoss(a, b, { reduction }), diffPair());
      gradCheck(([a, b]) => l1Loss(a, b, { reduction }), diffPair());
      gradCheck(([a, b]) => smoothL1Loss(a, b, { reduction, beta: 0.9 }), diffPair());
      gradCheck(([a, b]) => huberLoss(a, b, { reduction, delta: 0.75 }), diffPair());
    });
  }
  test('mseLoss with broadcasting [3, 1] against [4]', () => {
    gradCheck(([a, b]) => mseLoss(a, b), [randn64([3, 1], gen), randn64([4], gen)]);
  });
  for (const reduction of ['none', 'sum', 'mean', 'batchmean'] as const) {
    test(`klDiv ${reduction}, probabilities and log-target`, () => {
      gradCheck(([x, t]) => klDiv(x, t, { reduction }), [randn64([2, 3, 4], gen), rand64([2, 3, 4], gen, 0.05, 1)]);
      gradCheck(([x, t]) => klDiv(x, t, { reduction, logTarget: true }), [randn64([2, 3, 4], gen), randn64([2, 3, 4], gen)]);
    });
  }
  test('l1Penalty and l2Penalty over several tensors', () => {
    const ps = [randn64([2, 3], gen), randn64([4], gen), randn64([1], gen)];
    gradCheck((xs) => l1Penalty(xs, 0.3), ps);
    gradCheck((xs) => l2Penalty(xs, 0.7), ps);
  });
});

describe('fusedLinearCrossEntropy gradients (finite differences, float64)', () => {
  for (const reduction of reductions) {
    for (const mode of ['precompute', 'tokens'] as const) {
      if (mode === 'precompute' && reduction === 'none') continue;
      test(`hidden and weight, smoothing, class weights, z-loss, ${reduction}, backward: ${mode}`, () => {
        const y = ints([0, 5, -100, 2, 2]);
        const cw = rand64([6], gen, 0.5, 2);
        gradCheck(([h, w]) => fusedLinearCrossEntropy(h, w, y, {
          chunkSize: 2, precomputeGradients: mode === 'precompute',
          labelSmoothing: 0.1, weight: cw, zLossCoef: 0.05, reduction,
        }), [randn64([5, 4], gen), randn64([6, 4], gen)]);
      });
    }
  }
  test('weight gradient returned through autograd (no in-place accumulation), [B, T, C] hidden', () => {
    const y = ints([1, 0, 3, -100], [2, 2]);
    gradCheck(([h, w]) => fusedLinearCrossEntropy(h, w, y, { chunkSize: 3, accumulateWeightGradInPlace: false }),
      [randn64([2, 2, 3], gen), randn64([4, 3], gen)]);
  });
});
