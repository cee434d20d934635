/**
 * Unit tests of the stability units with known answers: layer grouping, per-layer statistics on
 * hand-made tensors, the vanishing / exploding detectors, the moving-window spike threshold, the
 * non-finite guard's counting, snapshot replay, and the learning-rate range test on analytic curves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../../src/tensor/index.js';
import { AdamW } from '../../../src/optim/index.js';
import {
  ExplodingDetector, LayerStatsCollector, LossSpikeDetector, NanGuard, StabilityGuard, TrainingDivergedError, TrainingSnapshot,
  VanishingDetector, blockIndexOf, layerGroupOf, lowerLayerGroups, lrFind, nonFiniteReason, smoothLosses, stabilityConfig, suggestLrs,
  sweepLr, centeredMovingAverage, centeredHalfWidth, type StabilityEvent,
} from '../../../src/train/stability/index.js';
import { TrainformerError } from '../../../src/errors.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('layerGroupOf: numbered blocks, modules, bare names', () => {
  assert.equal(layerGroupOf('h.3.attn.c_attn.weight'), 'h.3');
  assert.equal(layerGroupOf('encoder.layers.0.ffn.c_fc.bias'), 'encoder.layers.0');
  assert.equal(layerGroupOf('wte.weight'), 'wte');
  assert.equal(layerGroupOf('transformer.ln_f.bias'), 'transformer.ln_f');
  assert.equal(layerGroupOf('weight'), 'weight');
  assert.equal(blockIndexOf('h.11'), 11);
  assert.equal(blockIndexOf('wte'), null);
});

test('lowerLayerGroups: lower half of each numbered family, or the first `count`', () => {
  const groups = ['wte', 'wpe', 'h.0', 'h.1', 'h.2', 'h.3', 'h.4', 'ln_f'];
  assert.deepEqual(lowerLayerGroups(groups), ['h.0', 'h.1', 'h.2']);
  assert.deepEqual(lowerLayerGroups(groups, 1), ['h.0']);
  assert.deepEqual(lowerLayerGroups(['enc.0', 'enc.1', 'dec.0', 'dec.1', 'dec.2', 'dec.3']), ['enc.0', 'dec.0', 'dec.1']);
  assert.deepEqual(lowerLayerGroups(['wte', 'lm_head']), []);
});

test('LayerStatsCollector: grad norm, param norm and update ratio per group, hand-computed', () => {
  const a = T.tensor(new Float32Array([3, 4]), [2]).keep(); // ‖a‖ = 5
  const b = T.tensor(new Float32Array([1, 2, 2]), [3]).keep(); // ‖b‖ = 3
  const c = T.tensor(new Float32Array([0, 0]), [2]).keep(); // all zero: no ratio
  a.grad = T.tensor(new Float32Array([0.6, 0.8]), [2]); // 1
  b.grad = T.tensor(new Float32Array([2, 0, 0]), [3]); // 2
  c.grad = null;
  const col = new LayerStatsCollector([['h.0.a', a], ['h.0.b', b], ['head.weight', c]]);
  assert.deepEqual(col.groupNames(), ['h.0', 'head']);
  const g = col.measureGrads();
  close(g[0].gradNorm, Math.sqrt(1 + 4), 1e-6);
  assert.equal(g[1].gradNorm, 0);
  close(g[2].gradNorm, Math.sqrt(5), 1e-6);
  col.beforeStep();
  // An "update": a -= 0.1·a (‖Δa‖ = 0.5), b unchanged, c += [0, 1].
  (a.data() as Float32Array).set([2.7, 3.6]);
  (c.data() as Float32Array).set([0, 1]);
  const s = col.afterStep();
  assert.deepEqual(s.map((x) => x.name), ['h.0', 'head', 'total']);
  close(s[0].paramNorm, Math.sqrt(2.7 ** 2 + 3.6 ** 2 + 9), 1e-6);
  close(s[0].updateRatio!, 0.5 / Math.sqrt(25 + 9), 1e-6);
  assert.equal(s[1].updateRatio, null);
  close(s[1].paramNorm, 1, 1e-6);
  close(s[2].updateRatio!, Math.sqrt(0.25 + 1) / Math.sqrt(34), 1e-6);
  assert.throws(() => col.afterStep(), /beforeStep/);
});

test('VanishingDetector: one warning per streak of `patience` low norms, watched groups only', () => {
  const d = new VanishingDetector(['h.0'], 1e-3, 3);
  const seq = [1e-4, 1e-4, 1e-4, 1e-4, 1, 1e-4, 1e-4, 1e-4];
  const warnedAt: number[] = [];
  seq.forEach((v, i) => {
    const w = d.update(i + 1, [{ name: 'h.0', gradNorm: v }, { name: 'h.1', gradNorm: 0 }]);
    for (const x of w) {
      assert.equal(x.layer, 'h.0');
      assert.equal(x.kind, 'vanishing');
      warnedAt.push(x.step);
    }
  });
  assert.deepEqual(warnedAt, [3, 8]);
  // NaN is not "small".
  const e = new VanishingDetector(['h.0'], 1e-3, 1);
  assert.equal(e.update(1, [{ name: 'h.0', gradNorm: NaN }]).length, 0);
});

test('ExplodingDetector: absolute threshold with hysteresis, non-finite norms', () => {
  const d = new ExplodingDetector(100, 1e9, 5);
  const at = (vals: number[]) => vals.map((v, i) => d.update(i, [{ name: 'x', gradNorm: v }]).length);
  assert.deepEqual(at([50, 150, 200, 50, 120, Infinity, NaN, 10]), [0, 1, 0, 0, 1, 0, 0, 0]);
  const e = new ExplodingDetector(100, 1e9, 5);
  const w = e.update(0, [{ name: 'x', gradNorm: NaN }]);
  assert.match(w[0].message, /not finite/);
});

test('ExplodingDetector: growth is judged against the largest recent norm, not the previous one', () => {
  // Previous-value growth would flag 0.3 → 4 (13x); the window's maximum is 5, so it is not growth.
  const d = new ExplodingDetector(1e9, 10, 3);
  const flags = [5, 0.3, 4].map((v, i) => d.update(i, [{ name: 'x', gradNorm: v }]).length);
  assert.deepEqual(flags, [0, 0, 0]);
  // 5 leaves the 3-wide window [0.3, 4, 1]; max 4; 41 > 10·4.
  assert.equal(d.update(3, [{ name: 'x', gradNorm: 1 }]).length, 0);
  const w = d.update(4, [{ name: 'x', gradNorm: 41 }]);
  assert.equal(w.length, 1);
  assert.match(w[0].message, /10\.3x the largest of the previous 3 \(4\)/);
  // Quiet for `window` updates after a growth warning, even when it grows again.
  assert.equal(d.update(5, [{ name: 'x', gradNorm: 500 }]).length, 0);
  // Floor: practically-zero history is not compared.
  const f = new ExplodingDetector(1e9, 10, 3, 1e-6);
  f.update(0, [{ name: 'y', gradNorm: 1e-9 }]);
  assert.equal(f.update(1, [{ name: 'y', gradNorm: 1e-3 }]).length, 0);
});

test('LossSpikeDetector: mean + k·std (n − 1) of a full window', () => {
  const d = new LossSpikeDetector(4, 2);
  for (const v of [1, 2, 3]) d.push(v);
  assert.equal(d.threshold(), null);
  assert.equal(d.isSpike(1e6), false);
  d.push(4);
  // mean 2.5; sample variance ((1.5² + 0.5²)·2)/3 = 5/3.
  close(d.threshold()!, 2.5 + 2 * Math.sqrt(5 / 3));
  assert.equal(d.isSpike(5.09), true);
  assert.equal(d.isSpike(5.07), false);
  assert.equal(d.isSpike(NaN), true);
  d.push(5);
  assert.deepEqual(d.history(), [2, 3, 4, 5]);
  d.push(Infinity);
  assert.deepEqual(d.history(), [2, 3, 4, 5]);
  assert.throws(() => new LossSpikeDetector(1, 2), TrainformerError);
});

test('LossSpikeDetector.observe: `patience` losses in a row above the bar make a spike; isolated ones join the window', () => {
  const d = new LossSpikeDetector(4, 2, 3);
  for (const v of [1, 2, 3, 4]) assert.equal(d.observe(v), 'ok');
  // Bar: 2.5 + 2·sqrt(5/3) = 5.08.
  assert.equal(d.observe(9), 'suspect');
  assert.equal(d.observe(8), 'suspect');
  assert.equal(d.observe(2), 'ok');
  // The two suspects were a passing outlier: they joined the window with the 2.
  assert.deepEqual(d.history(), [4, 9, 8, 2]);
  const e = new LossSpikeDetector(4, 2, 3);
  for (const v of [1, 2, 3, 4]) e.observe(v);
  assert.deepEqual([9, 9, 9].map((v) => e.observe(v)), ['suspect', 'suspect', 'spike']);
  // A spike's losses never enter the window, and the count starts over.
  assert.deepEqual(e.history(), [1, 2, 3, 4]);
  assert.equal(e.observe(9), 'suspect');
  assert.equal(e.observe(NaN), 'suspect');
  assert.throws(() => new LossSpikeDetector(4, 2, 0), TrainformerError);
});

test('NanGuard: counts skips, resets on a good step, throws on the M-th in a row', () => {
  assert.equal(nonFiniteReason(1, 2), null);
  assert.equal(nonFiniteReason(Infinity, 2), 'loss');
  assert.equal(nonFiniteReason(NaN, NaN), 'loss');
  assert.equal(nonFiniteReason(1, NaN), 'gradients');
  const g = new NanGuard(3);
  g.skip(1, 'loss');
  g.skip(2, 'loss');
  g.ok();
  g.skip(4, 'gradients');
  g.skip(5, 'gradients');
  assert.throws(() => g.skip(6, 'gradients', 'runs/x/checkpoint-5'), (e: unknown) => {
    assert.ok(e instanceof TrainingDivergedError && e instanceof TrainformerError);
    assert.match(e.message, /step 6: 3 consecutive steps had a non-finite gradient/);
    assert.match(e.message, /checkpoint-5, is intact/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
  assert.equal(g.total, 5);
});

/** A tiny least-squares problem: loss = mean((w·x − y)²) with fixed data. */
function quadratic(seed: number): { w: T.Tensor; loss: (i: number) => T.Tensor } {
  const gen = new T.Generator(seed);
  const w = T.randn([4, 3], { generator: gen }).requiresGrad_().keep();
  const xs = Array.from({ length: 8 }, () => T.randn([5, 4], { generator: gen }).keep());
  const ys = Array.from({ length: 8 }, () => T.randn([5, 3], { generator: gen }).keep());
  return { w, loss: (i) => T.mean(T.square(T.sub(T.matmul(xs[i % 8], w), ys[i % 8]))) };
}

