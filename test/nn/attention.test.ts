// MultiHeadAttention: golden causal_attention cases through the module, float64 gradient checks of
// every path (causal fused, key-padding composed, cross-attention, RoPE), and masking properties.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ShapeError, ValueError } from '../../src/errors.js';
import * as T from '../../src/tensor/index.js';
import { compareValue, decodeTensor } from '../../src/golden/registry.js';
import type { GoldenCase } from '../../src/golden/types.js';
import { MultiHeadAttention, RotaryEmbedding, keyPaddingFromAttentionMask } from '../../src/nn/index.js';
import { goldenDir } from '../golden/paths.js';
import { gradcheck, randn64 } from './gradcheck.js';

const f32 = (j: unknown): T.Tensor => { const d = decodeTensor(j); return T.tensor(Float32Array.from(d.data), d.shape); };
const value = (t: T.Tensor) => ({ shape: [...t.shape], data: Float64Array.from(t.data()) });

describe('causal_attention golden cases through MultiHeadAttention', () => {
  const file = JSON.parse(readFileSync(path.join(goldenDir(), 'causal_attention.json'), 'utf8')) as { cases: GoldenCase[]; default_tolerance: { rtol: number; atol: number } };
  for (const c of file.cases) {
    test(c.name, () => {
      const x = f32(c.inputs.x).requiresGrad_();
      const C = x.shape[2];
      const hasBias = c.inputs.b_qkv !== undefined;
      const mha = new MultiHeadAttention({ embedDim: C, numHeads: c.options.n_head as number, causal: true, bias: hasBias });
      const sd: Record<string, T.Tensor> = { 'c_attn.weight': f32(c.inputs.w_qkv), 'c_proj.weight': f32(c.inputs.w_o) };
      if (hasBias) { sd['c_attn.bias'] = f32(c.inputs.b_qkv); sd['c_proj.bias'] = f32(c.inputs.b_o); }
      mha.loadStateDict(sd);
      const tol = c.tolerance ?? file.default_tolerance;
      // Fused path (what models run): y and all gradients.
      const y = mha.forward(x);
      assert.equal(compareValue(c.expected!.y, value(y), tol, 'y'), null);
      T.backward(y, f32(c.grad_output));
      const grads: Record<string, T.Tensor | null> = {
        x: x.grad, w_qkv: mha.c_attn.weight.grad, w_o: mha.c_proj.weight.grad,
        b_qkv: mha.c_attn.bias?.grad ?? null, b_o: mha.c_proj.bias?.grad ?? null,
      };
      for (const k of Object.keys(c.grads ?? {})) {
        assert.ok(grads[k], `gradient of ${k}`);
        assert.equal(compareValue(c.grads![k], value(grads[k]!), tol, `grads.${k}`), null);
      }
      // Composed path: the attention probabilities too.
      const { y: y2, att } = mha.forwardWithWeights(x.detach());
      assert.equal(compareValue(c.expected!.y, value(y2), tol, 'y (composed)'), null);
      assert.equal(compareValue(c.expected!.att, value(att), tol, 'att'), null);
    });
  }
});

describe('MultiHeadAttention gradient checks (float64)', () => {
  const gen = new T.Generator(21);
  const mk = (opts: Partial<ConstructorParameters<typeof MultiHeadAttention>[0]> = {}) =>
    new MultiHeadAttention({ embedDim: 8, numHeads: 2, generator: gen, ...opts }).to('float64');
  const params = (m: MultiHeadAttention) => Object.fromEntries(m.namedParameters());
  const pad = keyPaddingFromAttentionMask(T.tensor(new Int32Array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0]), [2, 5], 'int32'));

  test('causal self-attention (fused kernel)', () => {
    const m = mk({ causal: true });
    const x = randn64([2, 5, 8], gen);
    gradcheck(() => m.forward(x), { x, ...params(m) });
  });

  test('key-padding mask (fused kernel), causal and not', () => {
    for (const causal of [false, true]) {
      const m = mk({ causal });
      const x = randn64([2, 5, 8], gen);
      gradcheck(() => m.forward(x, { keyPaddingMask: pad }), { x, ...params(m) });
    }
  });

  test('sliding window with RoPE (kernel) and with the composed path (weights)', () => {
    const m = mk({ causal: true, rope: { base: 100, scaling: { type: 'linear', factor: 2 } }, window: 2 });
    const x = randn64([2, 5, 8], gen);
    gradcheck(() => m.forward(x, { keyPaddingMask: pad }), { x, ...params(m) });
    gradcheck(() => m.forwardWithWeights(x, { keyPaddingMask: pad }).y, { x, ...params(m) });
  });

  test('cross-attention with a padded memory of another width', () => {
    const m = mk({ crossAttention: true, kvDim: 6 });
    const x = randn64([2, 3, 8], gen), memory = randn64([2, 5, 6], gen);
    gradcheck(() => m.forward(x, { memory, keyPaddingMask: pad }), { x, memory, ...params(m) });
  });

  test('RoPE on q and k, causal, with a position offset', () => {
    const m = mk({ causal: true, rope: true });
    const x = randn64([1, 4, 8], gen);
    gradcheck(() => m.forward(x, { positionOffset: 3 }), { x, ...params(m) });
    const rope = new RotaryEmbedding(4);
    const q = randn64([2, 3, 4], gen);
    gradcheck(() => rope.forward(q, 1), { q });
  });
});

