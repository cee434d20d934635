// clipGradNorm with `deferTo: optimizer`: Adam/AdamW apply the clipping coefficient as their step
// reads each gradient. The reference is the same run with clipping in place (clipGradNorm without
// deferTo, then step), whose values are checked against PyTorch's formulas in clip-grad.test.ts and
// the optimizer tests: parameters and optimizer state must come out bit for bit the same, over
// several steps, for every Adam path (fused kernel with and without decoupled decay, Adam's L2 term,
// maximize, amsgrad), and for an infinite norm (coefficient 0). Runs on the current backend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam, AdamW, clipGradNorm } from '../../src/optim/index.js';
import * as T from '../../src/tensor/index.js';

/** Seeded parameters and per-step gradients (norms well above maxNorm, so clipping scales). */
function setup(seed: number): { params: T.Tensor[]; grads: Float32Array[][] } {
  const gen = new T.Generator(seed);
  const shapes = [[4, 5], [5], [3, 7]];
  const params = shapes.map((s) => T.randn(s, { generator: gen }).keep().requiresGrad_());
  const grads = [0, 1, 2].map(() => shapes.map((s) => Float32Array.from(T.randn(s, { generator: gen, std: 3 }).data())));
  return { params, grads };
}

type Make = (ps: T.Tensor[]) => Adam | AdamW;
const OPTIMIZERS: [string, Make][] = [
  ['AdamW', (ps) => new AdamW(ps, { lr: 0.01, weightDecay: 0.1 })],
  ['AdamW without decay', (ps) => new AdamW(ps, { lr: 0.01, weightDecay: 0 })],
  ['Adam with L2', (ps) => new Adam(ps, { lr: 0.01, weightDecay: 0.05 })],
  ['AdamW maximize', (ps) => new AdamW(ps, { lr: 0.01, maximize: true })],
  ['AdamW amsgrad', (ps) => new AdamW(ps, { lr: 0.01, amsgrad: true })],
];

/** Runs 3 steps of grads → clip → step; returns parameters, state buffers and the grads after each clip. */
function run(make: Make, defer: boolean, inf = false): { params: number[][]; state: number[][]; gradsAfterClip: number[][] } {
  const { params, grads } = setup(7);
  const opt = make(params);
  const gradsAfterClip: number[][] = [];
  for (const gs of grads) {
    opt.zeroGrad();
    params.forEach((p, i) => { p.grad = T.tensor(Float32Array.from(gs[i]), p.shape).keep(); });
    if (inf) params[0].grad!.data()[3] = Infinity;
    clipGradNorm(params, 1.0, defer ? { deferTo: opt } : {});
    gradsAfterClip.push(...params.map((p) => [...p.grad!.data()]));
    opt.step();
  }
  const state = opt.stateDict().state.flatMap((s) => (s ? Object.values(s.buffers).map((b) => [...b]) : []));
  return { params: params.map((p) => [...p.data()]), state, gradsAfterClip };
}

/** Equal as float32 values, NaN equal to NaN. */
function same(a: number[][], b: number[][], what: string): void {
  assert.equal(a.length, b.length, what);
  a.forEach((row, i) => row.forEach((v, j) => assert.ok(Object.is(v, b[i][j]) || v === b[i][j], `${what} [${i}][${j}]: ${v} vs ${b[i][j]}`)));
}

for (const [name, make] of OPTIMIZERS) {
  test(`${name}: deferred clipping gives the parameters and state of clipping in place`, () => {
    const inPlace = run(make, false), deferred = run(make, true);
    assert.ok(inPlace.params.flat().every(Number.isFinite));
    same(deferred.params, inPlace.params, 'parameters');
    same(deferred.state, inPlace.state, 'optimizer state');
  });
}

test('AdamW: with an infinite norm (coefficient 0) deferred and in-place clipping agree, NaN included', () => {
  const make: Make = (ps) => new AdamW(ps, { lr: 0.01 });
  const inPlace = run(make, false, true), deferred = run(make, true, true);
  assert.ok(inPlace.params.flat().some(Number.isNaN), 'inf · 0 = NaN reaches the parameter, as in PyTorch');
  same(deferred.params, inPlace.params, 'parameters');
});

test('deferTo: the gradients keep their unclipped values; in place they are scaled', () => {
  const make: Make = (ps) => new AdamW(ps, { lr: 0.01 });
  const { grads } = setup(7);
  const unclipped = grads.flatMap((gs) => gs.map((g) => [...g]));
  same(run(make, true).gradsAfterClip, unclipped, 'deferred');
  assert.notDeepEqual(run(make, false).gradsAfterClip, unclipped);
});

test('deferTo: an optimizer that does not hold every clipped gradient declines, and the gradients are scaled in place', () => {
  const { params, grads } = setup(3);
  params.forEach((p, i) => { p.grad = T.tensor(Float32Array.from(grads[0][i]), p.shape); });
  const opt = new AdamW(params.slice(1), { lr: 0.01 });
  assert.equal(opt.deferGradScale(0.5, params.map((p) => p.grad!)), false);
  const total = clipGradNorm(params, 1.0, { deferTo: opt });
  const norm = Math.hypot(...params.flatMap((p) => [...p.grad!.data()]));
  assert.ok(total > 1 && Math.abs(norm - 1) < 1e-5, `clipped in place to norm 1, got ${norm}`);
});

test('deferTo: zeroGrad drops the pending scale (a skipped step), so the next step uses its gradients as they are', () => {
  const a = setup(5), b = setup(5);
  const oa = new AdamW(a.params, { lr: 0.01 }), ob = new AdamW(b.params, { lr: 0.01 });
  b.params.forEach((p, i) => { p.grad = T.tensor(Float32Array.from(b.grads[0][i]), p.shape); });
  clipGradNorm(b.params, 1.0, { deferTo: ob });
  ob.zeroGrad();
  for (const [ps, gs, o] of [[a.params, a.grads, oa], [b.params, b.grads, ob]] as const) {
    ps.forEach((p, i) => { p.grad = T.tensor(Float32Array.from(gs[1][i]), p.shape); });
    o.step();
  }
  same(b.params.map((p) => [...p.data()]), a.params.map((p) => [...p.data()]), 'parameters');
});
