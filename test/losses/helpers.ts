// Test helpers: float64 tensors, finite-difference gradient checks, relative comparisons.
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';

/** A seeded float64 tensor with normal entries (scaled). */
export function randn64(shape: number[], gen: T.Generator, scale = 1): T.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = gen.normal() * scale;
  return T.tensor(d, shape);
}

/** A seeded float64 tensor with entries in [lo, hi). */
export function rand64(shape: number[], gen: T.Generator, lo = 0, hi = 1): T.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = lo + (hi - lo) * gen.random();
  return T.tensor(d, shape);
}

export function ints(values: number[], shape?: number[]): T.Tensor {
  return T.tensor(Int32Array.from(values), shape ?? [values.length], 'int32');
}

/**
 * Checks the autograd gradients of `f` (→ any-shape tensor, reduced here as Σ out·r with a fixed
 * random r) against central differences for every element of every input in `inputs`.
 */
export function gradCheck(f: (xs: T.Tensor[]) => T.Tensor, inputs: T.Tensor[], opts: { h?: number; tol?: number; seed?: number } = {}): void {
  const h = opts.h ?? 1e-6, tol = opts.tol ?? 1e-6;
  const gen = new T.Generator(opts.seed ?? 7);
  const probe = f(inputs.map((x) => x.detach()));
  const r = randn64([...probe.shape], gen);
  const scalarOf = (xs: T.Tensor[]): number => {
    const out = f(xs);
    const o = out.data(), rd = r.data();
    let s = 0;
    for (let i = 0; i < o.length; i++) s += o[i] * rd[i];
    return s;
  };
  const leaves = inputs.map((x) => T.tensor(Float64Array.from(x.data()), [...x.shape]).requiresGrad_());
  const out = f(leaves);
  T.backward(T.sum(T.mul(out, r)));
  inputs.forEach((x, k) => {
    const base = Float64Array.from(x.data());
    const g = leaves[k].grad ? leaves[k].grad!.data() : new Float64Array(base.length);
    for (let i = 0; i < base.length; i++) {
      const plus = Float64Array.from(base), minus = Float64Array.from(base);
      plus[i] += h;
      minus[i] -= h;
      const others = (arr: Float64Array) => inputs.map((y, j) => (j === k ? T.tensor(arr, [...x.shape]) : y.detach()));
      const num = (scalarOf(others(plus)) - scalarOf(others(minus))) / (2 * h);
      const err = Math.abs(num - g[i]);
      assert.ok(err <= tol * Math.max(1, Math.abs(num)), `input ${k} element ${i}: autograd ${g[i]} vs finite difference ${num}`);
    }
  });
}

/** |a − b| ≤ rtol·max(|a|, |b|) + atol, elementwise, with a message naming the element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol = 0, what = 'value'): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e)) { assert.ok(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`); continue; }
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.max(Math.abs(a), Math.abs(e)), `${what}[${i}]: ${a} vs ${e}`);
  }
}
