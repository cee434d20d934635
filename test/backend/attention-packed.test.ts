// attentionLowpPacked / attentionLowpPackedBackward (GPT-2's self-attention read straight from the
// packed projection qkv [b, t, 3, h, d], y and its gradient [b, t, h, d], the gradient dqkv packed)
// on both backends and every native implementation the CPU offers (the bf16 tile kernel on AMX and/or
// AVX512_BF16; 'emulate'):
// - bit for bit the dense kernels (attentionLowp / attentionLowpBackward, tested against float64 in
//   attention-lowp.test.ts) of the same backend and implementation on the planes gathered here by
//   plain index arithmetic: the layout is the only difference, so any difference is a layout error;
// - within the float64 reference's bounds (test/util/attention-lowp-reference.ts), and native within
//   the sum of both bounds of the js reference;
// - every element of y and dqkv written (they start as NaN);
// - the 16-bit variants (attentionLowpPacked16, …16Backward: y, dy, dqkv as bf16 bits) equal, bit for
//   bit, the float32 ones rounded to nearest even (forward), and the float32 backward on the widened
//   bf16 y and dy, rounded (backward).
// Cases: several batches and heads, T odd and not a multiple of the 64-row tile, key padding (a
// batch whose keys are all padding: its rows get y = 0 and no gradient), causal, window, RoPE.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { jsBackend } from '../../src/backend/js/index.js';
import { loadNativeAddon, loadNativeBackend, type AttentionLowpImpl } from '../../src/backend/native/index.js';
import { fromBfloat16Bits, toBfloat16Bits } from '../../src/amp/cast.js';
import { rng } from '../util/rng.js';
import { type Case, type Inputs, randn, reference, within } from '../util/attention-lowp-reference.js';

const native = loadNativeBackend();
const addon = loadNativeAddon();

interface Packed { b: number; h: number; qkv: Uint16Array; g: Float32Array; planes: Inputs }

/** Element (batch bi, head hi, row ti, x) of plane p (0 q, 1 k, 2 v; of `np` planes) of [b, t, np, h, d]. */
function at(c: Case, h: number, np: number, p: number, bi: number, hi: number, ti: number, x: number): number {
  return ((bi * c.t + ti) * np + p) * h * c.d + hi * c.d + x;
}

/** Packed inputs of case c (b = bh / heads batches of `heads` heads) and the same values as dense planes. */
function packedInputs(c: Case, seed: number): Packed {
  const r = rng(seed);
  const h = c.heads, b = c.bh / h, { t, d } = c;
  const qkv = Uint16Array.from(randn(r, b * t * 3 * h * d), (x) => toBfloat16Bits(x));
  const g = randn(r, b * t * h * d);
  const dense = (src: Uint16Array | Float32Array, np: number, p: number): Float32Array | Uint16Array => {
    const out = src instanceof Uint16Array ? new Uint16Array(c.bh * t * d) : new Float32Array(c.bh * t * d);
    for (let bi = 0; bi < b; bi++) for (let hi = 0; hi < h; hi++) for (let ti = 0; ti < t; ti++) {
      for (let x = 0; x < d; x++) out[((bi * h + hi) * t + ti) * d + x] = src[at(c, h, np, p, bi, hi, ti, x)]!;
    }
    return out;
  };
  let keyPad: Float32Array | null = null;
  if (c.pad !== 'none') {
    keyPad = new Float32Array(b * t);
    for (let bi = 0; bi < b; bi++) for (let j = 0; j < t; j++) keyPad[bi * t + j] = c.pad === 'all' && bi === b - 1 ? 1 : (j * 7 + bi) % 5 === 0 ? 1 : 0; // every 5th key, shifted per batch
  }
  let cos: Float32Array | null = null, sin: Float32Array | null = null;
  if (c.rope) {
    const hd = d / 2;
    cos = new Float32Array(t * hd);
    sin = new Float32Array(t * hd);
    for (let p = 0; p < t; p++) for (let x = 0; x < hd; x++) { cos[p * hd + x] = Math.cos(p * 10000 ** (-x / hd)); sin[p * hd + x] = Math.sin(p * 10000 ** (-x / hd)); }
  }
  const planes: Inputs = {
    q: dense(qkv, 3, 0) as Uint16Array, k: dense(qkv, 3, 1) as Uint16Array, v: dense(qkv, 3, 2) as Uint16Array,
    g: dense(g, 1, 0) as Float32Array, keyPad, cos, sin, scale: 1 / Math.sqrt(d),
  };
  return { b, h, qkv, g, planes };
}

