// Elementwise ops: unary maps and broadcasting binary arithmetic, forward and backward side by side.
import { ShapeError, ValueError } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import type { BinaryOp, FloatArray, UnaryOp } from '../../backend/backend.js';
import { record } from '../autograd.js';
import { type DType, isLowpDtype } from '../dtype.js';
import { broadcastShapes, broadcastStrides, sameShape } from '../shape.js';
import { contiguousStrides, empty, full, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { sumToShape } from './broadcast.js';
import { contiguous } from './views.js';
import { geluBf16 } from './gelu-bf16.js';

registerOp('elementwise', ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'neg', 'exp', 'log', 'log1p', 'sqrt',
  'rsqrt', 'abs', 'tanh', 'sigmoid', 'relu', 'gelu', 'geluTanh', 'silu', 'square', 'reciprocal', 'powScalar', 'clamp',
  'addScalar', 'mulScalar', 'rsubScalar']);
registerOp('elementwise', ['sign', 'heaviside', 'geluDerivative', 'geluTanhDerivative', 'addInPlace'], false);

function floatDtype(t: Tensor, op: string): DType {
  if (t.dtype === 'float32' || t.dtype === 'float64') return t.dtype;
  if (t.dtype === 'int32') return 'float32';
  throw new ValueError(`${op}: dtype ${t.dtype} is a storage format; cast it to float32 first`);
}

/** The float data of t, contiguous (int32 converted to float32). */
function floatData(t: Tensor, op: string): { data: FloatArray; t: Tensor } {
  let c = contiguous(t);
  if (c.dtype === 'int32') {
    const f = empty(c.shape, 'float32');
    const src = c.data(), dst = f.storage.data;
    for (let i = 0; i < src.length; i++) dst[i] = src[i];
    c = f;
  } else floatDtype(c, op);
  return { data: c.data() as FloatArray, t: c };
}

/** Backward of a unary map in tensor ops: g upstream, x the input, y the output, p0/p1 its parameters. */
type UnaryBackward = (g: Tensor, x: Tensor, y: Tensor, p0: number, p1: number) => Tensor;

/**
 * The derivative rules of the unary maps, the only place they are written (backends compute
 * functions, never derivatives). null: not differentiable, the output does not require grad.
 * Zero upstream times an infinite local derivative gives NaN, as in PyTorch (e.g. sqrt at 0).
 */
const UNARY_BACKWARD: Readonly<Record<UnaryOp, UnaryBackward | null>> = {
  neg: (g) => neg(g),
  exp: (g, _x, y) => mul(g, y),
  log: (g, x) => div(g, x),
  log1p: (g, x) => div(g, addScalar(x, 1)),
  sqrt: (g, _x, y) => div(mulScalar(g, 0.5), y),
  rsqrt: (g, _x, y) => mul(g, mulScalar(mul(y, square(y)), -0.5)),
  abs: (g, x) => mulMap(g, 'sign', x),
  // sign is piecewise constant: zero gradient (PyTorch), though not a gradient-checked op.
  sign: (g) => full(g.shape, 0, g.dtype),
  tanh: (g, _x, y) => mul(g, rsubScalar(square(y), 1)),
  sigmoid: (g, _x, y) => mul(g, mul(y, rsubScalar(y, 1))),
  relu: (g, x) => mulMap(g, 'heaviside', x, 0),
  gelu: (g, x) => mulMap(g, 'geluDerivative', x),
  geluTanh: (g, x) => mulMap(g, 'geluTanhDerivative', x),
  silu: (g, x) => {
    const s = sigmoid(x); // d/dx x·s(x) = s·(1 + x·(1 − s))
    return mul(g, mul(s, addScalar(mul(x, rsubScalar(s, 1)), 1)));
  },
  square: (g, x) => mul(g, mulScalar(x, 2)),
  reciprocal: (g, _x, y) => neg(mul(g, square(y))),
  powScalar: (g, x, _y, p) => (p === 0 ? full(g.shape, 0, g.dtype) : mul(g, mulScalar(unaryOp('powScalar', x, p - 1), p))),
  clamp: (g, x, _y, lo, hi) => {
    // 1 on [lo, hi] (bounds included, as PyTorch), 0 outside.
    let d = g;
    if (!Number.isNaN(lo)) d = mul(d, heaviside(addScalar(x, -lo), 1));
    if (!Number.isNaN(hi)) d = mul(d, heaviside(rsubScalar(x, hi), 1));
    return d;
  },
  addScalar: (g) => g,
  mulScalar: (g, _x, _y, p) => mulScalar(g, p),
  rsubScalar: (g) => neg(g),
  heaviside: null,
  geluDerivative: null,
  geluTanhDerivative: null,
};