test('TrainingSnapshot: restoring and replaying gives bit-identical parameters and optimizer state', () => {
  const { w, loss } = quadratic(3);
  const opt = new AdamW([w], { lr: 0.05 });
  let counter = 0;
  const extra = { stateDict: () => ({ counter }), loadStateDict: (s: { counter: number }) => { counter = s.counter; } };
  const snap = new TrainingSnapshot([w], opt, { extra });
  const run = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      T.scope(() => T.backward(loss(i)));
      opt.step();
      opt.zeroGrad();
      counter++;
    }
  };
  run(0, 5);
  snap.capture(5);
  run(5, 12);
  const first = (w.data() as Float32Array).slice();
  const firstM = (opt.stateDict().state[0]!.buffers.exp_avg ?? Object.values(opt.stateDict().state[0]!.buffers)[0]).slice();
  assert.equal(snap.restore(), 5);
  assert.equal(counter, 5);
  run(5, 12);
  assert.deepEqual(w.data(), first);
  assert.deepEqual(Object.values(opt.stateDict().state[0]!.buffers)[0], firstM);
  // The snapshot survives a restore: a second restore gives the step-5 state again.
  snap.restore();
  run(5, 12);
  assert.deepEqual(w.data(), first);
});

test('StabilityGuard: a non-finite gradient skips without touching parameters; a spike rolls back to the snapshot', () => {
  const { w, loss } = quadratic(5);
  const opt = new AdamW([w], { lr: 0.01 });
  const events: StabilityEvent[] = [];
  const guard = new StabilityGuard({
    config: { spikeGuard: { window: 5, k: 3, patience: 1, snapshotEvery: 4, skipBatches: 2 } },
    namedParameters: [['w', w]], optimizer: opt, log: (r) => { if ('event' in r) events.push(r); },
  });
  guard.start(0);
  for (let s = 0; s < 10; s++) {
    T.scope(() => T.backward(loss(s)));
    // The judged loss is given directly (a steady 1 ± 0.01), so only the injected spike is one.
    assert.equal(guard.check(s, 1 + 0.01 * (s % 2)).action, 'step');
    opt.step();
    opt.zeroGrad();
  }
  // goodSteps 4 and 8 → the snapshot holds the parameters the loss of step 7 was computed on.
  assert.equal(guard.snapshotStep, 7);
  // Non-finite gradient → skip, parameters unchanged.
  const before = (w.data() as Float32Array).slice();
  T.scope(() => T.backward(loss(10)));
  (w.grad!.data() as Float32Array)[0] = NaN;
  const d = guard.check(10, 1.0);
  assert.equal(d.action, 'skip');
  assert.deepEqual(w.data(), before);
  opt.zeroGrad();
  assert.equal(events.at(-1)!.event, 'skip');
  // A loss far above the window → rollback: parameters are those of the snapshot step.
  (w.data() as Float32Array).fill(123);
  T.scope(() => T.backward(loss(11)));
  const r = guard.check(11, 1e6);
  assert.deepEqual(r.action === 'rollback' && [r.toStep, r.skipBatches], [7, 2]);
  opt.zeroGrad();
  assert.ok((w.data() as Float32Array).every((v) => v !== 123));
  assert.equal(events.at(-1)!.event, 'rollback');
  assert.equal(guard.takeSkipBatch(), true);
  assert.equal(guard.takeSkipBatch(), true);
  assert.equal(guard.takeSkipBatch(), false);
  // Replaying from step 7 with the same batches reproduces the original parameters after step 9.
  const g2 = quadratic(5);
  const o2 = new AdamW([g2.w], { lr: 0.01 });
  for (let s = 0; s < 10; s++) {
    T.scope(() => T.backward(g2.loss(s)));
    o2.step();
    o2.zeroGrad();
  }
  for (let s = 7; s < 10; s++) {
    T.scope(() => T.backward(loss(s)));
    opt.step();
    opt.zeroGrad();
  }
  assert.deepEqual(w.data(), g2.w.data());
});