/** y [b, t, h, d] → dense planes [bh, t, d]; dqkv [b, t, 3, h, d] → dq, dk, dv dense. */
function unpack(c: Case, x: Packed, y: Float32Array, dqkv: Float32Array): Float32Array[] {
  const { b, h } = x, { t, d } = c;
  const plane = (src: Float32Array, np: number, p: number): Float32Array => {
    const out = new Float32Array(c.bh * t * d);
    for (let bi = 0; bi < b; bi++) for (let hi = 0; hi < h; hi++) for (let ti = 0; ti < t; ti++) {
      for (let xx = 0; xx < d; xx++) out[((bi * h + hi) * t + ti) * d + xx] = src[at(c, h, np, p, bi, hi, ti, xx)]!;
    }
    return out;
  };
  return [plane(y, 1, 0), plane(dqkv, 3, 0), plane(dqkv, 3, 1), plane(dqkv, 3, 2)];
}

/** The packed kernels' y, lse, dq, dk, dv (dense, via unpack) on backend be. */
function runPacked(be: Backend, c: Case, x: Packed): Float32Array[] {
  const { b, h } = x, { t, d, causal, window } = c, p = x.planes;
  const y = new Float32Array(b * t * h * d).fill(NaN), lse = new Float32Array(b * h * t).fill(NaN);
  be.attentionLowpPacked('bfloat16', x.qkv, y, lse, p.keyPad, p.cos, p.sin, b, t, h, d, p.scale, causal, window);
  const dqkv = new Float32Array(b * t * 3 * h * d).fill(NaN);
  be.attentionLowpPackedBackward('bfloat16', x.qkv, y, lse, x.g, dqkv, p.keyPad, p.cos, p.sin, b, t, h, d, p.scale, causal, window);
  const [yd, dq, dk, dv] = unpack(c, x, y, dqkv);
  return [yd!, lse, dq!, dk!, dv!];
}

/** The dense kernels' out, lse, dq, dk, dv on the gathered planes. */
function runDense(be: Backend, c: Case, x: Packed): Float32Array[] {
  const { bh, t, d, heads, causal, window } = c, p = x.planes;
  const out = new Float32Array(bh * t * d), lse = new Float32Array(bh * t);
  be.attentionLowp('bfloat16', p.q, p.k, p.v, out, lse, p.keyPad, p.cos, p.sin, bh, t, t, d, heads, p.scale, causal, window);
  const dq = new Float32Array(bh * t * d), dk = new Float32Array(bh * t * d), dv = new Float32Array(bh * t * d);
  be.attentionLowpBackward('bfloat16', p.q, p.k, p.v, out, lse, p.g, dq, dk, dv, p.keyPad, p.cos, p.sin, bh, t, t, d, heads, p.scale, causal, window);
  return [out, lse, dq, dk, dv];
}

/**
 * The 16-bit kernels against the float32 ones: y16 = bf16(y), lse equal; dqkv16 = bf16(float32 backward
 * on the widened y16 and dy rounded to bf16).
 */
