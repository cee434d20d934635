/**
 * Float64 finite-difference gradient check for tests: compares the autograd gradients of
 * L = Σ g·f(inputs) (g a fixed random upstream gradient) with central differences
 * (L(x + εe_i) - L(x - εe_i)) / 2ε for elements of every input.
 */
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Check at most this many elements per input (spread evenly); default all. */
  maxPerInput?: number;
  seed?: number;
}

/** A float64 tensor of N(0, std) values that requires grad. */
export function randn64(shape: number[], gen: T.Generator, std = 1): T.Tensor {
  return T.randn(shape, { generator: gen, std, dtype: 'float64' }).requiresGrad_();
}

/**
 * Checks d(Σ g·fn())/d input for every tensor of `inputs` (float64 leaves requiring grad).
 * `fn` must be deterministic (no dropout). Fails the test with the first mismatch.
 */
export function gradcheck(fn: () => T.Tensor, inputs: Record<string, T.Tensor>, opts: GradcheckOptions = {}): void {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-7, rtol = opts.rtol ?? 1e-5;
  for (const [name, x] of Object.entries(inputs)) {
    assert.equal(x.dtype, 'float64', `gradcheck: input ${name} must be float64`);
    assert.ok(x.isContiguous(), `gradcheck: input ${name} must be contiguous`);
    x.grad = null;
  }
  const y = fn();
  assert.equal(y.dtype, 'float64', 'gradcheck: output must be float64');
  const g = T.randn(y.shape, { generator: new T.Generator(opts.seed ?? 7), dtype: 'float64' });
  const gd = g.data();
  T.backward(y, g);
  const loss = (): number => {
    const out = T.noGrad(fn).contiguous().data();
    let s = 0;
    for (let i = 0; i < out.length; i++) s += gd[i] * out[i];
    return s;
  };
  for (const [name, x] of Object.entries(inputs)) {
    const d = x.data();
    const analytic = x.grad ? x.grad.contiguous().data() : new Float64Array(d.length);
    const n = d.length;
    const count = Math.min(n, opts.maxPerInput ?? n);
    for (let k = 0; k < count; k++) {
      const i = count === n ? k : Math.floor((k * n) / count);
      const orig = d[i];
      d[i] = orig + eps;
      const lp = loss();
      d[i] = orig - eps;
      const lm = loss();
      d[i] = orig;
      const numeric = (lp - lm) / (2 * eps);
      const a = analytic[i];
      assert.ok(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric),
        `gradcheck: d/d${name}[${i}] analytic ${a} vs numeric ${numeric}`);
    }
  }
}