test('StabilityGuard: gives up after maxRollbacks spikes back to the same snapshot', () => {
  const { w, loss } = quadratic(6);
  const opt = new AdamW([w], { lr: 0.01 });
  const guard = new StabilityGuard({ config: { spikeGuard: { window: 3, k: 1, patience: 1, snapshotEvery: 100, maxRollbacks: 2 } }, namedParameters: [['w', w]], optimizer: opt });
  guard.start(0);
  for (let s = 0; s < 3; s++) {
    T.scope(() => T.backward(loss(s)));
    guard.check(s, 1 + 0.01 * s);
    opt.zeroGrad();
  }
  assert.equal(guard.check(3, 50).action, 'rollback');
  assert.equal(guard.check(1, 50).action, 'rollback');
  assert.throws(() => guard.check(1, 50), /spiked .* again after 2 rollbacks to step 0/);
});

test('stabilityConfig: defaults and validation', () => {
  const c = stabilityConfig();
  assert.equal(c.nanGuard.maxConsecutiveSkips, 10);
  assert.equal(c.spikeGuard.window, 50);
  assert.equal(stabilityConfig({ spikeGuard: { k: 3 } }).spikeGuard.k, 3);
  assert.throws(() => stabilityConfig({ spikeGuard: { window: 1 } }));
  assert.throws(() => stabilityConfig({ gradStats: { growthFactor: 1 } }));
  assert.throws(() => stabilityConfig({ nanGuard: { bogus: 1 } } as never));
});

