// scaledDotProductAttention with key padding, sliding window and RoPE inside the kernel:
//  - the js reference (float64) against an explicit masked softmax composed of tensor ops,
//  - the native kernel against the js reference at T = 1, 63, 64, 65, 1000, 4097 (tile edges and long
//    rows), with and without window and padding (skipped when the addon is not built),
//  - RoPE in the kernel against rotate-then-attend, and the RoPE tables with linear position
//    interpolation against Hugging Face's formula evaluated by PyTorch (test/tensor/fixtures/rope_hf.py).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { jsBackend } from '../../src/backend/js/index.js';
import { loadNativeBackend } from '../../src/backend/native/index.js';
import { ShapeError, ValueError } from '../../src/errors.js';
import { MASK_FILL, RotaryEmbedding } from '../../src/nn/index.js';
import * as T from '../../src/tensor/index.js';
import { rng } from '../util/rng.js';

const native: Backend | null = loadNativeBackend();
const skipNative = native ? false : "native addon not built (run 'npm run build:native')";

interface Masks { causal: boolean; window: number; pad: Float64Array | null }

/** Whether query i (of T) sees key j (of S) in batch row b, from the definitions (Backend.attention). */
function sees(m: Masks, T_: number, S: number, b: number, i: number, j: number): boolean {
  const a = i + S - T_;
  if (m.causal && j > a) return false;
  if (m.window > 0 && j <= a - m.window) return false;
  return !(m.pad && m.pad[b * S + j] !== 0);
}

/**
 * The reference: scores q·kᵀ·scale [B, H, T, S] masked with a mask built element by element,
 * softmax, ·v, then rows that see no key set to 0 — composed of tensor ops, so autograd gives its
 * gradients independently of the attention kernels.
 */
function explicitAttention(q: T.Tensor, k: T.Tensor, v: T.Tensor, m: Masks): T.Tensor {
  const [B, H, Tn, D] = q.shape, S = k.shape[2];
  const mask = new Float64Array(B * H * Tn * S), alive = new Float64Array(B * H * Tn);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < Tn; i++) {
    for (let j = 0; j < S; j++) {
      const on = sees(m, Tn, S, b, i, j);
      mask[((b * H + h) * Tn + i) * S + j] = on ? 0 : 1;
      if (on) alive[(b * H + h) * Tn + i] = 1;
    }
  }
  const scores = T.mulScalar(T.matmul(q, T.transpose(k, -1, -2)), 1 / Math.sqrt(D));
  const p = T.softmax(T.maskedFill(scores, T.tensor(mask, [B, H, Tn, S]), MASK_FILL), -1);
  return T.mul(T.matmul(p, v), T.tensor(alive, [B, H, Tn, 1]));
}

function randn(r: () => number, n: number, f64 = false): Float32Array | Float64Array {
  const a = f64 ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - r(), w = r(), rad = Math.sqrt(-2 * Math.log(u));
    a[i] = rad * Math.cos(2 * Math.PI * w);
    if (i + 1 < n) a[i + 1] = rad * Math.sin(2 * Math.PI * w);
  }
  return a;
}

