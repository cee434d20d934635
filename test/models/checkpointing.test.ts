// Activation checkpointing (gradientCheckpointing): the same gradients, bit for bit, as keeping the
// activations — with dropout, key-padding masks, cross-attention, bf16 autocast and accumulation over
// two backward passes — and fewer live bytes: each further checkpointed block keeps exactly its
// [B, T, C] output after the forward pass. Runs on whichever backend is active (npm test: both).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { autocast } from '../../src/amp/autocast.js';
import { EncoderDecoder, EncoderForSequenceClassification, GPT } from '../../src/models/index.js';
import type { Module } from '../../src/nn/module.js';
import { crossEntropy, ids } from './train-util.js';

/** Every parameter's gradient as bytes, by name. */
function gradBytes(m: Module): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [n, p] of m.namedParameters()) {
    assert.ok(p.grad, `${n} has no gradient`);
    const d = p.grad.contiguous().data() as Float32Array;
    out.set(n, new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice());
  }
  return out;
}

function assertSameBits(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>, what: string): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [n, buf] of a) assert.ok(sameBytes(buf, b.get(n)!), `${what}: gradient of ${n} differs`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs `loss` twice (accumulating), returns gradient bytes and the loss values. */
function run<M extends Module>(make: () => M, checkpointing: boolean, loss: (m: M) => T.Tensor): { grads: Map<string, Uint8Array>; losses: number[] } {
  const m = make();
  m.train();
  assert.equal(m.gradientCheckpointingEnable(checkpointing), m.modules().filter((x) => 'gradientCheckpointing' in x).length);
  assert.equal(m.isGradientCheckpointing, checkpointing);
  const losses: number[] = [];
  for (let i = 0; i < 2; i++) {
    T.scope(() => {
      const l = loss(m);
      losses.push(l.item());
      T.backward(l);
    });
  }
  return { grads: gradBytes(m), losses };
}

const gptConfig = { vocabSize: 13, nLayer: 3, nHead: 2, nEmbd: 16, blockSize: 12, dropout: 0.2, seed: 7 };
const x = ids([[1, 2, 3, 4, 5, 6, 7, 8, 9], [9, 8, 7, 6, 5, 4, 3, 2, 1]]);
const inp = T.narrow(x, 1, 0, 8).contiguous(), tgt = T.narrow(x, 1, 1, 8).contiguous();

describe('gradientCheckpointing', () => {
  test('GPT with dropout 0.2: gradients bitwise identical, losses identical', () => {
    for (const positionEmbedding of ['learned', 'rope'] as const) {
      const make = () => new GPT({ ...gptConfig, positionEmbedding });
      const f = (m: GPT) => crossEntropy(m.forward(inp), tgt);
      const a = run(make, false, f), b = run(make, true, f);
      assert.deepEqual(b.losses, a.losses);
      assert.notEqual(a.losses[0], a.losses[1], 'dropout draws new masks in the second pass');
      assertSameBits(a.grads, b.grads, positionEmbedding);
    }
  });

  test('GPT without dropout on the fused attention path, and under bf16 autocast', () => {
    const make = () => new GPT({ ...gptConfig, dropout: 0 });
    const f = (m: GPT) => crossEntropy(m.forward(inp), tgt);
    assertSameBits(run(make, false, f).grads, run(make, true, f).grads, 'fused');
    const fb = (m: GPT) => autocast({ dtype: 'bfloat16' }, () => crossEntropy(m.forward(inp), tgt));
    assertSameBits(run(make, false, fb).grads, run(make, true, fb).grads, 'bf16');
  });

  test('Encoder classifier with a padding mask and dropout; EncoderDecoder with cross-attention', () => {
    const mask = T.tensor(new Int32Array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]), [2, 8], 'int32');
    const labels = T.tensor(new Int32Array([1, 0]), [2], 'int32');
    const enc = () => new EncoderForSequenceClassification({ vocabSize: 13, nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 8, numLabels: 2, dropout: 0.1 });
    const fe = (m: EncoderForSequenceClassification) => crossEntropy(m.forward(inp, { attentionMask: mask }), labels);
    assertSameBits(run(enc, false, fe).grads, run(enc, true, fe).grads, 'encoder');
    const ed = () => new EncoderDecoder({ srcVocabSize: 13, nEmbd: 16, nHead: 2, nEncoderLayer: 2, nDecoderLayer: 2, blockSize: 8, positionEmbedding: 'sinusoidal', dropout: 0.1 });
    const fd = (m: EncoderDecoder) => crossEntropy(m.forward(inp, inp, { srcAttentionMask: mask }), tgt);
    assertSameBits(run(ed, false, fd).grads, run(ed, true, fd).grads, 'encoder-decoder');
  });

  test('the generator ends where it would have: a later draw is the same with and without', () => {
    const draws = [false, true].map((ck) => {
      const m = new GPT(gptConfig);
      m.train();
      m.gradientCheckpointingEnable(ck);
      T.scope(() => T.backward(crossEntropy(m.forward(inp), tgt)));
      return m.generator.random();
    });
    assert.equal(draws[1], draws[0]);
  });

  test('eval and noGrad forwards are the plain forward', () => {
    const a = new GPT(gptConfig), b = new GPT(gptConfig);
    b.gradientCheckpointingEnable();
    a.eval(); b.eval();
    const ya = T.noGrad(() => a.forward(inp)).data(), yb = T.noGrad(() => b.forward(inp)).data();
    assert.deepEqual(Array.from(yb), Array.from(ya));
  });
});

describe('gradientCheckpointing memory', () => {
  /** Live bytes the forward pass leaves for backward, and the peak during forward + backward, both above the start. */
  function retained(nLayer: number, checkpointing: boolean): { kept: number; peak: number } {
    const m = new GPT({ vocabSize: 13, nLayer, nHead: 2, nEmbd: 32, blockSize: 64, dropout: 0 });
    m.gradientCheckpointingEnable(checkpointing);
    const big = ids([Array.from({ length: 65 }, (_, i) => i % 13), Array.from({ length: 65 }, (_, i) => (i * 5) % 13)]);
    const xi = T.narrow(big, 1, 0, 64).contiguous(), yi = T.narrow(big, 1, 1, 64).contiguous();
    let kept = 0;
    T.resetPeakMemoryStats();
    const start = T.memoryStats().liveBytes;
    T.scope(() => {
      const l = crossEntropy(m.forward(xi), yi);
      kept = T.memoryStats().liveBytes - start;
      T.backward(l);
    });
    const peak = T.memoryStats().peakLiveBytes - start;
    m.zeroGrad();
    return { kept, peak };
  }

  test('each further checkpointed block keeps exactly its [B, T, C] output; without, much more', () => {
    const B = 2, Tn = 64, C = 32;
    const c1 = retained(1, true), c4 = retained(4, true);
    const p1 = retained(1, false), p4 = retained(4, false);
    // Known answer: the 3 extra blocks keep 3 outputs of B·T·C float32 values and nothing else.
    assert.equal(c4.kept - c1.kept, 3 * B * Tn * C * 4);
    // Kept: norms' inputs and outputs, q/k/v, attention output, the 4C-wide MLP activations... per block.
    assert.ok(p4.kept - p1.kept > 10 * (c4.kept - c1.kept), `plain blocks keep ${p4.kept - p1.kept} bytes, checkpointed ${c4.kept - c1.kept}`);
    assert.ok(c4.peak < p4.peak, `peak live bytes: checkpointed ${c4.peak}, plain ${p4.peak}`);
  });
});
