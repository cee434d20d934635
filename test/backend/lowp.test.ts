// Mixed-precision kernels (matmulLowp, castToLowp, castFromLowp) on both backends against an
// independent float64 computation: the product of the operands rounded to bf16 / f16 (by the
// bit rules of src/amp/cast.ts), with products exact and sums float32, so the error bound is
// k·2^-24·Σ|a||b| (float32 summation) per element. Every native bf16 implementation present here
// (oneDNN, the own vdpbf16ps kernel, emulation) is checked, and the casts bit for bit.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend, LowpDtype } from '../../src/backend/backend.js';
import { jsBackend } from '../../src/backend/js/index.js';
import { loadNativeAddon, loadNativeBackend, type Bf16GemmImpl } from '../../src/backend/native/index.js';
import { fromBfloat16Bits, fromFloat16Bits, toBfloat16Bits, toFloat16Bits } from '../../src/amp/cast.js';
import { rng } from '../util/rng.js';

const native = loadNativeBackend();
const addon = loadNativeAddon();
const skip = native ? false : 'native addon not built';

function randn(r: () => number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

const roundTo = (dtype: LowpDtype, x: number): number => (dtype === 'bfloat16' ? fromBfloat16Bits(toBfloat16Bits(x)) : fromFloat16Bits(toFloat16Bits(x)));

interface Case { batch: number; m: number; n: number; k: number; ta: boolean; tb: boolean; asb: number; bsb: number; alpha: number; beta: number }

/** Checks c (computed from c0 by the kernel) against the float64 product of the rounded operands. */
function check(dtype: LowpDtype, cs: Case, a: Float32Array, b: Float32Array, c0: Float32Array, c: Float32Array, what: string): void {
  const { batch, m, n, k, ta, tb, asb, bsb, alpha, beta } = cs;
  const ar = a.map((x) => roundTo(dtype, x)), br = b.map((x) => roundTo(dtype, x));
  for (let bi = 0; bi < batch; bi++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, sa = 0;
        for (let p = 0; p < k; p++) {
          const av = ta ? ar[bi * asb + p * m + i]! : ar[bi * asb + i * k + p]!;
          const bv = tb ? br[bi * bsb + j * k + p]! : br[bi * bsb + p * n + j]!;
          s += av * bv;
          sa += Math.abs(av * bv);
        }
        const idx = bi * m * n + i * n + j;
        const want = alpha * s + (beta === 0 ? 0 : beta * c0[idx]!);
        const tol = (k + 2) * 2 ** -23 * (Math.abs(alpha) * sa + Math.abs(beta * c0[idx]!)) + 1e-30;
        assert.ok(Math.abs(c[idx]! - want) <= tol, `${what} ${dtype} ${JSON.stringify(cs)} at [${bi},${i},${j}]: ${c[idx]} vs ${want} (tol ${tol})`);
      }
    }
  }
}

const cases: Case[] = [
  { batch: 1, m: 5, n: 7, k: 3, ta: false, tb: false, asb: 0, bsb: 0, alpha: 1, beta: 0 },
  { batch: 1, m: 17, n: 50, k: 33, ta: true, tb: false, asb: 0, bsb: 0, alpha: 1, beta: 0 },
  { batch: 1, m: 9, n: 49, k: 300, ta: false, tb: true, asb: 0, bsb: 0, alpha: 0.5, beta: 1 },
  { batch: 1, m: 64, n: 96, k: 520, ta: true, tb: true, asb: 0, bsb: 0, alpha: 1, beta: 2 },
  { batch: 3, m: 8, n: 48, k: 16, ta: false, tb: false, asb: 8 * 16, bsb: 0, alpha: 1, beta: 0 },
  { batch: 2, m: 13, n: 21, k: 11, ta: false, tb: true, asb: 13 * 11, bsb: 21 * 11, alpha: 1, beta: 0 },
  { batch: 1, m: 130, n: 200, k: 130, ta: false, tb: true, asb: 0, bsb: 0, alpha: 1, beta: 0 },
];

function runCase(be: Backend, dtype: LowpDtype, cs: Case, seed: number, what: string, bits = false): void {
  const r = rng(seed);
  const aLen = (cs.batch - 1) * cs.asb + cs.m * cs.k, bLen = (cs.batch - 1) * cs.bsb + cs.k * cs.n;
  const a = randn(r, aLen), b = randn(r, bLen), c0 = randn(r, cs.batch * cs.m * cs.n);
  const c = c0.slice();
  if (bits) {
    const a16 = new Uint16Array(aLen), b16 = new Uint16Array(bLen);
    be.castToLowp(dtype, a, a16, aLen);
    be.castToLowp(dtype, b, b16, bLen);
    be.matmulLowp(dtype, a16, b, c, cs.batch, cs.m, cs.n, cs.k, cs.ta, cs.tb, cs.asb, cs.bsb, cs.alpha, cs.beta);
    check(dtype, cs, a, b, c0, c, `${what} (a as bits)`);
    c.set(c0);
    be.matmulLowp(dtype, a, b16, c, cs.batch, cs.m, cs.n, cs.k, cs.ta, cs.tb, cs.asb, cs.bsb, cs.alpha, cs.beta);
    check(dtype, cs, a, b, c0, c, `${what} (b as bits)`);
    return;
  }
  be.matmulLowp(dtype, a, b, c, cs.batch, cs.m, cs.n, cs.k, cs.ta, cs.tb, cs.asb, cs.bsb, cs.alpha, cs.beta);
  check(dtype, cs, a, b, c0, c, what);
}