/** A key-padding pattern [B, S]: batch row b keeps keys [lo_b, hi_b) (left and right padding). */
function padding(B: number, S: number, spans: [number, number][]): Float64Array {
  const m = new Float64Array(B * S).fill(1);
  for (let b = 0; b < B; b++) for (let j = spans[b][0]; j < spans[b][1]; j++) m[b * S + j] = 0;
  return m;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = -1, worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], a = actual[i];
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      assert.ok(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)), `${what}[${i}]: ${a} vs ${e}`);
      continue;
    }
    const err = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (err > worstErr) { worstErr = err; worst = i; }
  }
  assert.ok(worst < 0, `${what}[${worst}]: ${actual[worst]} vs ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
}

describe('attention masks: js reference (float64) against an explicit masked softmax', () => {
  const cases: { name: string; B: number; H: number; T: number; S: number; D: number; m: Masks }[] = [
    { name: 'causal window 3', B: 1, H: 2, T: 9, S: 9, D: 4, m: { causal: true, window: 3, pad: null } },
    { name: 'window 1 (each query sees itself only)', B: 1, H: 1, T: 5, S: 5, D: 3, m: { causal: true, window: 1, pad: null } },
    { name: 'right and left padding, full attention', B: 2, H: 2, T: 6, S: 6, D: 4, m: { causal: false, window: 0, pad: padding(2, 6, [[0, 4], [2, 6]]) } },
    { name: 'causal + left padding (first queries see no key)', B: 2, H: 1, T: 6, S: 6, D: 2, m: { causal: true, window: 0, pad: padding(2, 6, [[0, 6], [3, 6]]) } },
    { name: 'causal + window + padding, S > T (cache offset)', B: 2, H: 2, T: 4, S: 10, D: 4, m: { causal: true, window: 4, pad: padding(2, 10, [[0, 8], [1, 10]]) } },
    { name: 'a batch row entirely padded', B: 2, H: 1, T: 3, S: 5, D: 2, m: { causal: false, window: 0, pad: padding(2, 5, [[0, 5], [0, 0]]) } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const gen = new T.Generator(5);
      const mk = (s: number) => T.randn([c.B, c.H, s, c.D], { generator: gen, dtype: 'float64' }).requiresGrad_();
      const q = mk(c.T), k = mk(c.S), v = mk(c.S), g = T.randn([c.B, c.H, c.T, c.D], { generator: gen, dtype: 'float64' });
      const kpm = c.m.pad ? T.tensor(c.m.pad, [c.B, c.S]) : null;
      const y = T.scaledDotProductAttention(q, k, v, { causal: c.m.causal, window: c.m.window, keyPaddingMask: kpm });
      T.backward(y, g);
      const got = [y, q.grad!, k.grad!, v.grad!].map((t) => Float64Array.from(t.data()));
      for (const x of [q, k, v]) x.grad = null;
      const ref = explicitAttention(q, k, v, c.m);
      T.backward(ref, g);
      const want = [ref, q.grad!, k.grad!, v.grad!].map((t) => Float64Array.from(t.data()));
      ['out', 'dq', 'dk', 'dv'].forEach((n, i) => assertClose(got[i], want[i], 1e-10, 1e-12, `${c.name} ${n}`));
    });
  }
});

describe('native attention kernel against the js reference at long and tile-edge lengths', { skip: skipNative }, () => {
  // [B, H, T, S, D, causal, window, padding spans (null = none), rope]
  type Case = [number, number, number, number, number, boolean, number, [number, number][] | null, boolean];
  const cases: Case[] = [];
  for (const t of [1, 63, 64, 65, 1000]) {
    cases.push([2, 2, t, t, 16, true, 0, null, false]);
    cases.push([2, 2, t, t, 16, true, 37, null, false]);
    cases.push([2, 2, t, t, 16, true, 0, [[0, Math.ceil(t / 2)], [Math.floor(t / 3), t]], false]);
    cases.push([2, 2, t, t, 16, true, 70, [[0, t], [Math.floor(t / 4), Math.max(1, t - 5)]], true]);
    cases.push([2, 1, t, t, 8, false, 0, [[0, Math.max(1, t - 64)], [1, t]], true]);
  }
  // T = 4097: one head of size 8, so that the js reference stays within a few seconds.
  cases.push([1, 1, 4097, 4097, 8, true, 0, null, false]);
  cases.push([1, 1, 4097, 4097, 8, true, 500, null, true]);
  cases.push([2, 1, 4097, 4097, 8, true, 0, [[0, 4000], [100, 4097]], false]);
  cases.push([2, 1, 4097, 4097, 8, true, 300, [[0, 2049], [1000, 4097]], true]);
  cases.push([1, 1, 7, 4097, 8, true, 129, [[64, 4090]], true]); // a few queries at the end (kv-cache shape)
  test('forward (out, lse) and backward (dq, dk, dv) match js', () => {
    const r = rng(53);
    for (const [B, H, t, s, d, causal, window, spans, rope] of cases) {
      const bh = B * H;
      const q = randn(r, bh * t * d) as Float32Array, k = randn(r, bh * s * d) as Float32Array, v = randn(r, bh * s * d) as Float32Array;
      const pad = spans ? Float32Array.from(padding(B, s, spans)) : null;
      let cos: Float32Array | null = null, sin: Float32Array | null = null;
      if (rope) {
        const tabs = new RotaryEmbedding(d, { base: 500 }).halfTables(s);
        cos = tabs.cos.contiguous().data() as Float32Array;
        sin = tabs.sin.contiguous().data() as Float32Array;
      }
      const scale = 1 / Math.sqrt(d);
      const oj = new Float32Array(bh * t * d), on = new Float32Array(bh * t * d).fill(7);
      const lj = new Float32Array(bh * t), ln = new Float32Array(bh * t).fill(7);
      jsBackend.attention(q, k, v, oj, lj, pad, cos, sin, bh, t, s, d, H, scale, causal, window);
      native!.attention(q, k, v, on, ln, pad, cos, sin, bh, t, s, d, H, scale, causal, window);
      const what = `B=${B} H=${H} T=${t} S=${s} D=${d} causal=${causal} window=${window} padding=${JSON.stringify(spans)} rope=${rope}`;
      assertClose(on, oj, 1e-4, 2e-5, `${what} out`);
      assertClose(ln, lj, 1e-5, 2e-5, `${what} lse`);
      const g = randn(r, bh * t * d) as Float32Array;
      const dqj = new Float32Array(bh * t * d), dkj = new Float32Array(bh * s * d), dvj = new Float32Array(bh * s * d);
      const dqn = new Float32Array(bh * t * d).fill(5), dkn = new Float32Array(bh * s * d).fill(5), dvn = new Float32Array(bh * s * d).fill(5);
      jsBackend.attentionBackward(q, k, v, oj, lj, g, dqj, dkj, dvj, pad, cos, sin, bh, t, s, d, H, scale, causal, window);
      native!.attentionBackward(q, k, v, oj, lj, g, dqn, dkn, dvn, pad, cos, sin, bh, t, s, d, H, scale, causal, window);
      assertClose(dqn, dqj, 1e-4, 1e-4, `${what} dq`);
      assertClose(dkn, dkj, 1e-4, 1e-4, `${what} dk`);
      assertClose(dvn, dvj, 1e-4, 1e-4, `${what} dv`);
    }
  });
});

describe('RoPE inside the kernel', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    test(`equals rotate-then-attend (${dtype}, current backend for float32)`, () => {
      const gen = new T.Generator(11);
      const rot = new RotaryEmbedding(8, { base: 1000, scaling: { type: 'linear', factor: 2 } });
      const B = 2, H = 2, Tn = 70, S = 75, D = 8;
      const mk = (s: number) => T.randn([B, H, s, D], { generator: gen, dtype }).requiresGrad_();
      const q = mk(Tn), k = mk(S), v = mk(S), g = T.randn([B, H, Tn, D], { generator: gen, dtype });
      const kpm = T.tensor(Float64Array.from(padding(B, S, [[0, 75], [3, 70]])), [B, S]);
      const opts = { causal: true, window: 20, keyPaddingMask: kpm };
      const { cos, sin } = rot.halfTables(S, 0, dtype);
      const y = T.scaledDotProductAttention(q, k, v, { ...opts, rope: { cos, sin } });
      T.backward(y, g);
      const got = [y, q.grad!, k.grad!, v.grad!].map((t) => Float64Array.from(t.data()));
      for (const x of [q, k, v]) x.grad = null;
      // Queries are the last T of S positions: rotated by positions S - T .. S - 1.
      const ref = T.scaledDotProductAttention(rot.forward(q, S - Tn), rot.forward(k), v, opts);
      T.backward(ref, g);
      const want = [ref, q.grad!, k.grad!, v.grad!].map((t) => Float64Array.from(t.data()));
      const [rtol, atol] = dtype === 'float64' ? [1e-11, 1e-12] : [2e-5, 2e-5];
      ['out', 'dq', 'dk', 'dv'].forEach((n, i) => assertClose(got[i], want[i], rtol, atol, `${dtype} ${n}`));
    });
  }
});

describe('RoPE base and linear position interpolation (ropeTheta, ropeScaling)', () => {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'tensor', 'fixtures', 'rope_hf.py');
  const torch = existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  test('tables and rotated vectors equal Hugging Face\'s formula computed by PyTorch', { skip: torch ? false : 'no /usr/bin/python3 with torch' }, () => {
    const D = 16, base = 500000, factor = 4;
    const positions = [0, 1, 2, 3, 7, 100, 1023, 4095, 8191, 16383];
    const gen = new T.Generator(3);
    const x = T.randn([positions.length, D], { generator: gen, dtype: 'float64' });
    const xr = Array.from({ length: positions.length }, (_, i) => Array.from(x.data().subarray(i * D, (i + 1) * D)));
    const py = JSON.parse(execFileSync('/usr/bin/python3', [script], { input: JSON.stringify({ base, factor, dim: D, positions, x: xr }), encoding: 'utf8' })) as
      { cos: number[][]; sin: number[][]; rotated: number[][] };
    const rot = new RotaryEmbedding(D, { base, scaling: { type: 'linear', factor } });
    for (const [pi, p] of positions.entries()) {
      const full = rot.tables(1, p, 'float64'), half = rot.halfTables(1, p, 'float64');
      assertClose(full.cos.contiguous().data(), py.cos[pi], 1e-12, 1e-12, `cos at ${p}`);
      assertClose(full.sin.contiguous().data(), py.sin[pi], 1e-12, 1e-12, `sin at ${p}`);
      assertClose(half.cos.contiguous().data(), py.cos[pi].slice(0, D / 2), 1e-12, 1e-12, `half cos at ${p}`);
      const f32 = rot.tables(1, p, 'float32');
      assertClose(f32.cos.contiguous().data(), py.cos[pi], 0, 6e-8, `float32 cos at ${p}`);
      // One vector rotated at position p (the kernel's rotation equals this one: 'RoPE inside the kernel').
      const y = rot.forward(T.reshape(T.narrow(x, 0, pi, 1), [1, D]), p);
      assertClose(y.contiguous().data(), py.rotated[pi], 1e-12, 1e-12, `rotated at ${p}`);
    }
  });
  test('factor f at position f·p gives the unscaled angles at p; the base sets θ_i = base^(-2i/D)', () => {
    const D = 8;
    const plain = new RotaryEmbedding(D, { base: 10000 }), scaled = new RotaryEmbedding(D, { base: 10000, scaling: { type: 'linear', factor: 4 } });
    for (const p of [1, 5, 300]) {
      const a = scaled.halfTables(1, 4 * p, 'float64').cos.contiguous().data(), b = plain.halfTables(1, p, 'float64').cos.contiguous().data();
      assert.equal(a.length, D / 2);
      assertClose(a, b, 1e-12, 1e-12, `cos ${p}`);
      assert.ok(Math.abs(b[0] - Math.cos(p)) < 1e-15, `θ_0 = 1 at ${p}`);
    }
    const b = new RotaryEmbedding(D, { base: 7 }).halfTables(2, 0, 'float64').sin.contiguous().data();
    for (let i = 0; i < D / 2; i++) assert.ok(Math.abs(b[D / 2 + i] - Math.sin(Math.pow(7, (-2 * i) / D))) < 1e-15, `θ_${i}`);
  });
  test('bad values are one clear error', () => {
    assert.throws(() => new RotaryEmbedding(8, { base: 1 }), (e: Error) => e instanceof ValueError && /base \(ropeTheta\) must be a finite number > 1, got 1/.test(e.message));
    assert.throws(() => new RotaryEmbedding(8, { scaling: { type: 'linear', factor: 0.5 } }), (e: Error) => e instanceof ValueError && /scaling must be/.test(e.message));
  });
});

describe('scaledDotProductAttention argument errors', () => {
  const q = T.zeros([1, 2, 4, 6]), k = T.zeros([1, 2, 4, 6]);
  test('window, keyPaddingMask and rope are checked', () => {
    assert.throws(() => T.scaledDotProductAttention(q, k, k, { window: -1 }), (e: Error) => e instanceof ValueError && /window must be an integer >= 0/.test(e.message));
    assert.throws(() => T.scaledDotProductAttention(q, k, k, { window: 2.5 }), ValueError);
    assert.throws(() => T.scaledDotProductAttention(q, k, k, { keyPaddingMask: T.zeros([1, 5]) }), (e: Error) => e instanceof ShapeError && /keyPaddingMask must be \[B, S\] = \[1, 4\]/.test(e.message));
    assert.throws(() => T.scaledDotProductAttention(q, k, k, { rope: { cos: T.zeros([4, 2]), sin: T.zeros([4, 3]) } }), (e: Error) => e instanceof ShapeError && /rope.cos must be \[S, D\/2\] = \[4, 3\]/.test(e.message));
    const odd = T.zeros([1, 1, 2, 5]);
    assert.throws(() => T.scaledDotProductAttention(odd, odd, odd, { rope: { cos: T.zeros([2, 2]), sin: T.zeros([2, 2]) } }), (e: Error) => e instanceof ValueError && /even head size/.test(e.message));
  });
});