describe('attention properties', () => {
  const gen = new T.Generator(31);

  test('fused and composed paths agree (causal and full)', () => {
    for (const causal of [true, false]) {
      const m = new MultiHeadAttention({ embedDim: 12, numHeads: 3, causal, generator: gen });
      const x = T.randn([2, 6, 12], { generator: gen });
      const a = m.forward(x).toArray(), b = m.forwardWithWeights(x).y.toArray();
      a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5));
    }
  });

  test('fused and composed paths agree with key padding, sliding window and RoPE (with scaling)', () => {
    const kpm = T.tensor([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0], [2, 6]);
    for (const causal of [true, false]) {
      const m = new MultiHeadAttention({ embedDim: 12, numHeads: 3, causal, rope: { base: 500, scaling: { type: 'linear', factor: 3 } }, window: causal ? 3 : null, generator: gen });
      const x = T.randn([2, 6, 12], { generator: gen });
      const a = m.forward(x, { keyPaddingMask: kpm, positionOffset: 2 }).toArray();
      const b = m.forwardWithWeights(x, { keyPaddingMask: kpm, positionOffset: 2 }).y.toArray();
      a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, `causal=${causal} [${i}] ${v} vs ${b[i]}`));
    }
  });

  test('key padding runs in the kernel: no [B, H, T, S] tensor is allocated (T = 2048)', () => {
    const m = new MultiHeadAttention({ embedDim: 16, numHeads: 2, causal: true, rope: true, window: 512, generator: gen });
    const Tn = 2048;
    const x = T.randn([1, Tn, 16], { generator: gen }).requiresGrad_();
    const kpm = T.zeros([1, Tn]);
    for (let j = 1500; j < Tn; j++) kpm.data()[j] = 1;
    T.scope(() => {
      const before = T.memoryStats().liveBytes;
      const y = m.forward(x, { keyPaddingMask: kpm });
      const grown = T.memoryStats().liveBytes - before;
      // One [1, 2, 2048, 2048] float32 tensor alone would be 32 MiB; the kernel path keeps O(T·C).
      assert.ok(grown < 4 * 2 ** 20, `forward kept ${grown} bytes`);
      T.backward(T.sum(y));
    });
    assert.ok(x.grad && x.grad.toArray().every(Number.isFinite));
  });

  test('outputs do not depend on padded keys; a fully padded row stays finite', () => {
    const m = new MultiHeadAttention({ embedDim: 8, numHeads: 2, generator: gen });
    const x = T.randn([1, 5, 8], { generator: gen });
    const kpm = T.tensor([0, 0, 0, 1, 1], [1, 5]);
    const y1 = m.forward(x, { keyPaddingMask: kpm }).toArray();
    const x2 = T.tensor(Float32Array.from(x.toArray()), [1, 5, 8]);
    for (let i = 3 * 8; i < 5 * 8; i++) x2.data()[i] += 10 * gen.normal();
    const y2 = m.forward(x2, { keyPaddingMask: kpm }).toArray();
    // Queries 0..2 (real tokens) see only keys 0..2, which are unchanged.
    for (let i = 0; i < 3 * 8; i++) assert.ok(Math.abs(y1[i] - y2[i]) < 1e-5);
    const all = m.forward(x, { keyPaddingMask: T.ones([1, 5]) }).toArray();
    assert.ok(all.every(Number.isFinite));
  });

  test('causal: changing token t leaves outputs before t unchanged', () => {
    const m = new MultiHeadAttention({ embedDim: 8, numHeads: 2, causal: true, rope: true, generator: gen });
    const x = T.randn([1, 6, 8], { generator: gen });
    const y1 = m.forward(x).toArray();
    const x2 = T.tensor(Float32Array.from(x.toArray()), [1, 6, 8]);
    x2.data()[4 * 8 + 1] += 3;
    const y2 = m.forward(x2).toArray();
    for (let i = 0; i < 4 * 8; i++) assert.equal(y1[i], y2[i]);
    assert.ok(y1.slice(32).some((v, i) => v !== y2[32 + i]));
  });

  test('RoPE: rotated q·k depends only on the relative position', () => {
    const rope = new RotaryEmbedding(6);
    const q = T.randn([1, 6], { generator: gen, dtype: 'float64' }), k = T.randn([1, 6], { generator: gen, dtype: 'float64' });
    const dot = (m: number, n: number): number => {
      const a = rope.forward(q, m).toArray(), b = rope.forward(k, n).toArray();
      return a.reduce((s, v, i) => s + v * b[i], 0);
    };
    assert.ok(Math.abs(dot(5, 2) - dot(13, 10)) < 1e-12);
    assert.ok(Math.abs(dot(0, 0) - q.toArray().reduce((s, v, i) => s + v * k.toArray()[i], 0)) < 1e-12);
    assert.ok(Math.abs(dot(5, 2) - dot(5, 3)) > 1e-6);
    // Rotation keeps norms.
    const r = rope.forward(q, 7).toArray();
    assert.ok(Math.abs(Math.hypot(...r) - Math.hypot(...q.toArray())) < 1e-12);
  });

  test('errors name shapes and misuse', () => {
    assert.throws(() => new MultiHeadAttention({ embedDim: 10, numHeads: 3 }), ValueError);
    const m = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    assert.throws(() => m.forward(T.zeros([2, 3, 7])), ShapeError);
    assert.throws(() => m.forward(T.zeros([2, 3, 8]), { keyPaddingMask: T.zeros([2, 4]) }), ShapeError);
    assert.throws(() => m.forward(T.zeros([2, 3, 8]), { memory: T.zeros([2, 3, 8]) }), ValueError);
    const cross = new MultiHeadAttention({ embedDim: 8, numHeads: 2, crossAttention: true });
    assert.throws(() => cross.forward(T.zeros([2, 3, 8])), ValueError);
  });
});
