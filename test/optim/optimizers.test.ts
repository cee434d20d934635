// SGD / Adam / AdamW against float64 references written from the PyTorch 1.13 formulas: null
// gradients skip a parameter (its own step count unchanged), parameter groups use their own
// options, updates happen in place in kept storage, zeroGrad, validation and state dicts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValueError } from '../../src/errors.js';
import { Adam, AdamW, createSchedule, type Optimizer, SGD, setScheduledLr } from '../../src/optim/index.js';
import * as T from '../../src/tensor/index.js';
import { makeBatch, makeMlp, mlpLoss, mlpParams, refAdam, refSgd, refState, type RefState } from './helpers.js';

const TOL = { rtol: 1e-5, atol: 1e-6 };

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const ok = Math.abs(actual[i] - expected[i]) <= TOL.atol + TOL.rtol * Math.abs(expected[i]);
    assert.ok(ok, `${what}[${i}]: ${actual[i]} vs reference ${expected[i]}`);
  }
}

type Ref = (p: Float64Array, g: ArrayLike<number>, s: RefState) => void;

/**
 * Runs `opt` over params for `steps` steps with seeded gradients, where `isNull(step, i)` makes a
 * gradient null, and checks every step against the float64 reference of the parameter's group.
 */
function runAgainstReference(make: (ps: T.Tensor[]) => Optimizer<{ lr: number }>, refs: Ref[], steps: number,
  isNull: (s: number, i: number) => boolean): { opt: Optimizer<{ lr: number }>; params: T.Tensor[] } {
  const gen = new T.Generator(7);
  const shapes = [[2, 3], [4], [3, 1]];
  const params = shapes.map((sh) => T.randn(sh, { generator: gen }).requiresGrad_());
  const ref = params.map((p) => Float64Array.from(p.data()));
  const states = params.map((p) => refState(p.numel()));
  const opt = make(params);
  for (let s = 0; s < steps; s++) {
    params.forEach((p, i) => {
      const g = T.randn(p.shape, { generator: gen });
      if (isNull(s, i)) { p.grad = null; return; }
      p.grad = g;
      refs[i](ref[i], g.data(), states[i]);
    });
    opt.step();
    params.forEach((p, i) => assertClose(p.data(), ref[i], `step ${s} param ${i}`));
  }
  return { opt, params };
}

const nullPattern = (s: number, i: number) => (i === 0 && (s === 1 || s === 3)) || (i === 1 && s === 0) || (i === 2 && s === 4);

test('AdamW: a null gradient skips the parameter (no decay, no update, own step count unchanged)', () => {
  const o = { lr: 0.05, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.1, amsgrad: false, decoupled: true };
  const { opt, params } = runAgainstReference((ps) => new AdamW(ps, { lr: 0.05, weightDecay: 0.1 }),
    [0, 1, 2].map(() => (p, g, s) => refAdam(p, g, s, o)), 6, nullPattern);
  assert.deepEqual(params.map((p) => opt.state.get(p)?.step), [4, 5, 5]);
  assert.deepEqual(opt.stateDict().state.map((e) => e?.step), [4, 5, 5]);
});

test('Adam (L2 in the gradient, amsgrad, maximize) and AdamW amsgrad follow the reference with null gradients', () => {
  for (const [amsgrad, maximize, decoupled] of [[true, false, false], [false, true, false], [true, true, true], [false, false, false]] as const) {
    const o = { lr: 0.02, b1: 0.8, b2: 0.95, eps: 1e-6, wd: 0.05, amsgrad, decoupled, maximize };
    const opts = { lr: 0.02, betas: [0.8, 0.95] as [number, number], eps: 1e-6, weightDecay: 0.05, amsgrad, maximize };
    runAgainstReference((ps) => (decoupled ? new AdamW(ps, opts) : new Adam(ps, opts)),
      [0, 1, 2].map(() => (p, g, s) => refAdam(p, g, s, o)), 6, nullPattern);
  }
});

test('SGD: momentum (first buffer = gradient), dampening, nesterov, weight decay, maximize, null gradients', () => {
  const variants = [
    { lr: 0.1, momentum: 0, dampening: 0, nesterov: false, wd: 0 },
    { lr: 0.1, momentum: 0.9, dampening: 0.3, nesterov: false, wd: 0.01 },
    { lr: 0.05, momentum: 0.8, dampening: 0, nesterov: true, wd: 0.02, maximize: true },
  ];
  for (const v of variants) {
    runAgainstReference((ps) => new SGD(ps, { lr: v.lr, momentum: v.momentum, dampening: v.dampening, nesterov: v.nesterov, weightDecay: v.wd, maximize: v.maximize ?? false }),
      [0, 1, 2].map(() => (p, g, s) => refSgd(p, g, s, v)), 5, nullPattern);
  }
});

