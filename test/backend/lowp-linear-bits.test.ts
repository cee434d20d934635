// linearLowp with a 16-bit output (Uint16Array `out`, used for GPT-2's packed q/k/v projection under
// bf16 autocast) against the same kernel's float32 output rounded by castToLowp: the bits must be
// the same, bias included, on both backends and through every native bf16 GEMM present here (oneDNN
// writing bf16 itself, the own kernel and the emulation rounding a float32 buffer). The float32
// output is itself checked against float64 in lowp-linear.test.ts. One documented exception: oneDNN
// (vcvtneps2bf16) flushes float32 sums below 2^-126 in magnitude to a signed zero where castToLowp
// keeps a bf16 subnormal; checked below with a bias of such values.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend, LowpDtype } from '../../src/backend/backend.js';
import { jsBackend } from '../../src/backend/js/index.js';
import { loadNativeAddon, loadNativeBackend } from '../../src/backend/native/index.js';
import { toBfloat16Bits, toFloat16Bits } from '../../src/amp/cast.js';
import { rng } from '../util/rng.js';
import { bf16Impls, withBf16Impl } from '../util/bf16-impls.js';

const native = loadNativeBackend();
const addon = loadNativeAddon();
const backends: Backend[] = native ? [jsBackend, native] : [jsBackend];

function randn(r: () => number, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return out;
}

/** The 16-bit output of `be` equals the float32 output's rounding bit for bit (16-bit x when `xBits`). */
function check(be: Backend, dtype: LowpDtype, rows: number, outF: number, inF: number, withBias: boolean, xBits: boolean, seed: number): void {
  const r = rng(seed);
  const x = randn(r, rows * inF, 1), w = randn(r, outF * inF, 0.1), bias = withBias ? randn(r, outF, 2) : null;
  // A row of large values (products overflow to ±inf in float32) and a NaN input.
  if (rows > 2 && inF > 1) { x.fill(3e30, 0, inF); x[inF] = Number.NaN; }
  const toBits = dtype === 'bfloat16' ? toBfloat16Bits : toFloat16Bits;
  const xArg = xBits ? Uint16Array.from(x, (v) => toBits(v)) : x;
  const f = new Float32Array(rows * outF);
  be.linearLowp(dtype, xArg, w, bias, f, rows, outF, inF);
  const want = Uint16Array.from(f, (v) => toBits(v));
  const got = new Uint16Array(rows * outF).fill(0xabcd);
  be.linearLowp(dtype, xArg, w, bias, got, rows, outF, inF);
  const i = got.findIndex((v, j) => v !== want[j]);
  assert.equal(i, -1, `${be.name} ${dtype} ${rows}x${outF}x${inF} bias ${withBias} at ${i}: ${got[i]?.toString(16)} vs ${want[i]?.toString(16)} (float32 ${f[i]})`);
}

const shapes: [number, number, number][] = [[1, 1, 1], [5, 7, 3], [33, 50, 17], [64, 96, 130], [130, 144, 48]];

describe('linearLowp into 16 bits', () => {
  for (const be of backends) {
    for (const dtype of ['bfloat16', 'float16'] as const) {
      test(`${be.name} ${dtype}: the rounding of the float32 output`, () => {
        shapes.forEach(([m, n, k], i) => { for (const b of [true, false]) check(be, dtype, m, n, k, b, i % 2 === 0, 400 + i); });
      });
    }
  }
  for (const impl of bf16Impls(addon)) {
    test(`native bf16 via ${impl}, the small model's shape too`, () => withBf16Impl(addon!, impl, () => {
        shapes.forEach(([m, n, k], i) => check(native!, 'bfloat16', m, n, k, true, i % 2 === 1, 500 + i));
        check(native!, 'bfloat16', 2048, 1152, 384, true, true, 600);
        // Subnormal sums (zero weight, subnormal bias): castToLowp's bits, or ±0 from oneDNN.
        const bias = new Float32Array([1e-39, -3e-39, 2 ** -133, 1.5, -2.5]);
        const u = new Uint16Array(10);
        native!.linearLowp('bfloat16', new Float32Array(6).fill(1), new Float32Array(15), bias, u, 2, 5, 3);
        const want = impl === 'dnnl' ? [0, 0x8000, 0, 0x3fc0, 0xc020] : [...bias].map((v) => toBfloat16Bits(v));
        assert.deepEqual([...u], [...want, ...want], impl);
    }));
  }
});
