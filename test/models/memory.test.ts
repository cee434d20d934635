// Forward passes (and generation) inside allocation scopes leave nothing behind: live buffers stay flat across steps
// for every model, on the fused and the masked attention paths (DESIGN.md "Memory").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { EncoderDecoder, EncoderForSequenceClassification, GPT } from '../../src/models/index.js';
import { ids } from './train-util.js';

function liveAfterEachStep(step: () => unknown, n = 4): number[] {
  const live: number[] = [];
  for (let i = 0; i < n; i++) {
    T.scope(() => { step(); });
    live.push(T.memoryStats().liveBuffers);
  }
  return live;
}

describe('memory', () => {
  test('GPT, Encoder and EncoderDecoder forwards keep live buffers flat', () => {
    const gpt = new GPT({ vocabSize: 11, nLayer: 2, nHead: 2, nEmbd: 8, blockSize: 8, dropout: 0.1, positionEmbedding: 'rope' });
    const enc = new EncoderForSequenceClassification({ vocabSize: 11, nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 8, numLabels: 2 });
    const ed = new EncoderDecoder({ srcVocabSize: 11, nEmbd: 8, nHead: 2, nEncoderLayer: 1, nDecoderLayer: 1, blockSize: 8, positionEmbedding: 'sinusoidal' });
    const x = ids([[1, 2, 3, 4], [5, 6, 7, 0]]);
    const mask = T.tensor(new Int32Array([1, 1, 1, 1, 1, 1, 1, 0]), [2, 4], 'int32');
    const live = liveAfterEachStep(() => {
      gpt.forward(x);
      enc.forward(x, { attentionMask: mask });
      ed.forward(x, x, { srcAttentionMask: mask });
    });
    // The garbage collector may lower the count (it reclaims unrelated wrapped arrays); it must never grow.
    assert.ok(live[live.length - 1] <= live[1], `live buffers per step: ${live.join(', ')}`);
    const start = ids([[1]]);
    const gen = liveAfterEachStep(() => gpt.generate(start, { maxNewTokens: 3 }), 3);
    assert.ok(gen[2] <= gen[1], `live buffers per generate: ${gen.join(', ')}`);
  });
});
