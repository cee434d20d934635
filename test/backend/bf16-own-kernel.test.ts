// The native bf16 products' packing and epilogue paths (native/src/bf16-kernel.cc) on edge shapes,
// against an independent float64 computation: the product of the operands rounded to bf16 by the
// bit rule of src/amp/cast.ts. Products of two bf16 values are exact in float32 and the sums are
// float32, so an element may differ from the float64 value by (k + 2)·2^-23·Σ|a·b| (plus |bias|·2^-23
// with a bias); a bf16 result also by its rounding, half a bf16 ulp (2^-8 relative) of the value.
// Covered: both operand kinds (float32, bf16 bits) on both sides, every transpose, m or n = 1, tails
// that are not multiples of the 8 × 48 register block or of the 16-element transposes, odd k and k
// over several 256-element k blocks, bf16 operands starting at an odd element (not 4-byte aligned),
// products large enough to split across the pool's threads, bias and bf16 results (linearLowp,
// linearLowpBits, matmulLowpBits) over several k blocks with several row and column blocks per thread. Each implementation present (own kernel, oneDNN) is checked.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadNativeAddon, loadNativeBackend } from '../../src/backend/native/index.js';
import { fromBfloat16Bits, toBfloat16Bits } from '../../src/amp/cast.js';
import { bf16Impls, withBf16Impl } from '../util/bf16-impls.js';
import { rng } from '../util/rng.js';

const native = loadNativeBackend();
const addon = loadNativeAddon();
const skip = native ? false : 'native addon not built';
const r16 = (x: number): number => fromBfloat16Bits(toBfloat16Bits(x));