test('parameter groups: each group steps with its own lr, weight decay and betas; defaults fill the rest', () => {
  const a = { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.1, amsgrad: false, decoupled: true };
  const b = { lr: 0.003, b1: 0.5, b2: 0.9, eps: 1e-8, wd: 0, amsgrad: false, decoupled: true };
  const { opt } = runAgainstReference(([p0, p1, p2]) => new AdamW([
    { params: [p0, p2] },
    { params: [p1], lr: 0.003, weightDecay: 0, betas: [0.5, 0.9], name: 'no_decay' },
  ], { lr: 0.01, weightDecay: 0.1 }), [(p, g, s) => refAdam(p, g, s, a), (p, g, s) => refAdam(p, g, s, b), (p, g, s) => refAdam(p, g, s, a)], 4, () => false);
  assert.equal(opt.paramGroups[1].name, 'no_decay');
  assert.deepEqual((opt as AdamW).paramGroups[0].betas, [0.9, 0.999]);
  assert.equal(opt.paramGroups[1].initialLr, 0.003);
});

test('updates land in the parameters\' own kept buffers, and state survives the step\'s scope', () => {
  const m = makeMlp(1);
  const params = mlpParams(m);
  const views = params.map((p) => p.data());
  const storages = params.map((p) => p.storage);
  const opt = new AdamW(params, { lr: 0.01 });
  const { x, y } = makeBatch(new T.Generator(2), 8);
  for (let s = 0; s < 3; s++) {
    T.scope(() => {
      T.backward(mlpLoss(m, x, y));
      opt.step();
      opt.zeroGrad();
    });
  }
  params.forEach((p, i) => {
    assert.equal(p.storage, storages[i]);
    assert.ok(p.storage.kept);
    assert.deepEqual(Array.from(views[i]), Array.from(p.data()), 'the old view sees the new values');
    const st = opt.state.get(p)!;
    assert.equal(st.step, 3);
    for (const t of Object.values(st.buffers)) { assert.ok(t.storage.kept); assert.ok(!t.storage.released); }
  });
});

test('a training step in a scope keeps live buffers flat (zeroGrad returns gradient buffers to the pool)', () => {
  const m = makeMlp(3);
  const opt = new Adam(mlpParams(m), { lr: 0.01, amsgrad: true });
  const { x, y } = makeBatch(new T.Generator(4), 8);
  const live: number[] = [];
  for (let s = 0; s < 6; s++) {
    T.scope(() => {
      T.backward(mlpLoss(m, x, y));
      opt.step();
      opt.zeroGrad();
    });
    live.push(T.memoryStats().liveBuffers);
  }
  assert.deepEqual(live.slice(1), live.slice(0, -1), `live buffers per step: ${live.join(', ')}`);
  for (const p of mlpParams(m)) assert.equal(p.grad, null);
});

test('zeroGrad({ setToNone: false }) zeroes gradients in place; setToNone leaves shared storages alone', () => {
  const p = T.tensor([1, 2, 3]).requiresGrad_();
  const g = T.tensor([4, 5, 6]);
  p.grad = g;
  const opt = new SGD([p], { lr: 0.1 });
  opt.zeroGrad({ setToNone: false });
  assert.equal(p.grad, g);
  assert.deepEqual(g.toArray(), [0, 0, 0]);
  // A gradient that is a view into a larger buffer (a gradient bucket) is dropped, not released.
  const bucket = T.zeros([6]).keep();
  p.grad = bucket.narrow(0, 3, 3);
  opt.zeroGrad();
  assert.equal(p.grad, null);
  assert.deepEqual(bucket.toArray(), [0, 0, 0, 0, 0, 0]);
});