/**
 * g · op(x) for a backward rule (upstream times a local derivative map) in one kernel pass
 * (`unaryMul`), the same values as mul(g, op(x)); not recorded (backward runs without grad).
 * Falls back to the two ops when shapes or dtypes differ (g broadcast or another float dtype).
 */
function mulMap(g: Tensor, op: UnaryOp, x: Tensor, p0 = 0, p1 = 0): Tensor {
  const dt = floatDtype(x, op);
  if (!sameShape(g.shape, x.shape) || g.dtype !== dt) return mul(g, unaryOp(op, x, p0, p1));
  const xd = floatData(x, op).data, gd = contiguous(g).data() as FloatArray;
  const out = empty(x.shape, dt);
  getBackend().unaryMul(op, xd, gd, out.storage.data as FloatArray, out.numel(), p0, p1);
  return out;
}
/** The unary maps whose derivative rule reads the output y (the others read x, or nothing). */
const UNARY_READS_OUTPUT: ReadonlySet<UnaryOp> = new Set<UnaryOp>(['exp', 'sqrt', 'rsqrt', 'tanh', 'sigmoid', 'reciprocal']);
const UNARY_READS_NOTHING: ReadonlySet<UnaryOp> = new Set<UnaryOp>(['neg', 'sign', 'addScalar', 'mulScalar', 'rsubScalar']);

function unaryOp(op: UnaryOp, x: Tensor, p0 = 0, p1 = 0): Tensor {
  const { data } = floatData(x, op);
  const out = empty(x.shape, floatDtype(x, op));
  getBackend().unary(op, data, out.storage.data as FloatArray, out.numel(), p0, p1);
  const rule = UNARY_BACKWARD[op];
  if (!rule) return out;
  return record(op, out, [x], (g) => [rule(g, x.detach(), out.detach(), p0, p1)], UNARY_READS_OUTPUT.has(op) ? [out] : UNARY_READS_NOTHING.has(op) ? [] : [x]);
}