function randn(r: () => number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

/** An operand as the kernel gets it: float32, or bf16 bits in a Uint16Array that starts at element `offset` of its buffer. */
function operand(x: Float32Array, bits: boolean, offset: number): Float32Array | Uint16Array {
  if (!bits) return x;
  const buf = new Uint16Array(x.length + offset);
  for (let i = 0; i < x.length; i++) buf[offset + i] = toBfloat16Bits(x[i]!);
  return buf.subarray(offset);
}

interface Shape { m: number; n: number; k: number; ta: boolean; tb: boolean }

/** float64 product of the rounded operands and Σ|a·b| per element of C [m × n]. */
function reference(s: Shape, a: Float32Array, b: Float32Array): { want: Float64Array; mag: Float64Array } {
  const ar = a.map(r16), br = b.map(r16);
  const want = new Float64Array(s.m * s.n), mag = new Float64Array(s.m * s.n);
  for (let i = 0; i < s.m; i++) {
    for (let j = 0; j < s.n; j++) {
      let sum = 0, sa = 0;
      for (let p = 0; p < s.k; p++) {
        const av = s.ta ? ar[p * s.m + i]! : ar[i * s.k + p]!;
        const bv = s.tb ? br[j * s.k + p]! : br[p * s.n + j]!;
        sum += av * bv;
        sa += Math.abs(av * bv);
      }
      want[i * s.n + j] = sum;
      mag[i * s.n + j] = sa;
    }
  }
  return { want, mag };
}

function close(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} vs ${want} (tol ${tol})`);
}

const shapes: Shape[] = [];
// small edges: every transpose, m or n = 1, k = 1 / odd / over two k blocks
for (const [m, n, k] of [[1, 1, 1], [1, 50, 3], [9, 1, 2], [7, 47, 31], [9, 49, 257], [17, 97, 520], [8, 48, 513]] as const)
  for (const ta of [false, true]) for (const tb of [false, true]) shapes.push({ m, n, k, ta, tb });
// split across threads, by columns (n >= m) and by rows, with tails of the 8 × 48 block
shapes.push({ m: 67, n: 389, k: 515, ta: true, tb: false }, { m: 389, n: 67, k: 130, ta: false, tb: true },
  { m: 130, n: 200, k: 261, ta: false, tb: false }, { m: 203, n: 145, k: 64, ta: true, tb: true });

describe('bf16 products: own kernel packing and epilogues (native)', { skip }, () => {
  const impls = bf16Impls(addon).filter((i) => i !== 'emulate');
  for (const impl of impls) {
    test(`matmulLowp via ${impl}: operand kinds × transposes × edge shapes, alpha and beta`, () => {
      withBf16Impl(addon!, impl, () => {
        shapes.forEach((s, si) => {
          const r = rng(100 + si);
          const a = randn(r, s.m * s.k), b = randn(r, s.k * s.n), c0 = randn(r, s.m * s.n);
          const { want, mag } = reference(s, a, b);
          for (const [aBits, bBits] of [[false, false], [true, false], [false, true], [true, true]] as const) {
            const A = operand(a, aBits, 1), B = operand(b, bBits, 3);
            const what = `${impl} ${JSON.stringify(s)} a ${aBits ? 'bits' : 'f32'} b ${bBits ? 'bits' : 'f32'}`;
            const c = new Float32Array(s.m * s.n).fill(NaN); // beta 0 must not read C
            native!.matmulLowp('bfloat16', A, B, c, 1, s.m, s.n, s.k, s.ta, s.tb, 0, 0, 1, 0);
            for (let e = 0; e < c.length; e++) close(c[e]!, want[e]!, (s.k + 2) * 2 ** -23 * mag[e]! + 1e-30, `${what} at ${e}`);
            const c2 = c0.slice();
            native!.matmulLowp('bfloat16', A, B, c2, 1, s.m, s.n, s.k, s.ta, s.tb, 0, 0, 0.5, -2);
            for (let e = 0; e < c2.length; e++) {
              const w = 0.5 * want[e]! - 2 * c0[e]!;
              close(c2[e]!, w, (s.k + 3) * 2 ** -23 * (0.5 * mag[e]! + 2 * Math.abs(c0[e]!)) + 1e-30, `${what} alpha 0.5 beta -2 at ${e}`);
            }
          }
        });
      });
    });

    test(`bf16 results and bias via ${impl}: linearLowp, linearLowpBits, matmulLowpBits`, () => {
      withBf16Impl(addon!, impl, () => {
        for (const [rows, outF, inF] of [[1, 1, 1], [5, 49, 3], [33, 97, 257], [130, 200, 384], [389, 67, 130], [16, 2304, 768], [500, 130, 300], [3, 3500, 300]] as const) {
          const r = rng(rows * 7 + outF);
          const x = randn(r, rows * inF), w = randn(r, outF * inF), bias = randn(r, outF);
          const s: Shape = { m: rows, n: outF, k: inF, ta: false, tb: true };
          const { want, mag } = reference(s, x, w);
          const X = operand(x, true, 1), W = operand(w, false, 0);
          const what = `${impl} linear [${rows}x${inF}]·[${outF}x${inF}]ᵀ`;
          const out = new Float32Array(rows * outF).fill(NaN);
          native!.linearLowp('bfloat16', X, W, bias, out, rows, outF, inF);
          const out16 = new Uint16Array(rows * outF);
          native!.linearLowp('bfloat16', X, W, bias, out16, rows, outF, inF);
          const prod16 = new Uint16Array(rows * outF);
          // matmulLowpBits: the same product, no bias, alpha 2 (x·(wᵀ) with w given as its transpose)
          native!.matmulLowp('bfloat16', X, W, prod16, 1, rows, outF, inF, false, true, 0, 0, 2, 0);
          for (let e = 0; e < out.length; e++) {
            const j = e % outF, v = want[e]! + bias[j]!;
            const tol = (inF + 3) * 2 ** -23 * (mag[e]! + Math.abs(bias[j]!)) + 1e-30;
            close(out[e]!, v, tol, `${what} + bias (float32) at ${e}`);
            close(fromBfloat16Bits(out16[e]!), v, tol + 2 ** -8 * Math.abs(v), `${what} + bias (bf16) at ${e}`);
            const p = 2 * want[e]!;
            close(fromBfloat16Bits(prod16[e]!), p, 2 * (inF + 2) * 2 ** -23 * mag[e]! + 2 ** -8 * Math.abs(p) + 1e-30, `${what} alpha 2 (bf16) at ${e}`);
          }
          if (impl === 'own') {
            // The own kernel's bf16 store rounds the very float32 sums it would have stored (castToLowp's rule).
            const cast = new Uint16Array(rows * outF);
            native!.castToLowp('bfloat16', out, cast, rows * outF);
            assert.deepEqual(out16, cast, `${what}: bf16 result = castToLowp(float32 result)`);
          }
        }
      });
    });
  }

  test('matmulLowpBits of a transposed left operand (the dW shape) via own', () => {
    if (!impls.includes('own')) return;
    withBf16Impl(addon!, 'own', () => {
      const s: Shape = { m: 53, n: 75, k: 300, ta: true, tb: false };
      const r = rng(9);
      const a = randn(r, s.m * s.k), b = randn(r, s.k * s.n);
      const { want, mag } = reference(s, a, b);
      const c = new Uint16Array(s.m * s.n);
      native!.matmulLowp('bfloat16', operand(a, true, 1), operand(b, true, 0), c, 1, s.m, s.n, s.k, true, false, 0, 0, 1, 0);
      for (let e = 0; e < c.length; e++)
        close(fromBfloat16Bits(c[e]!), want[e]!, (s.k + 2) * 2 ** -23 * mag[e]! + 2 ** -8 * Math.abs(want[e]!) + 1e-30, `dW bits at ${e}`);
    });
  });
});
