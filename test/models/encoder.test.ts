// Encoder (BERT-style) with classification and extractive-QA heads: shapes, padding invariance
// under attention masks (CLS and mean pooling, pre- and post-LN), pooling formulas, and learning.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, ShapeError } from '../../src/errors.js';
import * as T from '../../src/tensor/index.js';
import { Encoder, EncoderForQuestionAnswering, EncoderForSequenceClassification } from '../../src/models/index.js';
import { crossEntropy, ids, train } from './train-util.js';

const cfg = { vocabSize: 20, nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 10, dropout: 0 };

const near = (a: number[], b: number[], tol: number) => {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol, `${i}: ${v} vs ${b[i]}`));
};

describe('Encoder', () => {
  test('hidden states [B, T, C]; bidirectional (every position sees later tokens)', () => {
    const enc = new Encoder(cfg);
    const h = enc.forward(ids([[1, 2, 3, 4], [5, 6, 7, 8]]));
    assert.deepEqual(h.shape, [2, 4, 16]);
    const a = enc.forward(ids([[1, 2, 3, 4]])).toArray(), b = enc.forward(ids([[1, 2, 3, 9]])).toArray();
    assert.ok(a.slice(0, 16).some((v, i) => v !== b[i]), 'position 0 depends on token 3');
    assert.equal(enc.ln_emb !== null, true, 'post-LN (BERT) normalises the embeddings');
    assert.equal(new Encoder({ ...cfg, normPosition: 'pre' }).ln_f !== null, true);
  });

  for (const [normPosition, pooling] of [['post', 'cls'], ['pre', 'mean']] as const) {
    test(`padding with attentionMask 0 does not change real outputs (${normPosition}-LN, ${pooling} pooling)`, () => {
      const m = new EncoderForSequenceClassification({ ...cfg, normPosition, pooling, numLabels: 3, typeVocabSize: 2 }).eval();
      const short = m.forward(ids([[1, 5, 7]]), { tokenTypeIds: ids([[0, 1, 1]]) }).toArray();
      const padded = m.forward(ids([[1, 5, 7, 0, 0, 0]]), {
        attentionMask: T.tensor(new Int32Array([1, 1, 1, 0, 0, 0]), [1, 6], 'int32'), tokenTypeIds: ids([[0, 1, 1, 0, 0, 0]]),
      }).toArray();
      near(padded, short, 1e-5);
      assert.equal(padded.length, 3);
      // Without the mask the padding does change the real tokens' hidden states.
      const hShort = m.encoder.forward(ids([[1, 5, 7]]), { tokenTypeIds: ids([[0, 1, 1]]) }).toArray();
      const hUnmasked = m.encoder.forward(ids([[1, 5, 7, 0, 0, 0]]), { tokenTypeIds: ids([[0, 1, 1, 0, 0, 0]]) }).toArray();
      assert.ok(hShort.some((v, i) => Math.abs(v - hUnmasked[i]) > 1e-3));
    });
  }

  test('pool: cls takes position 0, mean averages the real tokens', () => {
    const enc = new Encoder(cfg);
    const h = T.tensor(Float32Array.from({ length: 2 * 3 * 2 }, (_, i) => i), [2, 3, 2]);
    assert.deepEqual(enc.pool(h, null, 'cls').toArray(), [0, 1, 6, 7]);
    const mask = T.tensor(new Int32Array([1, 1, 0, 1, 0, 0]), [2, 3], 'int32');
    assert.deepEqual(enc.pool(h, mask, 'mean').toArray(), [1, 2, 6, 7]);
    assert.deepEqual(enc.pool(h, null, 'mean').toArray(), [2, 3, 8, 9]);
    assert.throws(() => enc.pool(h, T.ones([2, 4]), 'mean'), ShapeError);
  });

  test('QA head: start/end logits [B, T] are the two channels of qa_outputs', () => {
    const m = new EncoderForQuestionAnswering(cfg);
    const x = ids([[1, 2, 3, 4, 5]]);
    const { startLogits, endLogits } = m.forward(x);
    assert.deepEqual(startLogits.shape, [1, 5]);
    const both = m.qa_outputs.forward(m.encoder.forward(x)).toArray();
    near(startLogits.toArray(), both.filter((_, i) => i % 2 === 0), 1e-6);
    near(endLogits.toArray(), both.filter((_, i) => i % 2 === 1), 1e-6);
    assert.deepEqual(m.namedParameters().map(([n]) => n).slice(-2), ['qa_outputs.weight', 'qa_outputs.bias']);
  });

  test('classification learns a token-presence rule; QA learns to point at a marker token', () => {
    // Label 1 iff token 3 occurs; mean pooling with padding masks.
    const rows = [[3, 5, 6, 0], [5, 6, 7, 8], [9, 3, 0, 0], [7, 7, 9, 0], [4, 5, 3, 6], [8, 9, 4, 0]];
    const labels = ids([[1, 0, 1, 0, 1, 0]]);
    const mask = T.tensor(Int32Array.from(rows.flat().map((v) => (v === 0 ? 0 : 1))), [6, 4], 'int32');
    const clf = new EncoderForSequenceClassification({ ...cfg, pooling: 'mean', numLabels: 2, seed: 2 });
    const losses = train(clf.parameters(), () => crossEntropy(clf.forward(ids(rows), { attentionMask: mask }), labels), 60, 1e-2);
    assert.ok(losses[losses.length - 1] < 0.05, `classification loss ${losses[0]} → ${losses[losses.length - 1]}`);
    // QA: the answer span starts at token 3 and ends at the token after it.
    const qa = new EncoderForQuestionAnswering({ ...cfg, seed: 3 });
    const q = [[5, 3, 6, 7, 8], [3, 9, 5, 6, 7], [5, 6, 7, 3, 9]];
    const start = ids([[1, 0, 3]]), end = ids([[2, 1, 4]]);
    const qLoss = train(qa.parameters(), () => {
      const { startLogits, endLogits } = qa.forward(ids(q));
      return T.mulScalar(T.add(crossEntropy(startLogits, start), crossEntropy(endLogits, end)), 0.5);
    }, 60, 1e-2);
    assert.ok(qLoss[qLoss.length - 1] < 0.05, `QA loss ${qLoss[0]} → ${qLoss[qLoss.length - 1]}`);
  });

  test('config errors name the field', () => {
    assert.throws(() => new Encoder({ ...cfg, pooling: 'max' as never }), (e: Error) => e instanceof ConfigError && /pooling/.test(e.message));
    assert.throws(() => new EncoderForSequenceClassification({ ...cfg, numLabels: 0 }), (e: Error) => e instanceof ConfigError && /numLabels/.test(e.message));
    assert.throws(() => new Encoder(cfg).forward(ids([[1, 2]]), { tokenTypeIds: ids([[0, 0]]) }), ConfigError);
  });
});
