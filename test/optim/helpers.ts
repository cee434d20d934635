// Shared by the optim tests: a tiny MLP built from tensor ops, and float64 reference optimisers
// written from the formulas in ../shared/golden/README.md (independent of src/optim).
import * as T from '../../src/tensor/index.js';

export interface Mlp {
  w1: T.Tensor; b1: T.Tensor; w2: T.Tensor; b2: T.Tensor;
}

/** A 2-layer MLP [3 → 8 → 2] with seeded N(0, 0.5²) parameters (kept, requiring grad). */
export function makeMlp(seed: number): Mlp {
  const gen = new T.Generator(seed);
  const p = (shape: number[]) => T.randn(shape, { generator: gen, std: 0.5 }).keep().requiresGrad_();
  return { w1: p([3, 8]), b1: p([8]), w2: p([8, 2]), b2: p([2]) };
}

export function mlpParams(m: Mlp): T.Tensor[] {
  return [m.w1, m.b1, m.w2, m.b2];
}

export function namedMlpParams(m: Mlp): [string, T.Tensor][] {
  return [['fc1.weight', m.w1], ['fc1.bias', m.b1], ['fc2.weight', m.w2], ['fc2.bias', m.b2]];
}

/** A fresh MLP whose parameters are copies of `m`'s. */
export function cloneMlp(m: Mlp): Mlp {
  const c = (t: T.Tensor) => T.tensor(Float32Array.from(t.data()), t.shape).keep().requiresGrad_();
  return { w1: c(m.w1), b1: c(m.b1), w2: c(m.w2), b2: c(m.b2) };
}

/** Mean-squared error of tanh(x W1 + b1) W2 + b2 against y: x [B, 3], y [B, 2] → scalar. */
export function mlpLoss(m: Mlp, x: T.Tensor, y: T.Tensor): T.Tensor {
  const h = T.tanh(T.add(T.matmul(x, m.w1), m.b1));
  const out = T.add(T.matmul(h, m.w2), m.b2);
  return T.mean(T.square(T.sub(out, y)));
}

/** A seeded batch: x [n, 3], y [n, 2]. */
export function makeBatch(gen: T.Generator, n: number): { x: T.Tensor; y: T.Tensor } {
  return { x: T.randn([n, 3], { generator: gen }).keep(), y: T.randn([n, 2], { generator: gen }).keep() };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ua.every((v, i) => v === ub[i]);
}

/** Float64 reference state of one parameter. */
export interface RefState { t: number; m: Float64Array; v: Float64Array; vmax: Float64Array; buf: Float64Array | null }

export function refState(n: number): RefState {
  return { t: 0, m: new Float64Array(n), v: new Float64Array(n), vmax: new Float64Array(n), buf: null };
}

/** One float64 Adam / AdamW step as the golden README writes it. */
export function refAdam(p: Float64Array, g: ArrayLike<number>, s: RefState, o: {
  lr: number; b1: number; b2: number; eps: number; wd: number; amsgrad: boolean; decoupled: boolean; maximize?: boolean;
}): void {
  s.t += 1;
  const bc1 = 1 - o.b1 ** s.t, bc2 = 1 - o.b2 ** s.t;
  for (let i = 0; i < p.length; i++) {
    let gi = o.maximize ? -g[i] : g[i];
    if (o.decoupled) p[i] *= 1 - o.lr * o.wd;
    else gi += o.wd * p[i];
    s.m[i] = o.b1 * s.m[i] + (1 - o.b1) * gi;
    s.v[i] = o.b2 * s.v[i] + (1 - o.b2) * gi * gi;
    let v = s.v[i];
    if (o.amsgrad) { s.vmax[i] = Math.max(s.vmax[i], v); v = s.vmax[i]; }
    p[i] -= (o.lr / bc1) * s.m[i] / (Math.sqrt(v) / Math.sqrt(bc2) + o.eps);
  }
}

/** One float64 SGD step as the golden README writes it. */
export function refSgd(p: Float64Array, g: ArrayLike<number>, s: RefState, o: {
  lr: number; momentum: number; dampening: number; nesterov: boolean; wd: number; maximize?: boolean;
}): void {
  const d = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) d[i] = (o.maximize ? -g[i] : g[i]) + o.wd * p[i];
  if (o.momentum !== 0) {
    if (s.buf === null) s.buf = Float64Array.from(d);
    else for (let i = 0; i < p.length; i++) s.buf[i] = o.momentum * s.buf[i] + (1 - o.dampening) * d[i];
    for (let i = 0; i < p.length; i++) d[i] = o.nesterov ? d[i] + o.momentum * s.buf[i] : s.buf[i];
  }
  for (let i = 0; i < p.length; i++) p[i] -= o.lr * d[i];
}