test('smoothLosses: bias-corrected EMA, hand-computed', () => {
  const s = smoothLosses([1, 2], 0.5);
  close(s[0], 1); // 0.5·1 / (1 − 0.5)
  close(s[1], (0.25 + 1) / 0.75);
  assert.deepEqual(smoothLosses([3, 3, 3], 0.9).map((x) => Number(x.toFixed(12))), [3, 3, 3]);
});

test('centeredMovingAverage: symmetric window, clipped at the ends; no lag on a linear ramp', () => {
  assert.deepEqual(centeredMovingAverage([1, 2, 3, 4, 5], 1), [1.5, 2, 3, 4, 4.5]);
  assert.deepEqual(centeredMovingAverage([1, 2, 3], 0), [1, 2, 3]);
  // A causal EMA of a ramp lags behind it; the centred average reproduces it inside the window.
  const ramp = Array.from({ length: 50 }, (_, i) => 2 * i);
  const c = centeredMovingAverage(ramp, 5);
  for (let i = 5; i < 45; i++) close(c[i], ramp[i]);
  assert.ok(smoothLosses(ramp, 0.9)[40] < ramp[40] - 10);
  assert.equal(centeredHalfWidth(201, 1e-7, 10), 6); // 25 steps per decade → 6
  assert.equal(centeredHalfWidth(10, 1e-7, 10), 1);
});