test('bad options throw ValueError naming the option', () => {
  const p = () => [T.tensor([1, 2]).requiresGrad_()];
  const cases: [() => unknown, RegExp][] = [
    [() => new SGD(p(), { lr: -0.1 }), /lr/],
    [() => new SGD(p(), { lr: 0.1, momentum: -1 }), /momentum/],
    [() => new SGD(p(), { lr: 0.1, weightDecay: -1 }), /weightDecay/],
    [() => new SGD(p(), { lr: 0.1, nesterov: true }), /nesterov/],
    [() => new SGD(p(), { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /dampening/],
    [() => new Adam(p(), { lr: -1e-3 }), /lr/],
    [() => new Adam(p(), { lr: Number.NaN }), /lr/],
    [() => new Adam(p(), { betas: [1, 0.999] }), /betas\[0\]/],
    [() => new AdamW(p(), { betas: [0.9, -0.1] }), /betas\[1\]/],
    [() => new AdamW(p(), { betas: [0.9, 1.5] }), /betas\[1\]/],
    [() => new AdamW(p(), { eps: -1 }), /eps/],
    [() => new AdamW(p(), { weightDecay: -0.1 }), /weightDecay/],
    [() => new AdamW([{ params: p(), betas: [0.9, 1] }]), /param group 0.*betas\[1\]/],
    [() => new AdamW([{ params: p(), weight_decay: 0.1 } as never]), /unknown option 'weight_decay'/],
    [() => new AdamW([]), /empty parameter list/],
    [() => { const q = p(); return new AdamW([{ params: q }, { params: q }]); }, /more than one parameter group/],
    [() => new AdamW([T.tensor([1, 2, 3, 4], [2, 2]).transpose(0, 1)]), /contiguous/],
    [() => new AdamW([T.tensor([1, 2], [2], 'float64')]), /float32/],
  ];
  for (const [fn, re] of cases) assert.throws(fn, (e: unknown) => e instanceof ValueError && re.test(e.message), String(re));
});

test('stateDict / loadStateDict: a fresh optimiser continues identically; mismatches throw ValueError', () => {
  const gen = new T.Generator(11);
  const mk = () => [T.randn([3, 2], { generator: new T.Generator(5) }).requiresGrad_(), T.randn([2], { generator: new T.Generator(6) }).requiresGrad_()];
  const a = mk(), b = mk();
  const oa = new AdamW([{ params: [a[0]] }, { params: [a[1]], weightDecay: 0 }], { lr: 0.01, amsgrad: true });
  const grads = Array.from({ length: 6 }, () => [T.randn([3, 2], { generator: gen }), T.randn([2], { generator: gen })]);
  for (let s = 0; s < 3; s++) { a[0].grad = grads[s][0]; a[1].grad = s === 1 ? null : grads[s][1]; oa.step(); }
  const sd = JSON.parse(JSON.stringify(oa.stateDict(), (_k, v: unknown) => (v instanceof Float32Array ? Array.from(v) : v)));
  b.forEach((p, i) => (p.data() as Float32Array).set(a[i].data()));
  const ob = new AdamW([{ params: [b[0]] }, { params: [b[1]] }], { lr: 0.5 });
  ob.loadStateDict(sd);
  assert.equal(ob.paramGroups[0].lr, 0.01);
  assert.equal(ob.paramGroups[1].weightDecay, 0);
  assert.equal(ob.paramGroups[0].amsgrad, true);
  for (let s = 3; s < 6; s++) {
    a[0].grad = grads[s][0]; a[1].grad = grads[s][1]; oa.step();
    b[0].grad = grads[s][0]; b[1].grad = grads[s][1]; ob.step();
  }
  a.forEach((p, i) => assert.deepEqual(Array.from(b[i].data()), Array.from(p.data())));
  assert.throws(() => new SGD(mk(), { lr: 1 }).loadStateDict(oa.stateDict()), (e: unknown) => e instanceof ValueError && /algorithm/.test(e.message));
  assert.throws(() => new AdamW([{ params: mk() }]).loadStateDict(oa.stateDict()), (e: unknown) => e instanceof ValueError && /groups/.test(e.message));
  const wrong = [T.zeros([2, 3]).requiresGrad_(), T.zeros([2]).requiresGrad_()];
  assert.throws(() => new AdamW([{ params: [wrong[0]] }, { params: [wrong[1]] }]).loadStateDict(oa.stateDict()), (e: unknown) => e instanceof ValueError && /shape/.test(e.message));
});

test('setScheduledLr: lr = initialLr × schedule multiplier per group; exact schedule value when initialLr = baseLr', () => {
  const p = [T.tensor([1]).requiresGrad_(), T.tensor([2]).requiresGrad_()];
  const opt = new AdamW([{ params: [p[0]] }, { params: [p[1]], lr: 3e-4 }], { lr: 6e-4 });
  const sched = createSchedule({ type: 'cosine', baseLr: 6e-4, warmupSteps: 10, numTrainingSteps: 100 });
  for (const k of [0, 5, 10, 40, 99]) {
    setScheduledLr(opt, sched, k);
    assert.equal(opt.paramGroups[0].lr, sched.lrAt(k));
    const mult = k < 10 ? k / 10 : 0.5 * (1 + Math.cos(Math.PI * (k - 10) / 90));
    assert.ok(Math.abs(opt.paramGroups[1].lr - 3e-4 * mult) <= 1e-18, `k=${k}`);
  }
});
