// Portable elementwise kernels: unary maps (two of them GELU derivatives) and broadcasting binary maps.
import type { BinaryOp, FloatArray, UnaryOp } from '../backend.js';

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * erf in float64 (relative error ~1e-13): Maclaurin series for |x| < 3, and for |x| >= 3 the
 * continued fraction erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) (Abramowitz &
 * Stegun 7.1.5 and 7.1.14), evaluated bottom-up with a fixed depth.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 3) {
    const x2 = x * x;
    let term = x, sum = x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return sum * 2 / Math.sqrt(Math.PI);
  }
  if (ax > 27) return x > 0 ? 1 : -1;
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + (k / 2) / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

function sigmoid(x: number): number {
  // Two branches keep exp's argument non-positive, so ±1e4 never overflows to inf/inf.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function unaryScalar(op: UnaryOp, x: number, p0 = 0, p1 = 0): number {
  switch (op) {
    case 'neg': return -x;
    case 'exp': return Math.exp(x);
    case 'log': return Math.log(x);
    case 'log1p': return Math.log1p(x);
    case 'sqrt': return Math.sqrt(x);
    case 'rsqrt': return 1 / Math.sqrt(x);
    case 'abs': return Math.abs(x);
    case 'sign': return x > 0 ? 1 : x < 0 ? -1 : 0; // torch.sign: 0 at NaN
    case 'tanh': return Math.tanh(x);
    case 'sigmoid': return sigmoid(x);
    case 'relu': return x > 0 ? x : (x === x ? 0 : x);
    case 'gelu': return 0.5 * x * (1 + erf(x * SQRT1_2));
    case 'geluTanh': return 0.5 * x * (1 + Math.tanh(SQRT_2_PI * (x + 0.044715 * x * x * x)));
    case 'silu': return x * sigmoid(x);
    case 'square': return x * x;
    case 'reciprocal': return 1 / x;
    case 'powScalar': return Math.pow(x, p0);
    case 'clamp': {
      let y = x;
      if (!Number.isNaN(p0) && y < p0) y = p0;
      if (!Number.isNaN(p1) && y > p1) y = p1;
      return y;
    }
    case 'addScalar': return x + p0;
    case 'mulScalar': return x * p0;
    case 'rsubScalar': return p0 - x;
    case 'heaviside': return x > 0 ? 1 : x === 0 ? p0 : 0; // torch.heaviside: 0 at NaN
    case 'geluDerivative': {
      const cdf = 0.5 * (1 + erf(x * SQRT1_2));
      const pdf = Math.exp(-0.5 * x * x) * INV_SQRT_2PI;
      // x·pdf → 0 as |x| → ∞ (avoid ∞·0 = NaN at ±inf)
      return pdf === 0 ? cdf : cdf + x * pdf;
    }
    case 'geluTanhDerivative': {
      const inner = SQRT_2_PI * (x + 0.044715 * x * x * x);
      const t = Math.tanh(inner);
      const dInner = SQRT_2_PI * (1 + 3 * 0.044715 * x * x);
      const sech2 = 1 - t * t;
      // x·sech²·dInner is 0·∞ for huge |x|; the limit is 0.
      const tail = sech2 === 0 ? 0 : 0.5 * x * sech2 * dInner;
      return 0.5 * (1 + t) + tail;
    }
  }
}

export function unary(op: UnaryOp, x: FloatArray, out: FloatArray, n: number, p0 = 0, p1 = 0): void {
  switch (op) {
    // Hot paths unrolled by hand; the rest go through the scalar switch.
    case 'addScalar': for (let i = 0; i < n; i++) out[i] = x[i] + p0; return;
    case 'mulScalar': for (let i = 0; i < n; i++) out[i] = x[i] * p0; return;
    case 'exp': for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]); return;
    case 'neg': for (let i = 0; i < n; i++) out[i] = -x[i]; return;
    default: for (let i = 0; i < n; i++) out[i] = unaryScalar(op, x[i], p0, p1);
  }
}

/**
 * out[i] = g[i] · op(x[i]) in one pass; op(x[i]) is rounded to out's dtype first, so the result is
 * bit-identical to `unary` into a buffer followed by a `mul` (the backward rules' upstream × derivative).
 */
export function unaryMul(op: UnaryOp, x: FloatArray, g: FloatArray, out: FloatArray, n: number, p0 = 0, p1 = 0): void {
  if (out instanceof Float32Array) {
    for (let i = 0; i < n; i++) out[i] = g[i] * Math.fround(unaryScalar(op, x[i], p0, p1));
  } else {
    for (let i = 0; i < n; i++) out[i] = g[i] * unaryScalar(op, x[i], p0, p1);
  }
}

function binaryScalar(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case 'add': return a + b;
    case 'sub': return a - b;
    case 'mul': return a * b;
    case 'div': return a / b;
    case 'pow': return Math.pow(a, b);
    case 'maximum': return a !== a || b !== b ? NaN : a > b ? a : b;
    case 'minimum': return a !== a || b !== b ? NaN : a < b ? a : b;
  }
}

export function binary(op: BinaryOp, a: FloatArray, aStrides: readonly number[], b: FloatArray,
  bStrides: readonly number[], out: FloatArray, shape: readonly number[]): void {
  const nd = shape.length;
  let n = 1;
  for (const s of shape) n *= s;
  if (n === 0) return;
  // Fast paths: both contiguous, or one a scalar.
  const contig = (st: readonly number[]): boolean => {
    let expect = 1;
    for (let d = nd - 1; d >= 0; d--) {
      if (shape[d] !== 1 && st[d] !== expect) return false;
      expect *= shape[d];
    }
    return true;
  };
  const scalar = (st: readonly number[]): boolean => st.every((s, d) => s === 0 || shape[d] === 1);
  const aC = contig(aStrides), bC = contig(bStrides);
  if (aC && bC) {
    switch (op) {
      case 'add': for (let i = 0; i < n; i++) out[i] = a[i] + b[i]; return;
      case 'sub': for (let i = 0; i < n; i++) out[i] = a[i] - b[i]; return;
      case 'mul': for (let i = 0; i < n; i++) out[i] = a[i] * b[i]; return;
      case 'div': for (let i = 0; i < n; i++) out[i] = a[i] / b[i]; return;
      default: for (let i = 0; i < n; i++) out[i] = binaryScalar(op, a[i], b[i]); return;
    }
  }
  if (aC && scalar(bStrides)) {
    const bv = b[0];
    for (let i = 0; i < n; i++) out[i] = binaryScalar(op, a[i], bv);
    return;
  }
  if (bC && scalar(aStrides)) {
    const av = a[0];
    for (let i = 0; i < n; i++) out[i] = binaryScalar(op, av, b[i]);
    return;
  }
  // General case: iterate the last dimension in an inner loop, odometer over the rest.
  const last = shape[nd - 1];
  const as = aStrides[nd - 1], bs = bStrides[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let ao = 0, bo = 0;
  for (let o = 0; o < n; o += last) {
    for (let j = 0; j < last; j++) out[o + j] = binaryScalar(op, a[ao + j * as], b[bo + j * bs]);
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      ao += aStrides[d];
      bo += bStrides[d];
      if (idx[d] < shape[d]) break;
      ao -= aStrides[d] * shape[d];
      bo -= bStrides[d] * shape[d];
      idx[d] = 0;
    }
  }
}
