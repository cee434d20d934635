// GradScaler: growth, backoff, the float32 cap, skipping, usage errors and state round trips,
// against the torch.cuda.amp rules in ../shared/golden/README.md.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValueError } from '../../src/errors.js';
import { GradScaler, SGD } from '../../src/optim/index.js';
import * as T from '../../src/tensor/index.js';

function setup(opts: ConstructorParameters<typeof GradScaler>[0]) {
  const p = T.tensor([1, -1]).requiresGrad_();
  const opt = new SGD([p], { lr: 0.5 });
  return { p, opt, scaler: new GradScaler(opts) };
}

function iterate(s: ReturnType<typeof setup>, grad: number[]): boolean {
  s.p.grad = T.tensor(Float32Array.from(grad.map((g) => g * s.scaler.getScale())));
  const stepped = s.scaler.step(s.opt);
  s.scaler.update();
  return stepped;
}

test('defaults: scale 65536, growth only after 2000 clean steps, overflow halves it and resets the tracker', () => {
  const s = setup({});
  assert.equal(s.scaler.getScale(), 65536);
  for (let i = 0; i < 1999; i++) iterate(s, [0, 0]);
  assert.equal(s.scaler.getScale(), 65536);
  assert.equal(s.scaler.getGrowthTracker(), 1999);
  iterate(s, [0, 0]);
  assert.equal(s.scaler.getScale(), 131072);
  assert.equal(s.scaler.getGrowthTracker(), 0);
  assert.equal(iterate(s, [Infinity, 0]), false);
  assert.equal(s.scaler.getScale(), 65536);
});

test('step unscales, updates the parameters when finite, skips them entirely on NaN/inf', () => {
  const s = setup({ initScale: 1024, growthInterval: 2 });
  assert.equal(iterate(s, [0.5, -0.25]), true);
  assert.deepEqual(s.p.toArray(), [0.75, -0.875]);
  assert.deepEqual(s.p.grad!.toArray(), [0.5, -0.25], 'gradients are unscaled in place');
  assert.equal(iterate(s, [Number.NaN, 1]), false);
  assert.deepEqual(s.p.toArray(), [0.75, -0.875]);
  assert.equal(s.scaler.getScale(), 512);
  assert.equal(s.scaler.getGrowthTracker(), 0);
});

test('scale(): float32(loss·S) for tensors (differentiable) and numbers', () => {
  const s = setup({ initScale: 3 });
  assert.equal(s.scaler.scale(0.1), Math.fround(0.1 * 3));
  const x = T.tensor([0.1]).requiresGrad_();
  const y = s.scaler.scale(T.sum(x));
  assert.equal(y.item(), Math.fround(Math.fround(0.1) * 3));
  T.backward(y);
  assert.deepEqual(x.grad!.toArray(), [3]);
});

test('growth past the float32 range: inf without the cap (PyTorch 1.13), kept with capScaleGrowthAtFp32Max', () => {
  const near = 2 ** 127;
  const capped = setup({ initScale: near, growthInterval: 1, capScaleGrowthAtFp32Max: true });
  iterate(capped, [0, 0]);
  assert.equal(capped.scaler.getScale(), near);
  assert.equal(capped.scaler.getGrowthTracker(), 0);
  const uncapped = setup({ initScale: near, growthInterval: 1 });
  iterate(uncapped, [0, 0]);
  assert.equal(uncapped.scaler.getScale(), Infinity);
});

test('usage errors: unscale_ twice, step twice, update with nothing recorded', () => {
  const s = setup({});
  s.p.grad = T.tensor([1, 1]);
  s.scaler.unscale_(s.opt);
  assert.throws(() => s.scaler.unscale_(s.opt), (e: unknown) => e instanceof ValueError && /already been called/.test(e.message));
  s.scaler.step(s.opt);
  assert.throws(() => s.scaler.step(s.opt), ValueError);
  s.scaler.update();
  assert.throws(() => s.scaler.update(), (e: unknown) => e instanceof ValueError && /no inf checks/.test(e.message));
});

test('disabled scaler is a no-op that always steps', () => {
  const s = setup({ enabled: false });
  assert.equal(s.scaler.scale(2.5), 2.5);
  s.p.grad = T.tensor([Infinity, 0]);
  assert.equal(s.scaler.step(s.opt), true);
  assert.equal(s.scaler.getScale(), 1);
});

test('bad options throw ValueError naming the option; state round-trips through JSON', () => {
  for (const [o, re] of [[{ growthFactor: 1 }, /growthFactor/], [{ backoffFactor: 1 }, /backoffFactor/], [{ growthInterval: 0 }, /growthInterval/],
    [{ initScale: -1 }, /initScale/], [{ growthInterval: 1.5 }, /growthInterval/]] as const) {
    assert.throws(() => new GradScaler(o), (e: unknown) => e instanceof ValueError && re.test(e.message), String(re));
  }
  const a = setup({ initScale: 256, growthInterval: 3 });
  iterate(a, [1, 1]);
  iterate(a, [1, 1]);
  const b = new GradScaler({});
  b.loadStateDict(JSON.parse(JSON.stringify(a.scaler.stateDict())));
  assert.deepEqual(b.stateDict(), a.scaler.stateDict());
  assert.throws(() => b.loadStateDict({ ...a.scaler.stateDict(), growthTracker: -1 }), (e: unknown) => e instanceof ValueError && /growthTracker/.test(e.message));
});
