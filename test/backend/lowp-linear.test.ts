// The linear layer's fused mixed-precision kernels on both backends against independent
// computations: linearLowp (x·wᵀ + bias with x, w rounded to bf16 / f16) against the float64 product
// of the rounded operands plus the bias, within the float32 summation bound (k + 2)·2^-23·(Σ|x·w| +
// |bias|); castToLowpColumnSums against the scalar rounding rule bit for bit, against the float32
// column sums in its documented order (blocks of 256 rows, Math.fround after every addition) exactly,
// and against the float64 sums within rows·2^-24·Σ|x|. Every native bf16 GEMM
// present here (oneDNN with its bias argument, the own kernel, emulation) is checked.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend, LowpDtype } from '../../src/backend/backend.js';
import { jsBackend } from '../../src/backend/js/index.js';
import { loadNativeAddon, loadNativeBackend } from '../../src/backend/native/index.js';
import { fromBfloat16Bits, fromFloat16Bits, toBfloat16Bits, toFloat16Bits } from '../../src/amp/cast.js';
import { rng } from '../util/rng.js';
import { bf16Impls, withBf16Impl } from '../util/bf16-impls.js';

const native = loadNativeBackend();
const addon = loadNativeAddon();
const backends: Backend[] = native ? [jsBackend, native] : [jsBackend];

function randn(r: () => number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}
const roundTo = (dtype: LowpDtype, x: number): number => (dtype === 'bfloat16' ? fromBfloat16Bits(toBfloat16Bits(x)) : fromFloat16Bits(toFloat16Bits(x)));
const bitsOf = (dtype: LowpDtype, x: number): number => (dtype === 'bfloat16' ? toBfloat16Bits(x) : toFloat16Bits(x));

/** linearLowp on `be` for rows x outF x inF (x as 16-bit bits when `xBits`), checked element by element. */
function checkLinear(be: Backend, dtype: LowpDtype, rows: number, outF: number, inF: number, withBias: boolean, xBits: boolean, seed: number): void {
  const r = rng(seed);
  const x = randn(r, rows * inF), w = randn(r, outF * inF), bias = withBias ? randn(r, outF).map((v) => v * 4) : null;
  const xArg = xBits ? Uint16Array.from(x, (v) => bitsOf(dtype, v)) : x;
  const out = new Float32Array(rows * outF).fill(Number.NaN); // the kernel must overwrite, not accumulate
  be.linearLowp(dtype, xArg, w, bias, out, rows, outF, inF);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < outF; j++) {
      let s = 0, sa = 0;
      for (let p = 0; p < inF; p++) {
        const prod = roundTo(dtype, x[i * inF + p]!) * roundTo(dtype, w[j * inF + p]!);
        s += prod;
        sa += Math.abs(prod);
      }
      const b = bias ? bias[j]! : 0;
      const tol = (inF + 2) * 2 ** -23 * (sa + Math.abs(b)) + 1e-30;
      const got = out[i * outF + j]!;
      assert.ok(Math.abs(got - (s + b)) <= tol,
        `${be.name} ${dtype} ${rows}x${outF}x${inF} bias ${withBias} bits ${xBits} at [${i},${j}]: ${got} vs ${s + b} (tol ${tol})`);
    }
  }
}

const shapes: [number, number, number][] = [[1, 1, 1], [5, 7, 3], [33, 50, 17], [64, 96, 130], [130, 48, 384]];

describe('linearLowp', () => {
  for (const be of backends) {
    for (const dtype of ['bfloat16', 'float16'] as const) {
      test(`${be.name} ${dtype}: with and without bias, float32 and 16-bit inputs`, () => {
        shapes.forEach(([m, n, k], i) => {
          for (const withBias of [true, false]) for (const xBits of [false, true]) checkLinear(be, dtype, m, n, k, withBias, xBits, 100 + i);
        });
      });
    }
  }
  test('no input features: out is the bias (or zero)', () => {
    for (const be of backends) {
      const out = new Float32Array(6).fill(Number.NaN);
      be.linearLowp('bfloat16', new Float32Array(0), new Float32Array(0), new Float32Array([1, -2, 3]), out, 2, 3, 0);
      assert.deepEqual([...out], [1, -2, 3, 1, -2, 3]);
      be.linearLowp('bfloat16', new Float32Array(0), new Float32Array(0), null, out, 2, 3, 0);
      assert.deepEqual([...out], [0, 0, 0, 0, 0, 0]);
    }
  });
  for (const impl of bf16Impls(addon)) {
    test(`native bf16 via ${impl}`, () => withBf16Impl(addon!, impl, () => {
      shapes.forEach(([m, n, k], i) => { checkLinear(native!, 'bfloat16', m, n, k, true, true, 200 + i); checkLinear(native!, 'bfloat16', m, n, k, false, false, 300 + i); });
    }));
  }
  test('native: a too-short bias throws a RangeError', { skip: native ? false : 'native addon not built' }, () => {
    assert.throws(() => native!.linearLowp('bfloat16', new Float32Array(4), new Float32Array(4), new Float32Array(1), new Float32Array(4), 2, 2, 2), RangeError);
  });
});

describe('castToLowpColumnSums', () => {
  for (const be of backends) {
    for (const dtype of ['bfloat16', 'float16'] as const) {
      test(`${be.name} ${dtype}: the bits of castToLowp and float32 column sums in row order`, () => {
        for (const [rows, cols] of [[1, 1], [3, 17], [300, 40], [2048, 33], [64, 1536]] as const) {
          const r = rng(rows * 7 + cols);
          const x = randn(r, rows * cols).map((v) => v * 100);
          const out = new Uint16Array(rows * cols), sums = new Float32Array(cols).fill(Number.NaN);
          be.castToLowpColumnSums(dtype, x, out, sums, rows, cols);
          for (let i = 0; i < rows * cols; i += 7) assert.equal(out[i], bitsOf(dtype, x[i]!), `bits of ${x[i]}`);
          for (let j = 0; j < cols; j++) {
            let s = 0, sa = 0;
            for (let r0 = 0; r0 < rows; r0 += 256) {
              let block = 0;
              for (let i = r0; i < Math.min(rows, r0 + 256); i++) { block = Math.fround(block + x[i * cols + j]!); sa += Math.abs(x[i * cols + j]!); }
              s = r0 === 0 ? block : Math.fround(s + block);
            }
            assert.equal(sums[j], s, `${rows}x${cols} column ${j}: the documented order`);
            let exact = 0;
            for (let i = 0; i < rows; i++) exact += x[i * cols + j]!;
            assert.ok(Math.abs(sums[j]! - exact) <= rows * 2 ** -24 * sa, `${rows}x${cols} column ${j}: ${sums[j]} vs ${exact}`);
          }
        }
      });
    }
  }
});
