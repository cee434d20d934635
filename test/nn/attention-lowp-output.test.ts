// MultiHeadAttention's self-attention under bf16 autocast writes its packed q/k/v projection as
// bf16 (linear's lowpOutput) because packedSelfAttention rounds it to bf16 anyway, and takes y back
// as bf16 (packedSelfAttention's lowpOutput) into c_proj: the output and every gradient must equal,
// bit for bit, those of the float32 projection followed by the same ops (its gradient is the bf16
// one widened; both pieces tested on their own in test/tensor). Current backend (js under
// TRAINFORMER_BACKEND=js).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { autocast } from '../../src/amp/autocast.js';
import { toBfloat16Bits } from '../../src/amp/cast.js';
import { MultiHeadAttention } from '../../src/nn/attention.js';
import * as T from '../../src/tensor/index.js';

function same(got: T.Tensor, want: T.Tensor, what: string): void {
  const a = new Uint32Array(Float32Array.from(got.contiguous().data()).buffer);
  const b = new Uint32Array(Float32Array.from(want.contiguous().data()).buffer);
  assert.equal(a.length, b.length, what);
  const i = a.findIndex((v, j) => v !== b[j]);
  assert.equal(i, -1, `${what} differs at ${i}`);
}

describe('MultiHeadAttention: bf16 projection output under autocast', () => {
  test('linear lowpOutput: bf16 only under bf16 autocast, the bits of the float32 output rounded', () => {
    const g = new T.Generator(3);
    const x = T.randn([2, 5, 8], { generator: g }), w = T.randn([24, 8], { generator: g }), b = T.randn([24], { generator: g });
    assert.equal(T.linear(x, w, b, { lowpOutput: true }).dtype, 'float32');
    assert.equal(autocast({ dtype: 'float16' }, () => T.linear(x, w, b, { lowpOutput: true })).dtype, 'float32');
    const [y16, y32] = autocast({ dtype: 'bfloat16' }, () => [T.linear(x, w, b, { lowpOutput: true }), T.linear(x, w, b)]);
    assert.equal(y16!.dtype, 'bfloat16');
    const want = Uint16Array.from(y32!.data(), (v) => toBfloat16Bits(v));
    assert.deepEqual([...(y16!.data() as Uint16Array)], [...want]);
  });

  for (const [B, Tn, C, H, bias] of [[2, 7, 24, 3, true], [1, 33, 64, 4, false], [3, 16, 48, 2, true]] as const) {
    test(`[${B}, ${Tn}, ${C}] ${H} heads, bias ${bias}: output and gradients as the float32 projection`, () => {
      const mha = new MultiHeadAttention({ embedDim: C, numHeads: H, causal: true, bias, generator: new T.Generator(C) });
      const x0 = T.randn([B, Tn, C], { generator: new T.Generator(C + 1) });
      const wy = T.randn([B, Tn, C], { generator: new T.Generator(C + 2) });
      const params = [mha.c_attn.weight, mha.c_attn.bias, mha.c_proj.weight, mha.c_proj.bias].filter((p): p is T.Tensor => p !== null);
      const runOnce = (forward: (x: T.Tensor) => T.Tensor): T.Tensor[] => {
        for (const p of params) p.grad = null;
        const x = x0.detach().requiresGrad_();
        const y = autocast({ dtype: 'bfloat16' }, () => forward(x));
        T.backward(T.sum(T.mul(y, wy)));
        return [y.detach(), x.grad!, ...params.map((p) => p.grad!)];
      };
      const before = runOnce((x) => {
        const qkv = T.linear(x, mha.c_attn.weight, mha.c_attn.bias);
        assert.equal(qkv.dtype, 'float32');
        const y = T.packedSelfAttention(qkv, H, { causal: true, scale: mha.scale, lowpOutput: true });
        assert.equal(y.dtype, 'bfloat16');
        return T.linear(y, mha.c_proj.weight, mha.c_proj.bias);
      });
      const now = runOnce((x) => mha.forward(x));
      ['y', 'x.grad', ...params.map((_, i) => `param ${i} grad`)].forEach((what, i) => same(now[i]!, before[i]!, what));
    });
  }
});