function check16(be: Backend, c: Case, x: Packed, what: string): void {
  const { b, h } = x, { t, d, causal, window } = c, p = x.planes, n = b * t * h * d;
  const y = new Float32Array(n), lse = new Float32Array(b * h * t);
  be.attentionLowpPacked('bfloat16', x.qkv, y, lse, p.keyPad, p.cos, p.sin, b, t, h, d, p.scale, causal, window);
  const y16 = new Uint16Array(n).fill(0x7fc1), lse16 = new Float32Array(b * h * t).fill(NaN);
  be.attentionLowpPacked16('bfloat16', x.qkv, y16, lse16, p.keyPad, p.cos, p.sin, b, t, h, d, p.scale, causal, window);
  const yWant = Uint16Array.from(y, (v) => toBfloat16Bits(v));
  let i = y16.findIndex((v, j) => v !== yWant[j]);
  assert.equal(i, -1, `${what} y16[${i}]: ${y16[i]} vs bf16(y) ${yWant[i]}`);
  i = lse16.findIndex((v, j) => !Object.is(v, lse[j]));
  assert.equal(i, -1, `${what} lse[${i}]: ${lse16[i]} vs ${lse[i]}`);
  const g16 = Uint16Array.from(x.g, (v) => toBfloat16Bits(v));
  const widen = (a: Uint16Array): Float32Array => Float32Array.from(a, (v) => fromBfloat16Bits(v));
  const d32 = new Float32Array(3 * n);
  be.attentionLowpPackedBackward('bfloat16', x.qkv, widen(y16), lse, widen(g16), d32, p.keyPad, p.cos, p.sin, b, t, h, d, p.scale, causal, window);
  const d16 = new Uint16Array(3 * n).fill(0x7fc1);
  be.attentionLowpPacked16Backward('bfloat16', x.qkv, y16, lse, g16, d16, p.keyPad, p.cos, p.sin, b, t, h, d, p.scale, causal, window);
  const dWant = Uint16Array.from(d32, (v) => toBfloat16Bits(v));
  i = d16.findIndex((v, j) => v !== dWant[j]);
  assert.equal(i, -1, `${what} dqkv16[${i}]: ${d16[i]} vs bf16 of the float32 backward ${dWant[i]}`);
  assert.ok(d16.some((v) => (v & 0x7fff) !== 0), `${what}: the gradient is not all zero`);
}

const NAMES = ['y', 'lse', 'dq', 'dk', 'dv'] as const;

function sameBits(got: Float32Array[], want: Float32Array[], what: string): void {
  got.forEach((g, n) => {
    const a = new Uint32Array(g.buffer, g.byteOffset, g.length), b = new Uint32Array(want[n]!.buffer, want[n]!.byteOffset, want[n]!.length);
    assert.equal(a.length, b.length);
    const i = a.findIndex((v, j) => v !== b[j]);
    assert.equal(i, -1, `${what} ${NAMES[n]}[${i}]: ${g[i]} vs dense ${want[n]![i]}`);
  });
}

/** Within the float64 reference's bounds (lse: -inf rows exactly); tiles: the tile kernel's roundings. */
function withinRef(got: Float32Array[], c: Case, x: Packed, tiles: boolean, what: string): void {
  const ref = reference({ ...c, s: c.t }, x.planes, tiles);
  within(got[0]!, ref.out, ref.tol.out, `${what} y`);
  for (let i = 0; i < c.bh * c.t; i++) {
    if (ref.lse[i] === -Infinity) assert.equal(got[1]![i], -Infinity, `${what} lse[${i}] of a row that sees no key`);
    else assert.ok(Math.abs(got[1]![i]! - ref.lse[i]!) <= ref.tol.lse[i]!, `${what} lse[${i}]: ${got[1]![i]} vs ${ref.lse[i]}`);
  }
  within(got[2]!, ref.dq, ref.tol.dq, `${what} dq`);
  within(got[3]!, ref.dk, ref.tol.dk, `${what} dk`);
  within(got[4]!, ref.dv, ref.tol.dv, `${what} dv`);
}

