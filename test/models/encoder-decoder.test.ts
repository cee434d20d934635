// EncoderDecoder: shapes, decoder causality, source padding invariance, cross-attention use,
// beam search against exhaustive enumeration, greedy = one beam, and a copy task it learns.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, IndexError, ValueError } from '../../src/errors.js';
import * as T from '../../src/tensor/index.js';
import { EncoderDecoder } from '../../src/models/index.js';
import { crossEntropy, ids, train } from './train-util.js';

const cfg = { srcVocabSize: 12, tgtVocabSize: 9, nEmbd: 16, nHead: 2, nEncoderLayer: 1, nDecoderLayer: 2, blockSize: 8 };

/** Sum of log p(tgt[t+1] | tgt[..t], src) under teacher forcing, in float64 from the logits. */
function seqLogProb(m: EncoderDecoder, src: number[], tgt: number[]): number {
  const logits = T.noGrad(() => m.forward(ids([src]), ids([tgt.slice(0, -1)]))).toArray();
  const V = m.config.tgtVocabSize;
  let s = 0;
  for (let t = 0; t < tgt.length - 1; t++) {
    const row = logits.slice(t * V, (t + 1) * V);
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
    s += row[tgt[t + 1]] - lse;
  }
  return s;
}

describe('EncoderDecoder', () => {
  test('logits [B, T, V_tgt]; parameter names; shared and tied embeddings', () => {
    const m = new EncoderDecoder(cfg);
    assert.deepEqual(m.forward(ids([[3, 4, 5], [6, 7, 8]]), ids([[1, 4], [1, 5]])).shape, [2, 2, 9]);
    const names = m.namedParameters().map(([n]) => n);
    for (const n of ['encoder.wte.weight', 'encoder.h.0.attn.c_attn.weight', 'decoder.h.1.crossattn.q_attn.weight',
      'decoder.h.1.crossattn.c_attn.weight', 'decoder.h.0.ln_cross.weight', 'decoder.ln_f.bias']) assert.ok(names.includes(n), n);
    assert.equal(m.lmHeadWeight(), m.decoder.wte.weight);
    const shared = new EncoderDecoder({ ...cfg, tgtVocabSize: 12, shareEmbeddings: true, tieWordEmbeddings: false });
    assert.equal(shared.decoder.wte, shared.encoder.wte);
    assert.ok(!shared.namedParameters().some(([n]) => n === 'decoder.wte.weight'), 'shared table listed once');
    assert.ok(shared.lm_head);
    assert.throws(() => new EncoderDecoder({ ...cfg, shareEmbeddings: true }), ConfigError);
  });

  test('an id outside the source or target vocabulary names its row and position, as GPT does', () => {
    const m = new EncoderDecoder(cfg);
    // srcVocabSize 12: id 12 is one past the source table; tgtVocabSize 9: id 9 one past the target's.
    assert.throws(() => m.forward(ids([[3, 4, 5], [6, 12, 8]]), ids([[1, 4], [1, 5]])), (e: Error) => e instanceof IndexError
      && e.message === 'EncoderDecoder.encode: token id 12 at row 1, position 1 of the ids [2, 3] is outside the vocabulary (srcVocabSize 12: ids 0..11)');
    // 10 fits the source table but not the target one (the embedding would read past the target table).
    assert.throws(() => m.forward(ids([[3, 4, 5]]), ids([[1, 4, 10]])), (e: Error) => e instanceof IndexError
      && e.message === 'EncoderDecoder.decode: token id 10 at row 0, position 2 of the ids [1, 3] is outside the vocabulary (tgtVocabSize 9: ids 0..8)');
    assert.throws(() => m.greedyDecode(ids([[-1, 3]]), { maxLength: 3 }), (e: Error) => e instanceof IndexError
      && e.message.startsWith('EncoderDecoder.encode: token id -1 at row 0, position 0 of the ids [1, 2] '));
  });

  test('decoder is causal; cross-attention reads the source; source padding is ignored', () => {
    for (const positionEmbedding of ['learned', 'sinusoidal'] as const) {
      const m = new EncoderDecoder({ ...cfg, positionEmbedding }).eval();
      const a = m.forward(ids([[3, 4, 5]]), ids([[1, 4, 6, 2]])).toArray();
      const b = m.forward(ids([[3, 4, 5]]), ids([[1, 4, 7, 7]])).toArray();
      for (let i = 0; i < 2 * 9; i++) assert.equal(a[i], b[i]);
      const c = m.forward(ids([[3, 4, 9]]), ids([[1, 4, 6, 2]])).toArray();
      assert.ok(c.slice(0, 9).some((v, i) => v !== a[i]), 'the first target position depends on the source');
      const padded = m.forward(ids([[3, 4, 5, 0, 0]]), ids([[1, 4, 6, 2]]), {
        srcAttentionMask: T.tensor(new Int32Array([1, 1, 1, 0, 0]), [1, 5], 'int32'),
      }).toArray();
      a.forEach((v, i) => assert.ok(Math.abs(v - padded[i]) < 1e-5));
    }
  });

  test('beam search with enough beams finds the best sequence found by exhaustive enumeration', () => {
    // Tiny target vocabulary: pad 0, bos 1, eos 2, tokens 3, 4.
    const m = new EncoderDecoder({ ...cfg, tgtVocabSize: 5, seed: 9 });
    // Make the distribution peaky enough that ranking matters.
    for (const p of m.parameters()) { const d = p.data(); for (let i = 0; i < d.length; i++) d[i] *= 20; }
    m.eval();
    const src = [5, 6, 7];
    const maxLength = 4;
    for (const lengthPenalty of [0, 1]) {
      // Every hypothesis: BOS, then tokens in {0,1,3,4,...} ... ending in EOS, or reaching maxLength.
      let best = { seq: [] as number[], score: -Infinity };
      const visit = (seq: number[]) => {
        const last = seq[seq.length - 1];
        if (seq.length > 1 && last === 2) { consider(seq); return; }
        if (seq.length === maxLength) { consider(seq); return; }
        for (let v = 0; v < 5; v++) visit([...seq, v]);
      };
      const consider = (seq: number[]) => {
        const score = seqLogProb(m, src, seq) / Math.pow(seq.length - 1, lengthPenalty);
        if (score > best.score) best = { seq, score };
      };
      visit([1]);
      const r = m.beamSearch(ids([src]), { numBeams: 125, maxLength, lengthPenalty });
      const got = r.sequences.toArray();
      assert.deepEqual(got.slice(0, best.seq.length), best.seq, `lengthPenalty ${lengthPenalty}`);
      assert.ok(Math.abs(r.scores[0] - best.score) < 1e-4);
    }
  });

  test('one beam is greedy decoding; decoding works per row with padding', () => {
    const m = new EncoderDecoder({ ...cfg, seed: 4 });
    const src = ids([[3, 4, 5, 6], [7, 8, 0, 0]]);
    const mask = T.tensor(new Int32Array([1, 1, 1, 1, 1, 1, 0, 0]), [2, 4], 'int32');
    const greedy = m.greedyDecode(src, { srcAttentionMask: mask, maxLength: 6 });
    assert.equal(greedy.shape[0], 2);
    const g = greedy.toArray(), L = greedy.shape[1];
    assert.ok(g[0] === 1 && g[L] === 1, 'rows start with BOS');
    const beam = m.beamSearch(src, { srcAttentionMask: mask, numBeams: 1, maxLength: 6, lengthPenalty: 0 }).sequences.toArray();
    const Lb = beam.length / 2;
    // Compare up to and including EOS; after it greedy pads.
    for (let b = 0; b < 2; b++) {
      const gr = g.slice(b * L, (b + 1) * L), br = beam.slice(b * Lb, (b + 1) * Lb);
      const end = gr.indexOf(2) >= 0 ? gr.indexOf(2) + 1 : L;
      assert.deepEqual(br.slice(0, end), gr.slice(0, end));
    }
    // Row 1 alone (no padding) decodes the same as in the padded batch.
    const alone = m.greedyDecode(ids([[7, 8]]), { maxLength: 6 }).toArray();
    assert.deepEqual(alone, g.slice(L, L + alone.length));
    assert.equal(m.training, true, 'mode restored');
    assert.throws(() => m.greedyDecode(src, { maxLength: 9 }), ValueError);
  });

  test('learns to reverse short sequences (teacher forcing), then greedy decoding reproduces them', () => {
    // Source tokens 3..8; target = BOS, reversed source, EOS.
    const m = new EncoderDecoder({ srcVocabSize: 9, tgtVocabSize: 9, nEmbd: 32, nHead: 2, nEncoderLayer: 1, nDecoderLayer: 1, blockSize: 6, seed: 1 });
    const srcs = [[3, 4, 5], [5, 6, 7], [8, 3, 6], [7, 7, 4], [4, 8, 5], [6, 3, 3]];
    const tgts = srcs.map((s) => [1, ...[...s].reverse(), 2]);
    const x = ids(srcs), tin = ids(tgts.map((t) => t.slice(0, -1))), tout = ids(tgts.map((t) => t.slice(1)));
    const losses = train(m.parameters(), () => crossEntropy(m.forward(x, tin), tout), 120, 1e-2);
    assert.ok(losses[losses.length - 1] < 0.05, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
    assert.deepEqual(m.greedyDecode(x, { maxLength: 5 }).toArray(), tgts.flat());
    assert.deepEqual(m.beamSearch(x, { numBeams: 3, maxLength: 5 }).sequences.toArray(), tgts.flat());
  });
});
