// Learning-rate schedules against values worked out by hand from the published formulas
// (Hugging Face transformers optimization.py, PyTorch StepLR/ExponentialLR, nanoGPT, Vaswani et al.).
// Parameters are chosen so the cosines land on angles with known values (π/6, π/4, π/3, π/2, ...).
// The golden cases in ../shared/golden cover linear, cosine, polynomial, inverse_sqrt, noam, step,
// exponential and nanoGPT's current warmup (test/golden/schedules-casts.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValueError } from '../../src/errors.js';
import { createSchedule, type ScheduleConfig } from '../../src/optim/schedules.js';

const S3 = Math.sqrt(3) / 2; // cos(π/6)
const S2 = Math.SQRT1_2; // cos(π/4)

/** Asserts lrAt(k) for each [k, expected] pair to 1e-12 relative. */
function expectLr(config: ScheduleConfig, pairs: Array<[number, number]>): void {
  const s = createSchedule(config);
  for (const [k, want] of pairs) {
    const got = s.lrAt(k);
    assert.ok(Math.abs(got - want) <= 1e-15 + 1e-12 * Math.abs(want), `${config.type} lrAt(${k}) = ${got}, expected ${want}`);
  }
}

describe('Hugging Face schedules', () => {
  test('constant ignores warmup; constant_with_warmup ramps k/w', () => {
    expectLr({ type: 'constant', baseLr: 0.1, warmupSteps: 5 }, [[0, 0.1], [3, 0.1], [1000, 0.1]]);
    expectLr({ type: 'constant_with_warmup', baseLr: 2, warmupSteps: 4 }, [[0, 0], [1, 0.5], [3, 1.5], [4, 2], [99, 2]]);
  });
  test('linear: ramp, then down to 0 at T, then stays 0', () => {
    expectLr({ type: 'linear', baseLr: 1, warmupSteps: 2, numTrainingSteps: 10 }, [[0, 0], [1, 0.5], [2, 1], [6, 0.5], [10, 0], [15, 0]]);
  });
  test('cosine: half cosine by default, not clamped after T', () => {
    const c = { type: 'cosine', baseLr: 1, warmupSteps: 0, numTrainingSteps: 6 } as const;
    // p = k/6, factor ½(1 + cos(πp)): k=1 cos(π/6); k=2 cos(π/3); k=3 0; k=6 -1; k=9 cos(3π/2)=0 -> ½.
    expectLr(c, [[0, 1], [1, 0.5 * (1 + S3)], [2, 0.75], [3, 0.5], [4, 0.25], [6, 0], [9, 0.5], [12, 1]]);
  });
  test('cosine_with_restarts: cycles restart at 1, zero from T on', () => {
    const c = { type: 'cosine_with_restarts', baseLr: 1, warmupSteps: 0, numTrainingSteps: 12, numCycles: 2 } as const;
    // p = k/12, factor ½(1 + cos(π·((2p) mod 1))).
    expectLr(c, [[0, 1], [1, 0.5 * (1 + S3)], [2, 0.75], [3, 0.5], [4, 0.25], [6, 1], [7, 0.5 * (1 + S3)], [9, 0.5], [12, 0], [20, 0]]);
    // Default one cycle, with warmup: w = 2, T = 6, p = (k-2)/4.
    expectLr({ type: 'cosine_with_restarts', baseLr: 0.5, warmupSteps: 2, numTrainingSteps: 6 }, [[1, 0.25], [2, 0.5], [3, 0.25 * (1 + S2)], [4, 0.25], [6, 0], [7, 0]]);
  });
  test('cosine_with_min_lr: cosine mapped onto [minLr, base], minLr or minLrRate', () => {
    // base 1e-3, rate 0.1, w = 2, T = 8: p = (k-2)/6; lr = base·(f·0.9 + 0.1).
    const want: Array<[number, number]> = [[0, 0], [1, 0.5e-3], [2, 1e-3], [4, 0.775e-3], [5, 0.55e-3], [8, 1e-4], [11, 0.55e-3]];
    expectLr({ type: 'cosine_with_min_lr', baseLr: 1e-3, warmupSteps: 2, numTrainingSteps: 8, minLr: 1e-4 }, want);
    expectLr({ type: 'cosine_with_min_lr', baseLr: 1e-3, warmupSteps: 2, numTrainingSteps: 8, minLrRate: 0.1 }, want);
  });
  test('polynomial: power decay to lrEnd, lrEnd after T', () => {
    // base 1, lrEnd 0.1, w = 0, T = 4, power 2: (0.9)(1 - k/4)^2 + 0.1.
    expectLr({ type: 'polynomial', baseLr: 1, numTrainingSteps: 4, lrEnd: 0.1, power: 2 }, [[0, 1], [1, 0.60625], [2, 0.325], [3, 0.15625], [4, 0.1], [9, 0.1]]);
    // Defaults lrEnd 1e-7, power 1; warmup covering all steps ends at lrEnd.
    expectLr({ type: 'polynomial', baseLr: 1, warmupSteps: 2, numTrainingSteps: 4 }, [[1, 0.5], [3, 0.5 * (1 - 1e-7) + 1e-7]]);
    expectLr({ type: 'polynomial', baseLr: 1, warmupSteps: 3, numTrainingSteps: 3 }, [[2, 2 / 3], [3, 1e-7], [4, 1e-7]]);
  });
  test('inverse_sqrt: timescale defaults to w, or 10000 without warmup', () => {
    expectLr({ type: 'inverse_sqrt', baseLr: 1, warmupSteps: 4 }, [[2, 0.5], [4, 1], [16, 0.5], [36, 1 / 3]]);
    expectLr({ type: 'inverse_sqrt', baseLr: 1 }, [[0, 1], [30000, 0.5]]);
    expectLr({ type: 'inverse_sqrt', baseLr: 1, warmupSteps: 2, timescale: 1 }, [[2, 1], [5, 0.5]]);
  });
  test('warmup_stable_decay: linear warmup, stable, cosine decay, then the floor', () => {
    const c = { type: 'warmup_stable_decay', baseLr: 1, warmupSteps: 4, numDecaySteps: 4, numTrainingSteps: 12 } as const;
    expectLr(c, [[0, 0], [2, 0.5], [4, 1], [7, 1], [8, 1], [9, 0.5 * (1 + S2)], [10, 0.5], [11, 0.5 * (1 - S2)], [12, 0], [50, 0]]);
    // minLrRatio 0.1 lifts warmup start, decay end and the tail; stable steps given instead of T.
    const r = { type: 'warmup_stable_decay', baseLr: 1, warmupSteps: 4, numDecaySteps: 4, numStableSteps: 4, minLrRatio: 0.1 } as const;
    expectLr(r, [[0, 0.1], [2, 0.55], [5, 1], [10, 0.55], [12, 0.1], [40, 0.1]]);
  });
  test('warmup_stable_decay: cosine and 1-sqrt shapes, linear decay', () => {
    const base = { type: 'warmup_stable_decay', baseLr: 1, warmupSteps: 4, numDecaySteps: 4, numStableSteps: 0 } as const;
    expectLr({ ...base, warmupType: 'cosine', decayType: 'linear' }, [[1, 0.5 * (1 - S2)], [2, 0.5], [5, 0.75], [6, 0.5]]);
    expectLr({ ...base, warmupType: '1-sqrt', decayType: '1-sqrt' }, [[3, 0.5], [5, 0.5], [7, 1 - Math.sqrt(0.75)]]);
  });
});