test('sweepLr: exponential from startLr to endLr', () => {
  close(sweepLr(0, 5, 1e-4, 1), 1e-4);
  close(sweepLr(4, 5, 1e-4, 1), 1);
  close(sweepLr(2, 5, 1e-4, 1), 1e-2);
});

// An analytic "loss versus log lr": f(x) = −tanh(x − a) + exp(x − b), a = ln 1e-3, b = ln 1.
const A = Math.log(1e-3);
const f = (lr: number) => -Math.tanh(Math.log(lr) - A) + Math.exp(Math.log(lr));
const df = (x: number) => -1 / Math.cosh(x - A) ** 2 + Math.exp(x);

test('suggestLrs: steepest slope and minimum/10 on an analytic curve', () => {
  const n = 401;
  const pts = Array.from({ length: n }, (_, i) => {
    const lr = sweepLr(i, n, 1e-6, 10);
    return { lr, smoothed: f(lr) };
  });
  const s = suggestLrs(pts);
  // The steepest point solves f''(x) = 0; f' is most negative there. Find it by a fine scan of f'.
  let xs = A - 2, best = Infinity;
  for (let x = A - 2; x <= A + 2; x += 1e-4) if (df(x) < best) { best = df(x); xs = x; }
  const step = Math.log(10 / 1e-6) / (n - 1);
  assert.ok(Math.abs(Math.log(s.steepest) - xs) <= 1.01 * step, `steepest ${s.steepest} vs ${Math.exp(xs)}`);
  // The minimum solves f'(x) = 0 between a and b: bisection.
  let lo = A, hi = 0;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (df(mid) < 0) lo = mid; else hi = mid;
  }
  assert.ok(Math.abs(Math.log(s.minimum) - lo) <= 0.51 * step, `minimum ${s.minimum} vs ${Math.exp(lo)}`);
  close(s['minimum/10'], s.minimum / 10);
  // Valley: f decreases all the way to its minimum, so the longest decreasing run is [0, iMin] and
  // the suggestion is the point 2/3 along it.
  const iMin = pts.findIndex((p) => p.lr === s['minimum/10'] * 10);
  assert.equal(s.valley, pts[Math.floor((2 * iMin) / 3)].lr);
});

test('lrFind: stops when the smoothed loss passes divergeFactor × its minimum, or on a non-finite loss', () => {
  const lrs: number[] = [];
  // beta = 0: no smoothing, so the stop is at the first loss above 4 × the minimum so far.
  const r = lrFind((lr) => { lrs.push(lr); return f(lr) + 2; }, { startLr: 1e-6, endLr: 10, numSteps: 200, beta: 0 });
  assert.equal(r.stoppedBy, 'diverged');
  const minSoFar = Math.min(...r.points.slice(0, -1).map((p) => p.loss));
  assert.ok(r.points.at(-1)!.loss > 4 * minSoFar);
  assert.ok(r.points.slice(0, -1).every((p, i) => p.loss <= 4 * Math.min(...r.points.slice(0, i + 1).map((q) => q.loss))));
  assert.equal(r.rule, 'minimum');
  assert.equal(r.suggestedLr, r.suggestions.minimum);
  const nf = lrFind((lr) => (lr > 1e-2 ? NaN : 1 / lr), { startLr: 1e-4, endLr: 1, numSteps: 50 });
  assert.equal(nf.stoppedBy, 'non-finite');
  assert.ok(nf.points.every((p) => p.lr <= 1e-2));
  assert.throws(() => lrFind(() => NaN, { numSteps: 10 }), /not finite after 0 step/);
  assert.throws(() => lrFind(() => 1, { startLr: 1, endLr: 0.1 }), /endLr/);
});