export const neg = (x: Tensor): Tensor => unaryOp('neg', x);
export const exp = (x: Tensor): Tensor => unaryOp('exp', x);
export const log = (x: Tensor): Tensor => unaryOp('log', x);
export const log1p = (x: Tensor): Tensor => unaryOp('log1p', x);
export const sqrt = (x: Tensor): Tensor => unaryOp('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unaryOp('rsqrt', x);
export const abs = (x: Tensor): Tensor => unaryOp('abs', x);
export const sign = (x: Tensor): Tensor => unaryOp('sign', x);
export const tanh = (x: Tensor): Tensor => unaryOp('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unaryOp('sigmoid', x);
export const relu = (x: Tensor): Tensor => unaryOp('relu', x);
export const silu = (x: Tensor): Tensor => unaryOp('silu', x);
export const square = (x: Tensor): Tensor => unaryOp('square', x);
export const reciprocal = (x: Tensor): Tensor => unaryOp('reciprocal', x);
/**
 * GELU: `approximate` 'none' = 0.5·x·(1+erf(x/√2)) (Hendrycks & Gimpel 2016); 'tanh' = GPT-2's `gelu_new`.
 * Same dtype in and out: float32 / float64, or bfloat16 (gelu-bf16.ts: bf16 autocast's MLP, as PyTorch).
 */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor =>
  x.dtype === 'bfloat16' ? geluBf16(x, approximate) : unaryOp(approximate === 'tanh' ? 'geluTanh' : 'gelu', x);
/** Clamps to [min, max]; either bound may be undefined. Gradient 0 where clamped. */
export const clamp = (x: Tensor, min?: number, max?: number): Tensor => unaryOp('clamp', x, min ?? NaN, max ?? NaN);
export const addScalar = (x: Tensor, s: number): Tensor => unaryOp('addScalar', x, s);
export const mulScalar = (x: Tensor, s: number): Tensor => unaryOp('mulScalar', x, s);
/** s − x. */
export const rsubScalar = (x: Tensor, s: number): Tensor => unaryOp('rsubScalar', x, s);
/** Heaviside step (torch.heaviside with a scalar `valueAtZero`): 1 for x > 0, 0 for x < 0. Not differentiable. */
export const heaviside = (x: Tensor, valueAtZero: number): Tensor => unaryOp('heaviside', x, valueAtZero);

function binaryOp(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(a.shape, b.shape, op);
  const dt: DType = floatDtype(a, op) === 'float64' || floatDtype(b, op) === 'float64' ? 'float64' : 'float32';
  const ar = a.dtype === dt ? a : castFloat(a, dt);
  const br = b.dtype === dt ? b : castFloat(b, dt);
  const out = empty(shape, dt);
  getBackend().binary(op,
    (ar.storage.data as FloatArray).subarray(ar.offset), broadcastStrides(ar.shape, ar.strides, shape),
    (br.storage.data as FloatArray).subarray(br.offset), broadcastStrides(br.shape, br.strides, shape),
    out.storage.data as FloatArray, shape);
  return record(op, out, [a, b], (g) => {
    switch (op) {
      case 'add': return [sumToShape(g, a.shape), sumToShape(g, b.shape)];
      case 'sub': return [sumToShape(g, a.shape), b.requiresGrad ? sumToShape(neg(g), b.shape) : null];
      case 'mul': return [
        a.requiresGrad ? sumToShape(mul(g, br), a.shape) : null,
        b.requiresGrad ? sumToShape(mul(g, ar), b.shape) : null];
      case 'div': return [
        a.requiresGrad ? sumToShape(div(g, br), a.shape) : null,
        b.requiresGrad ? sumToShape(neg(div(mul(g, out), br)), b.shape) : null];
      case 'pow': return [
        // d/da a^b = b·a^(b-1); d/db a^b = a^b·log a
        a.requiresGrad ? sumToShape(mul(g, mul(br, binaryOp('pow', ar, addScalar(br, -1)))), a.shape) : null,
        b.requiresGrad ? sumToShape(mul(g, mul(out, log(ar))), b.shape) : null];
      case 'maximum':
      case 'minimum': {
        // The gradient goes to the selected operand; ties split it evenly, as PyTorch.
        const ae = empty(shape, dt), be = empty(shape, dt);
        const o = out.data() as FloatArray;
        const av = contiguous(expandTo(ar, shape)).data(), bv = contiguous(expandTo(br, shape)).data();
        const ad = ae.storage.data, bd = be.storage.data;
        for (let i = 0; i < o.length; i++) {
          const ta = av[i] === o[i], tb = bv[i] === o[i];
          ad[i] = ta && tb ? 0.5 : ta ? 1 : 0;
          bd[i] = ta && tb ? 0.5 : tb ? 1 : 0;
        }
        return [a.requiresGrad ? sumToShape(mul(g, ae), a.shape) : null, b.requiresGrad ? sumToShape(mul(g, be), b.shape) : null];
      }
    }
  }, op === 'add' || op === 'sub' ? [] : [ar, br, out]);
}

function expandTo(t: Tensor, shape: readonly number[]): Tensor {
  return new Tensor(t.storage, shape, broadcastStrides(t.shape, t.strides, shape), t.offset, t.dtype);
}

// A 16-bit tensor's storage holds bit patterns, not values: they are decoded (exactly, to float32)
// and encoded (rounded to nearest even from float32, as castToLowp) by the backend, never copied as numbers.
function castFloat(t: Tensor, dt: DType): Tensor {
  const c = contiguous(t);
  const out = empty(t.shape, dt);
  const n = c.numel();
  const be = getBackend();
  let s = c.data() as ArrayLike<number>;
  if (isLowpDtype(c.dtype)) {
    const f = new Float32Array(n);
    if (n > 0) be.castFromLowp(c.dtype, s as Uint16Array, f, n);
    s = f;
  }
  if (isLowpDtype(dt)) {
    // float64 is rounded to float32 first (a second rounding only for values within 2^-29 relative of a bf16 tie).
    const f = s instanceof Float32Array ? s : Float32Array.from(s);
    if (n > 0) be.castToLowp(dt, f, out.storage.data as Uint16Array, n);
  } else {
    const d = out.storage.data;
    for (let i = 0; i < n; i++) d[i] = s[i]!;
  }
  return record('cast', out, [t], (g) => [castFloat(g, t.dtype)]);
}

type Operand = Tensor | number;
function lift(v: Operand, like: Operand): Tensor {
  if (v instanceof Tensor) return v;
  const dt = like instanceof Tensor && like.dtype === 'float64' ? 'float64' : 'float32';
  return full([], v, dt);
}

export const add = (a: Operand, b: Operand): Tensor => binaryOp('add', lift(a, b), lift(b, a));
export const sub = (a: Operand, b: Operand): Tensor => binaryOp('sub', lift(a, b), lift(b, a));
export const mul = (a: Operand, b: Operand): Tensor => binaryOp('mul', lift(a, b), lift(b, a));
export const div = (a: Operand, b: Operand): Tensor => binaryOp('div', lift(a, b), lift(b, a));
export const maximum = (a: Operand, b: Operand): Tensor => binaryOp('maximum', lift(a, b), lift(b, a));
export const minimum = (a: Operand, b: Operand): Tensor => binaryOp('minimum', lift(a, b), lift(b, a));
/** a^b; a scalar exponent uses the cheaper unary path. */
export function pow(a: Operand, b: Operand): Tensor {
  if (a instanceof Tensor && typeof b === 'number') return unaryOp('powScalar', a, b);
  return binaryOp('pow', lift(a, b), lift(b, a));
}

/**
 * Converts to another dtype (PyTorch `Tensor.to(dtype)`): float32/float64/bfloat16/float16 by value
 * (16-bit dtypes decoded exactly, encoded with round to nearest even), int32 truncated toward zero;
 * differentiable between the float types (the gradient is cast back to t's dtype).
 */
export function cast(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  if (dtype === 'int32') {
    const c = contiguous(isLowpDtype(t.dtype) ? castFloat(t.detach(), 'float32') : t);
    const out = empty(t.shape, 'int32');
    const s = c.data(), d = out.storage.data;
    for (let i = 0; i < s.length; i++) d[i] = Math.trunc(s[i]);
    return out;
  }
  return castFloat(t, dtype);
}

/**
 * In place, no autograd: dst += alpha·src (src broadcasts to dst's shape; dst contiguous, float).
 * For gradient buffers accumulated outside the tape (the fused LM head's weight.grad). Returns dst.
 * @throws ShapeError when dst is not contiguous or src does not broadcast to it.
 */
export function addInPlace(dst: Tensor, src: Tensor, alpha = 1): Tensor {
  if (!dst.isContiguous()) throw new ShapeError('addInPlace: dst must be contiguous');
  const s = alpha === 1 ? src : mulScalar(src.detach(), alpha);
  broadcastShapes(dst.shape, s.shape, 'addInPlace');
  const sr = s.dtype === dst.dtype ? s : castFloat(s.detach(), dst.dtype);
  const d = (dst.storage.data as FloatArray).subarray(dst.offset);
  getBackend().binary('add', d, contiguousStrides(dst.shape), (sr.storage.data as FloatArray).subarray(sr.offset),
    broadcastStrides(sr.shape, sr.strides, dst.shape), d, dst.shape);
  return dst;
}