describe('PyTorch, nanoGPT and Noam schedules', () => {
  test('step and exponential', () => {
    expectLr({ type: 'step', baseLr: 1, stepSize: 2, gamma: 0.5 }, [[0, 1], [1, 1], [2, 0.5], [5, 0.25]]);
    expectLr({ type: 'step', baseLr: 1, stepSize: 1 }, [[2, 0.01]]);
    expectLr({ type: 'exponential', baseLr: 8, gamma: 0.5 }, [[0, 8], [3, 1]]);
  });
  test('nanogpt_cosine: both warmup formulas, cosine to minLr, minLr after lrDecayIters', () => {
    const c = { type: 'nanogpt_cosine', baseLr: 1, warmupSteps: 4, lrDecayIters: 10, minLr: 0.1 } as const;
    // current: (k+1)/(w+1); decay ratio (k-4)/6: k=6 cos(π/3), k=7 cos(π/2).
    expectLr(c, [[0, 0.2], [3, 0.8], [4, 1], [6, 0.1 + 0.75 * 0.9], [7, 0.55], [10, 0.1], [11, 0.1]]);
    expectLr({ ...c, warmupFormula: 'it/warmup_iters' }, [[0, 0], [2, 0.5], [4, 1], [7, 0.55]]);
    // lrDecayIters defaults to numTrainingSteps.
    expectLr({ type: 'nanogpt_cosine', baseLr: 1, numTrainingSteps: 6 }, [[0, 1], [3, 0.5], [6, 0]]);
  });
  test('noam: factor·d^-½·min(s^-½, s·w^-1.5), peak at k = w', () => {
    // d = 16, w = 4: 1/4 · min(s^-½, s/8).
    expectLr({ type: 'noam', dModel: 16, warmupSteps: 4 }, [[0, 1 / 32], [1, 1 / 32], [2, 1 / 16], [4, 1 / 8], [16, 1 / 16]]);
    expectLr({ type: 'noam', dModel: 16, warmupSteps: 4, factor: 2, baseLr: 0.5 }, [[4, 1 / 8]]);
    expectLr({ type: 'noam', dModel: 4, warmupSteps: 0 }, [[0, 0.5], [4, 0.25]]);
  });
});

