// Decoding with cached keys/values gives the tokens (and beam scores) of recomputing the whole
// prefix each step; batched beam search gives each source's per-source result; minNewTokens and
// maxNewTokens bound the length; the step caches leave no live buffers behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { EncoderDecoder } from '../../src/models/index.js';
import { ids } from './train-util.js';

const cfg = { srcVocabSize: 14, tgtVocabSize: 14, nEmbd: 16, nHead: 2, nEncoderLayer: 1, nDecoderLayer: 2, blockSize: 12, seed: 4 };

function model(positionEmbedding: 'learned' | 'sinusoidal' = 'learned'): EncoderDecoder {
  const m = new EncoderDecoder({ ...cfg, positionEmbedding });
  // Peaky distributions, so that beams differ and ties are unlikely.
  for (const p of m.parameters()) { const d = p.data(); for (let i = 0; i < d.length; i++) d[i] *= 8; }
  return m.eval();
}

const src = ids([[3, 4, 5, 6, 0], [7, 8, 0, 0, 0], [9, 10, 11, 12, 13]]);
const mask = T.tensor(new Int32Array([1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1]), [3, 5], 'int32');

test('greedy and beam search: the same tokens with and without the cache (learned and sinusoidal positions, padded sources)', () => {
  for (const pe of ['learned', 'sinusoidal'] as const) {
    const m = model(pe);
    const g1 = m.greedyDecode(src, { srcAttentionMask: mask, useCache: true }).toArray();
    const g0 = m.greedyDecode(src, { srcAttentionMask: mask, useCache: false }).toArray();
    assert.deepEqual(g1, g0, pe);
    for (const lengthPenalty of [0, 1.2]) {
      const b1 = m.beamSearch(src, { srcAttentionMask: mask, numBeams: 3, lengthPenalty, useCache: true });
      const b0 = m.beamSearch(src, { srcAttentionMask: mask, numBeams: 3, lengthPenalty, useCache: false });
      assert.deepEqual(b1.sequences.toArray(), b0.sequences.toArray(), `${pe} lp ${lengthPenalty}`);
      b1.scores.forEach((s, i) => assert.ok(Math.abs(s - b0.scores[i]) < 1e-4, `${s} vs ${b0.scores[i]}`));
    }
  }
});

test('the same tokens with and without the cache when the step products take the few-row kernel (nEmbd 128, one source)', () => {
  // Weights of at least 16384 floats: a cached step's products (1 row greedy, 4 rows beam 4) run on
  // native/src/skinny-gemm.cc, the uncached ones (a row per position) mostly on cblas_sgemm.
  const m = new EncoderDecoder({ srcVocabSize: 200, tgtVocabSize: 200, nEmbd: 128, nHead: 4, nEncoderLayer: 1, nDecoderLayer: 2, blockSize: 24, seed: 6 }).eval();
  const one = ids([[7, 30, 41, 99, 150, 3]]);
  const opts = { maxNewTokens: 20, minNewTokens: 20 };
  assert.deepEqual(m.greedyDecode(one, { ...opts, useCache: true }).toArray(), m.greedyDecode(one, { ...opts, useCache: false }).toArray());
  const b1 = m.beamSearch(one, { ...opts, numBeams: 4, useCache: true }), b0 = m.beamSearch(one, { ...opts, numBeams: 4, useCache: false });
  assert.deepEqual(b1.sequences.toArray(), b0.sequences.toArray());
  assert.ok(Math.abs(b1.scores[0] - b0.scores[0]) < 1e-4, `${b1.scores[0]} vs ${b0.scores[0]}`);
});

test('batched beam search gives each source the result it gets alone', () => {
  const m = model();
  const all = m.beamSearch(src, { srcAttentionMask: mask, numBeams: 4 });
  const L = all.sequences.shape[1], rows = all.sequences.toArray();
  const lens = [4, 2, 5];
  for (let b = 0; b < 3; b++) {
    const one = m.beamSearch(ids([src.toArray().slice(b * 5, b * 5 + lens[b])]), { numBeams: 4 });
    const o = one.sequences.toArray();
    assert.deepEqual(rows.slice(b * L, b * L + o.length), o, `row ${b}`);
    assert.ok(Math.abs(one.scores[0] - all.scores[b]) < 1e-4);
  }
});

test('maxNewTokens and minNewTokens: exactly n new tokens when both are n; no EOS before minNewTokens', () => {
  const m = model();
  const eos = m.config.eosTokenId;
  const g = m.greedyDecode(src, { srcAttentionMask: mask, maxNewTokens: 7, minNewTokens: 7 });
  assert.deepEqual(g.shape, [3, 8]);
  assert.ok(!g.toArray().some((t, i) => i % 8 > 0 && t === eos));
  const b = m.beamSearch(src, { srcAttentionMask: mask, numBeams: 2, maxNewTokens: 5, minNewTokens: 5 });
  assert.equal(b.sequences.shape[1], 6);
});

test('decoding with the cache leaves no buffers alive', () => {
  const m = model();
  m.greedyDecode(src, { srcAttentionMask: mask });
  m.beamSearch(src, { srcAttentionMask: mask, numBeams: 3 });
  const before = T.memoryStats().liveBuffers;
  for (let i = 0; i < 3; i++) T.scope(() => { m.greedyDecode(src, { srcAttentionMask: mask }); m.beamSearch(src, { srcAttentionMask: mask, numBeams: 3 }); });
  const after = T.memoryStats().liveBuffers;
  assert.ok(after <= before, `live buffers ${before} → ${after}`);
});