const base = { s: 0, causal: true, window: 0, pad: 'none', rope: false } as const;
const cases: Case[] = ([
  { ...base, bh: 2 * 3, heads: 3, t: 70, d: 64 }, // GPT-2's head size, T over one 64-row tile
  { ...base, bh: 3 * 4, heads: 4, t: 37, d: 32, pad: 'quarter' }, // odd T, key padding
  { ...base, bh: 2 * 2, heads: 2, t: 65, d: 64, causal: false, pad: 'all' }, // a batch with every key padded
  { ...base, bh: 2 * 2, heads: 2, t: 129, d: 16, window: 20, rope: true }, // window and RoPE over three tiles
  { ...base, bh: 1 * 5, heads: 5, t: 1, d: 40 }, // one row; head size not a multiple of 32
  { ...base, bh: 2 * 3, heads: 3, t: 17, d: 80, pad: 'quarter', rope: true }, // d = 80: products of 64 + 16 columns
  { ...base, bh: 1 * 2, heads: 2, t: 100, d: 32, window: 30 }, // d = 32, two query tiles
] as Case[]).map((c) => ({ ...c, s: c.t }));

const info = addon?.attentionLowpInfo();
const impls: AttentionLowpImpl[] = info ? [...(info.amx ? ['amx' as const] : []), ...(info.avx512bf16 ? ['avx512bf16' as const] : []), 'emulate'] : [];

describe('attentionLowpPacked: the dense kernels on the packed layout', () => {
  const initial = addon?.attentionLowpInfo().impl;
  for (const [i, c] of cases.entries()) {
    const name = `b ${c.bh / c.heads} h ${c.heads} t ${c.t} d ${c.d}${c.causal ? ' causal' : ''}${c.window ? ` window ${c.window}` : ''}${c.pad === 'all' ? ' a batch all padding' : c.pad !== 'none' ? ' key padding' : ''}${c.rope ? ' rope' : ''}`;
    test(name, () => {
      const x = packedInputs(c, 300 + i);
      const js = runPacked(jsBackend, c, x);
      sameBits(js, runDense(jsBackend, c, x), `js ${name}`);
      withinRef(js, c, x, false, `js ${name}`);
      check16(jsBackend, c, x, `js ${name}`);
      const plain = reference(c, x.planes, false);
      for (const impl of impls) {
        addon!.attentionLowpInfo(impl);
        try {
          const got = runPacked(native!, c, x);
          sameBits(got, runDense(native!, c, x), `native ${impl} ${name}`);
          withinRef(got, c, x, impl !== 'emulate', `native ${impl} ${name}`);
          check16(native!, c, x, `native ${impl} ${name}`);
          // native vs js: |native - js| ≤ |native - exact| + |js - exact|
          const ref = impl !== 'emulate' ? reference(c, x.planes, true) : plain;
          (['out', 'dq', 'dk', 'dv'] as const).forEach((n, j) => {
            const both = ref.tol[n].map((a, e) => a + plain.tol[n][e]!);
            within(got[j === 0 ? 0 : j + 1]!, Float64Array.from(js[j === 0 ? 0 : j + 1]!), both, `native ${impl} vs js ${name} ${n}`);
          });
        } finally {
          addon!.attentionLowpInfo(initial);
        }
      }
    });
  }

  test('too short arrays are refused by the addon', { skip: native ? false : 'native addon not built' }, () => {
    const f = (n: number): Float32Array => new Float32Array(n);
    assert.throws(() => native!.attentionLowpPacked('bfloat16', new Uint16Array(2 * 3 * 3 * 2 * 4 - 1), f(2 * 3 * 8), f(2 * 2 * 3), null, null, null, 2, 3, 2, 4, 0.5, true, 0), RangeError);
    assert.throws(() => native!.attentionLowpPackedBackward('bfloat16', new Uint16Array(2 * 3 * 24), f(48), f(12), f(48), f(2 * 3 * 24 - 1), null, null, null, 2, 3, 2, 4, 0.5, true, 0), RangeError);
  });
});