describe('validation and state', () => {
  const bad = (config: unknown, re: RegExp) => assert.throws(() => createSchedule(config as ScheduleConfig), (e: unknown) => e instanceof ValueError && re.test(e.message));
  test('bad configs throw ValueError naming the option', () => {
    bad({ type: 'cosinus' }, /type must be one of .*got "cosinus"/);
    bad({ type: 'linear', baseLr: 1 }, /'linear': numTrainingSteps is required/);
    bad({ type: 'cosine', numTrainingSteps: 10, warmupSteps: -1 }, /warmupSteps must be an integer >= 0, got -1/);
    bad({ type: 'cosine', numTrainingSteps: 10.5 }, /numTrainingSteps must be an integer/);
    bad({ type: 'cosine', numTrainingSteps: 10, lrEnd: 0 }, /option 'lrEnd' does not apply/);
    bad({ type: 'constant', baseLr: NaN }, /baseLr must be a finite number, got NaN/);
    bad({ type: 'cosine_with_min_lr', numTrainingSteps: 10, minLr: 0.1, minLrRate: 0.1 }, /only one of minLr and minLrRate/);
    bad({ type: 'cosine_with_min_lr', numTrainingSteps: 10 }, /one of minLr or minLrRate is required/);
    bad({ type: 'polynomial', baseLr: 1e-3, numTrainingSteps: 10, lrEnd: 1e-3 }, /lrEnd \(0\.001\) must be smaller than baseLr/);
    bad({ type: 'warmup_stable_decay', numDecaySteps: 2 }, /numTrainingSteps or numStableSteps is required/);
    bad({ type: 'warmup_stable_decay', numDecaySteps: 5, warmupSteps: 6, numTrainingSteps: 10 }, /must be >= warmupSteps \+ numDecaySteps/);
    bad({ type: 'warmup_stable_decay', numDecaySteps: 2, numStableSteps: 1, decayType: 'exp' }, /decayType must be one of linear, cosine, 1-sqrt/);
    bad({ type: 'step', gamma: 0.5 }, /stepSize is required/);
    bad({ type: 'step', stepSize: 0 }, /stepSize must be an integer >= 1, got 0/);
    bad({ type: 'nanogpt_cosine', warmupSteps: 5, lrDecayIters: 5 }, /lrDecayIters \(5\) must be greater than warmupSteps \(5\)/);
    bad({ type: 'nanogpt_cosine', lrDecayIters: 5, warmupFormula: 'it/w' }, /warmupFormula must be one of/);
    bad({ type: 'noam', warmupSteps: 4 }, /dModel is required/);
    bad({ type: 'inverse_sqrt', timescale: 0 }, /timescale must be > 0/);
  });
  test('lrAt needs an integer step >= 0', () => {
    const s = createSchedule({ type: 'constant' });
    assert.throws(() => s.lrAt(-1), /step must be an integer >= 0.*got -1/);
    assert.throws(() => s.lrAt(1.5), ValueError);
    assert.equal(s.lrAt(0), 1); // baseLr defaults to 1: the multiplier itself
  });
  test('step() counts completed steps; stateDict / loadStateDict resume the count', () => {
    const cfg = { type: 'linear', baseLr: 1, warmupSteps: 2, numTrainingSteps: 10 } as const;
    const a = createSchedule(cfg);
    assert.equal(a.getLastLr(), 0);
    for (let i = 0; i < 6; i++) a.step();
    assert.equal(a.lastEpoch, 6);
    assert.equal(a.getLastLr(), 0.5);
    const state = JSON.parse(JSON.stringify(a.stateDict()));
    const b = createSchedule(cfg);
    b.loadStateDict(state);
    assert.equal(b.lastEpoch, 6);
    assert.equal(b.getLastLr(), 0.5);
    assert.throws(() => createSchedule({ type: 'constant' }).loadStateDict(state), /state of a 'linear' schedule/);
    assert.throws(() => b.loadStateDict({ type: 'linear', lastEpoch: -2 }), ValueError);
  });
  test('config is validated once and frozen with defaults', () => {
    const s = createSchedule({ type: 'cosine', numTrainingSteps: 10 });
    assert.equal(s.config.numCycles, 0.5);
    assert.equal(s.config.baseLr, 1);
    assert.equal(s.config.warmupSteps, 0);
    assert.ok(Object.isFrozen(s.config));
  });
});
