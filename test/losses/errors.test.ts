// Bad input: each loss throws the right TrainformerError subclass, naming the option, the shapes,
// or the position and value.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IndexError, ShapeError, ValueError } from '../../src/errors.js';
import * as T from '../../src/tensor/index.js';
import {
  bceWithLogits, crossEntropy, fusedLinearCrossEntropy, huberLoss, klDiv, l1Penalty, mseLoss, nllLoss, Objective,
  smoothL1Loss, zLoss,
} from '../../src/losses/index.js';
import { ints } from './helpers.js';

const x = T.zeros([3, 4]);
const y = ints([0, 1, 2]);

function throwsMatching(fn: () => unknown, cls: new (...a: never[]) => Error, ...parts: (string | RegExp)[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    for (const p of parts) assert.match((e as Error).message, typeof p === 'string' ? new RegExp(p.replace(/[[\]().*+?^$|\\]/g, '\\$&')) : p);
    return true;
  });
}

describe('crossEntropy bad input', () => {
  test('target outside [0, C): position and value', () => {
    throwsMatching(() => crossEntropy(x, ints([0, 4, 1])), IndexError, 'target 4', 'position [1]', '[0, 4)');
    throwsMatching(() => crossEntropy(T.zeros([2, 4, 3]), ints([0, 1, 2, 3, -7, 0], [2, 3])), IndexError, 'target -7', 'position [1, 1]');
    throwsMatching(() => crossEntropy(x, ints([0, -100, 1]), { ignoreIndex: 3 }), IndexError, 'target -100', 'ignoreIndex is 3');
  });
  test('mismatched shapes name both', () => {
    throwsMatching(() => crossEntropy(x, ints([0, 1])), ShapeError, '[3, 4]', '[2]');
    throwsMatching(() => crossEntropy(T.zeros([2, 3, 5]), ints([0, 1, 2, 3, 4, 0], [2, 3])), ShapeError, '[2, 3, 5]', '[2, 5]');
    throwsMatching(() => crossEntropy(x, T.zeros([3, 5])), ShapeError, '[3, 4]', '[3, 5]');
  });
  test('options are named', () => {
    throwsMatching(() => crossEntropy(x, y, { weight: T.ones([3]) }), ShapeError, "'weight'", '[4]', '[3]');
    throwsMatching(() => crossEntropy(x, y, { reduction: 'avg' as never }), ValueError, "'reduction'", 'avg');
    throwsMatching(() => crossEntropy(x, y, { labelSmoothing: -0.1 }), ValueError, "'labelSmoothing'", '-0.1');
    throwsMatching(() => crossEntropy(x, y, { labelSmoothing: 1.5 }), ValueError, "'labelSmoothing'", '1.5');
    throwsMatching(() => crossEntropy(x, y, { labelSmoothing: NaN }), ValueError, "'labelSmoothing'");
    throwsMatching(() => crossEntropy(x, y, { layout: 'TBV' as never }), ValueError, "'layout'", 'TBV');
    throwsMatching(() => crossEntropy(x, y, { ignoreIndex: 0.5 }), ValueError, "'ignoreIndex'");
    throwsMatching(() => crossEntropy(ints([1, 2]), y), ValueError, "'logits'", 'int32');
  });
});

describe('other losses bad input', () => {
  test('nllLoss', () => {
    throwsMatching(() => nllLoss(x, ints([0, 9, 1])), IndexError, 'target 9', 'position [1]');
    throwsMatching(() => nllLoss(x, ints([0, 1, 2]), { weight: T.ones([5]) }), ShapeError, "'weight'");
    throwsMatching(() => nllLoss(x, ints([0, 1, 2, 3])), ShapeError, '[3, 4]', '[4]');
  });
  test('zLoss', () => {
    throwsMatching(() => zLoss(x, { coef: NaN }), ValueError, "'coef'");
    throwsMatching(() => zLoss(x, { reduction: 'batchmean' as never }), ValueError, "'reduction'");
  });
  test('bceWithLogits', () => {
    throwsMatching(() => bceWithLogits(x, T.zeros([3])), ShapeError, '[3]', '[3, 4]');
    throwsMatching(() => bceWithLogits(x, x, { posWeight: T.ones([3]) }), ShapeError, "'posWeight'");
    throwsMatching(() => bceWithLogits(x, x, { weight: T.ones([2, 4]) }), ShapeError, "'weight'");
  });
  test('regression losses', () => {
    throwsMatching(() => mseLoss(x, T.zeros([3, 5])), ShapeError, '[3, 4]', '[3, 5]');
    throwsMatching(() => smoothL1Loss(x, x, { beta: -1 }), ValueError, "'beta'", '-1');
    throwsMatching(() => huberLoss(x, x, { delta: 0 }), ValueError, "'delta'", '0');
    throwsMatching(() => klDiv(x, x, { reduction: 'avg' as never }), ValueError, "'reduction'", 'batchmean');
  });
  test('penalties', () => {
    throwsMatching(() => l1Penalty([x, ints([1])]), ValueError, 'params[1]', 'int32');
    throwsMatching(() => l1Penalty([x], Infinity), ValueError, "'lambda'");
  });
  test('fusedLinearCrossEntropy', () => {
    const h = T.zeros([3, 5]), w = T.zeros([7, 5]);
    throwsMatching(() => fusedLinearCrossEntropy(h, T.zeros([7, 4]), y), ShapeError, '[3, 5]', '[7, 4]');
    throwsMatching(() => fusedLinearCrossEntropy(h, w, ints([0, 1])), ShapeError, '[3]', '[2]');
    throwsMatching(() => fusedLinearCrossEntropy(h, w, ints([0, 7, 1])), IndexError, 'target 7', 'position [1]', '[0, 7)');
    throwsMatching(() => fusedLinearCrossEntropy(h, w, y, { weight: T.ones([5]) }), ShapeError, "'weight'", '[7]');
    throwsMatching(() => fusedLinearCrossEntropy(h, w, y, { chunkSize: 0 }), ValueError, "'chunkSize'");
    throwsMatching(() => fusedLinearCrossEntropy(h, w, y, { labelSmoothing: 2 }), ValueError, "'labelSmoothing'");
    throwsMatching(() => fusedLinearCrossEntropy(h, T.zeros([7, 5], 'float64'), y), ValueError, 'dtype');
  });
  test('Objective', () => {
    throwsMatching(() => new Objective({ ce: NaN }), ValueError, "'ce'");
    const o = new Objective({ ce: 1, l2: 0.1 });
    throwsMatching(() => o.compute({ ce: T.scalar(1) }), ValueError, "'l2'", 'not given');
    throwsMatching(() => o.compute({ ce: T.scalar(1), l2: T.scalar(1), zloss: T.scalar(1) }), ValueError, "'zloss'");
    throwsMatching(() => o.compute({ ce: T.zeros([2]), l2: T.scalar(1) }), ShapeError, "'ce'", '[2]');
  });
});