describe('matmulLowp (js reference)', () => {
  for (const dtype of ['bfloat16', 'float16'] as const) {
    test(`${dtype}: float32 and 16-bit operands`, () => {
      cases.slice(0, 6).forEach((cs, i) => { runCase(jsBackend, dtype, cs, 10 + i, 'js'); runCase(jsBackend, dtype, cs, 20 + i, 'js', true); });
    });
  }
  test('the rounding is visible: bf16 products differ from float32 ones', () => {
    const a = new Float32Array([1 + 2 ** -10]), b = new Float32Array([1]), c = new Float32Array(1);
    jsBackend.matmulLowp('bfloat16', a, b, c, 1, 1, 1, 1, false, false, 0, 0, 1, 0);
    assert.equal(c[0], 1); // 1 + 2^-10 rounds to 1 in bf16 (7 mantissa bits)
    jsBackend.matmulLowp('float16', a, b, c, 1, 1, 1, 1, false, false, 0, 0, 1, 0);
    assert.equal(c[0], 1 + 2 ** -10); // float16 keeps it (10 mantissa bits)
  });
});

describe('matmulLowp (native)', { skip }, () => {
  const info = addon?.bf16GemmInfo();
  const impls: Bf16GemmImpl[] = ['emulate'];
  if (info?.cpuBf16) impls.push('own');
  if (info?.cpuBf16 && info.dnnl) impls.push('dnnl');
  for (const impl of impls) {
    test(`bfloat16 via ${impl}: float32 and 16-bit operands`, () => {
      const prev = addon!.bf16GemmInfo().impl;
      addon!.bf16GemmInfo(impl);
      try {
        cases.forEach((cs, i) => { runCase(native!, 'bfloat16', cs, 30 + i, impl); runCase(native!, 'bfloat16', cs, 40 + i, impl, true); });
      } finally {
        addon!.bf16GemmInfo(prev);
      }
    });
  }
  test('float16 (rounded operands, float32 products)', () => {
    cases.forEach((cs, i) => { runCase(native!, 'float16', cs, 50 + i, 'native'); runCase(native!, 'float16', cs, 60 + i, 'native', true); });
  });
  test('beta = 0 ignores NaN in C; NaN and inf operands propagate', () => {
    const c = new Float32Array([NaN, NaN]);
    native!.matmulLowp('bfloat16', new Float32Array([1, 2]), new Float32Array([3, 4]), c, 1, 1, 1, 2, false, false, 0, 0, 1, 0);
    assert.equal(c[0], 11);
    native!.matmulLowp('bfloat16', new Float32Array([NaN, 2]), new Float32Array([3, 4]), c, 1, 1, 1, 2, false, false, 0, 0, 1, 0);
    assert.ok(Number.isNaN(c[0]));
    native!.matmulLowp('float16', new Float32Array([70000, 0]), new Float32Array([1, 0]), c, 1, 1, 1, 2, false, false, 0, 0, 1, 0);
    assert.equal(c[0], Infinity); // 70000 overflows float16
  });
  test('a too-short operand throws a RangeError', () => {
    assert.throws(() => native!.matmulLowp('bfloat16', new Float32Array(3), new Float32Array(4), new Float32Array(4), 1, 2, 2, 2, false, false, 0, 0, 1, 0), RangeError);
  });
});

describe('castToLowp / castFromLowp', () => {
  const specials = [0, -0, 1, -1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 65504, 65519, 65520, 1e-8, 6e-8, 2 ** -24, 2 ** -25, 3e38, 3.4e38,
    Infinity, -Infinity, NaN, 1.1754943508222875e-38, 1e-40];
  const r = rng(7);
  const xs = new Float32Array([...specials, ...randn(r, 5000).map((x) => x * 1000), ...randn(r, 100).map((x) => x * 1e-6)]);
  const backends: Backend[] = native ? [jsBackend, native] : [jsBackend];
  for (const be of backends) {
    for (const dtype of ['bfloat16', 'float16'] as const) {
      test(`${be.name} ${dtype}: bits equal the scalar rule, back to float32 exact`, () => {
        const bits = new Uint16Array(xs.length);
        be.castToLowp(dtype, xs, bits, xs.length);
        const back = new Float32Array(xs.length);
        be.castFromLowp(dtype, bits, back, xs.length);
        for (let i = 0; i < xs.length; i++) {
          const want = dtype === 'bfloat16' ? toBfloat16Bits(xs[i]!) : toFloat16Bits(xs[i]!);
          assert.equal(bits[i], want, `${dtype} bits of ${xs[i]}`);
          const wantBack = roundTo(dtype, xs[i]!);
          assert.ok(Object.is(back[i], wantBack) || (Number.isNaN(back[i]) && Number.isNaN(wantBack)), `${dtype} value of ${xs[i]}: ${back[i]} vs ${wantBack}`);
        }
      });
    }
  }
});
