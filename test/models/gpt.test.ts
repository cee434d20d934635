// GPT: shapes, HF-style names, parameter count from the config, causality, tied head, generation,
// sampling filters with known answers, reproducible dropout, and that a tiny model overfits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, ValueError } from '../../src/errors.js';
import * as T from '../../src/tensor/index.js';
import { GPT, gptConfigFromJson, samplingDistribution } from '../../src/models/index.js';
import { crossEntropy, ids, train } from './train-util.js';

const tiny = { vocabSize: 17, nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 12 };

describe('GPT', () => {
  test('forward gives [B, T, V] logits; hidden @ lmHeadWeightᵀ equals forward', () => {
    const m = new GPT(tiny);
    const x = ids([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]);
    const logits = m.forward(x);
    assert.deepEqual(logits.shape, [2, 5, 17]);
    const h = m.hidden(x);
    assert.deepEqual(h.shape, [2, 5, 16]);
    const W = m.lmHeadWeight();
    assert.equal(W, m.wte.weight, 'tied head');
    const hd = h.toArray(), Wd = W.toArray(), ld = logits.toArray();
    for (let r = 0; r < 10; r += 3) for (let v = 0; v < 17; v += 4) {
      let s = 0;
      for (let c = 0; c < 16; c++) s += hd[r * 16 + c] * Wd[v * 16 + c];
      assert.ok(Math.abs(ld[r * 17 + v] - s) < 1e-5);
    }
    assert.throws(() => m.forward(ids([Array(13).fill(0)])), ValueError);
    assert.throws(() => m.forward(T.zeros([1, 3])), ValueError);
  });

  test('parameter names follow HF GPT-2 and the count matches the architecture formula', () => {
    const m = new GPT({ ...tiny, tieWordEmbeddings: false });
    const names = m.namedParameters().map(([n]) => n);
    for (const n of ['wte.weight', 'wpe.weight', 'h.0.ln_1.weight', 'h.0.ln_1.bias', 'h.0.attn.c_attn.weight', 'h.0.attn.c_attn.bias',
      'h.0.attn.c_proj.weight', 'h.0.ln_2.weight', 'h.0.mlp.c_fc.weight', 'h.0.mlp.c_proj.bias', 'h.1.mlp.c_proj.weight', 'ln_f.weight',
      'ln_f.bias', 'lm_head.weight']) assert.ok(names.includes(n), n);
    assert.deepEqual(m.getParameter('h.0.attn.c_attn.weight').shape, [48, 16]);
    assert.deepEqual(m.getParameter('h.0.mlp.c_fc.weight').shape, [64, 16]);
    // Per block: c_attn 3C²+3C, c_proj C²+C, c_fc 4C²+4C, mlp c_proj 4C²+C, two LayerNorms 4C.
    const { vocabSize: V, nLayer: L, nEmbd: C, blockSize: P } = tiny;
    const perBlock = 12 * C * C + 13 * C;
    const tied = new GPT(tiny);
    assert.equal(tied.numParameters(), L * perBlock + V * C + P * C + 2 * C);
    assert.equal(tied.numParameters({ nonEmbedding: true }), L * perBlock + V * C + 2 * C);
    assert.equal(m.numParameters(), L * perBlock + 2 * V * C + P * C + 2 * C);
  });

  test('bench tiny config: 405,120 non-embedding parameters, as nanoGPT counts them', () => {
    const cfg = gptConfigFromJson({ vocab_size: 65, n_layer: 2, n_head: 4, n_embd: 128, block_size: 64, bias: true, dropout: 0, layernorm_eps: 1e-5, gelu: 'erf', tie_lm_head: true, mlp_ratio: 4 });
    assert.equal(cfg.activation, 'gelu');
    assert.equal(cfg.nInner, 512);
    // 2·(12·128² + 13·128) + 65·128 + 2·128
    assert.equal(new GPT(cfg).numParameters({ nonEmbedding: true }), 2 * (12 * 128 * 128 + 13 * 128) + 65 * 128 + 2 * 128);
  });

  test('config errors name the field', () => {
    assert.throws(() => new GPT({ ...tiny, nHead: 3 }), (e: Error) => e instanceof ConfigError && /nHead/.test(e.message));
    assert.throws(() => new GPT({ ...tiny, dropout: 2 }), (e: Error) => e instanceof ConfigError && /dropout/.test(e.message));
    assert.throws(() => new GPT({ ...tiny, activation: 'tanh' as never }), (e: Error) => e instanceof ConfigError && /activation/.test(e.message));
    assert.throws(() => new GPT({ ...tiny, vocabSize: 0 }), ConfigError);
    const rope = { ...tiny, positionEmbedding: 'rope' as const };
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...rope, ropeTheta: 1 }, /^ropeTheta must be a finite number > 1, got 1$/],
      [{ ...rope, ropeTheta: 'big' }, /^ropeTheta must be a finite number > 1, got "big"$/],
      [{ ...rope, ropeScaling: { type: 'dynamic', factor: 2 } }, /^ropeScaling must be \{ "type": "linear", "factor": <number >= 1> \}, got \{"type":"dynamic","factor":2\}$/],
      [{ ...rope, ropeScaling: { type: 'linear', factor: 0.5 } }, /^ropeScaling must be/],
      [{ ...rope, ropeScaling: { type: 'linear' } }, /^ropeScaling must be/],
      [{ ...tiny, ropeTheta: 500000 }, /^ropeTheta needs positionEmbedding 'rope', got 'learned'$/],
      [{ ...tiny, ropeScaling: { type: 'linear', factor: 2 } }, /^ropeScaling needs positionEmbedding 'rope', got 'learned'$/],
      [{ ...tiny, attentionWindow: 0 }, /^attentionWindow must be a positive integer, got 0$/],
      [{ ...tiny, attentionWindow: 2.5 }, /^attentionWindow must be a positive integer, got 2.5$/],
    ];
    for (const [c, re] of bad) assert.throws(() => new GPT(c as never), (e: Error) => e instanceof ConfigError && re.test(e.message), JSON.stringify(c));
    const j = gptConfigFromJson({ vocab_size: 17, n_layer: 1, n_head: 2, n_embd: 16, n_positions: 12, positionEmbedding: 'rope', rope_theta: 500000, rope_scaling: { type: 'linear', factor: 4 }, sliding_window: 4 });
    assert.deepEqual([j.ropeTheta, j.ropeScaling, j.attentionWindow], [500000, { type: 'linear', factor: 4 }, 4]);
  });

  test('attentionWindow w: with one layer, logits at t depend only on tokens t - w + 1 .. t', () => {
    for (const extra of [{}, { positionEmbedding: 'rope' as const, ropeTheta: 100, ropeScaling: { type: 'linear' as const, factor: 2 } }]) {
      const m = new GPT({ ...tiny, nLayer: 1, attentionWindow: 3, ...extra });
      const a = m.forward(ids([[1, 2, 3, 4, 5, 6, 7, 8]])).toArray();
      const b = m.forward(ids([[9, 9, 3, 4, 5, 6, 7, 8]])).toArray();
      // Tokens 0 and 1 changed: positions 0..3 see them (window 3), positions 4..7 do not.
      for (let t = 0; t < 8; t++) {
        const same = a.slice(t * 17, (t + 1) * 17).every((v, i) => v === b[t * 17 + i]);
        assert.equal(same, t >= 4, `position ${t}`);
      }
    }
  });

  test('logits at position t do not depend on later tokens (learned and rotary positions)', () => {
    for (const extra of [{}, { positionEmbedding: 'rope' as const, norm: 'rmsnorm' as const, activation: 'swiglu' as const }]) {
      const m = new GPT({ ...tiny, ...extra });
      const a = m.forward(ids([[1, 2, 3, 4, 5, 6]])).toArray();
      const b = m.forward(ids([[1, 2, 3, 9, 9, 9]])).toArray();
      for (let i = 0; i < 3 * 17; i++) assert.equal(a[i], b[i]);
      assert.ok(a.slice(3 * 17).some((v, i) => v !== b[3 * 17 + i]));
    }
  });

  test('same seed, same model and same dropout masks; eval switches dropout off', () => {
    const x = ids([[1, 2, 3, 4]]);
    const a = new GPT({ ...tiny, dropout: 0.2, seed: 5 }), b = new GPT({ ...tiny, dropout: 0.2, seed: 5 });
    assert.deepEqual(a.forward(x).toArray(), b.forward(x).toArray());
    const first = a.forward(x).toArray();
    assert.notDeepEqual(first, a.forward(x).toArray(), 'masks differ from call to call');
    a.eval();
    assert.deepEqual(a.forward(x).toArray(), a.forward(x).toArray());
    assert.notDeepEqual(new GPT({ ...tiny, seed: 6 }).wte.weight.toArray(), new GPT({ ...tiny, seed: 5 }).wte.weight.toArray());
  });

  test('a tiny GPT overfits one sequence: loss falls far below log V', () => {
    const m = new GPT({ vocabSize: 16, nLayer: 1, nHead: 2, nEmbd: 32, blockSize: 16, seed: 3 });
    const seq = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2];
    const x = ids([seq.slice(0, 16)]), y = ids([seq.slice(1)]);
    const losses = train(m.parameters(), () => crossEntropy(m.forward(x), y), 150, 1e-2);
    assert.ok(Math.abs(losses[0] - Math.log(16)) < 0.3, `initial loss ${losses[0]} ≈ log 16`);
    assert.ok(losses[losses.length - 1] < 0.05 * Math.log(16), `final loss ${losses[losses.length - 1]}`);
    // Greedy generation from the first token then reproduces the memorised continuation.
    const gen = m.generate(ids([[3]]), { maxNewTokens: 8, temperature: 0 }).toArray();
    assert.deepEqual(gen, seq.slice(0, 9));
  });

  test('generate: greedy equals the argmax chain; topK 1 equals greedy; same generator seed, same samples', () => {
    const m = new GPT(tiny);
    const start = ids([[1, 2], [3, 4]]);
    const greedy = m.generate(start, { maxNewTokens: 5, temperature: 0 });
    assert.deepEqual(greedy.shape, [2, 7]);
    // The chain by hand: argmax of the last position's logits, one token at a time.
    const rows = [[1, 2], [3, 4]];
    for (let s = 0; s < 5; s++) {
      const lg = T.noGrad(() => m.forward(ids(rows))).toArray();
      const L = rows[0].length;
      for (let b = 0; b < 2; b++) {
        const last = lg.slice((b * L + L - 1) * 17, (b * L + L) * 17);
        rows[b].push(last.indexOf(Math.max(...last)));
      }
    }
    assert.deepEqual(greedy.toArray(), rows.flat());
    assert.deepEqual(m.generate(start, { maxNewTokens: 5, topK: 1, generator: new T.Generator(1) }).toArray(), greedy.toArray());
    const s1 = m.generate(start, { maxNewTokens: 6, temperature: 1.5, topP: 0.9, generator: new T.Generator(9) }).toArray();
    const s2 = m.generate(start, { maxNewTokens: 6, temperature: 1.5, topP: 0.9, generator: new T.Generator(9) }).toArray();
    assert.deepEqual(s1, s2);
    // Longer than blockSize: the context is cropped.
    assert.deepEqual(m.generate(ids([[1]]), { maxNewTokens: 14, temperature: 0 }).shape, [1, 15]);
    assert.equal(m.training, true, 'mode restored');
    assert.throws(() => m.generate(start, { maxNewTokens: -1 }), ValueError);
    assert.throws(() => m.generate(start, { maxNewTokens: 1, topP: 0 }), ValueError);
  });

  test('generate with the key/value cache equals recomputing the context (learned and rotary positions)', () => {
    for (const extra of [{}, { positionEmbedding: 'rope' as const }, { positionEmbedding: 'rope' as const, ropeTheta: 50, ropeScaling: { type: 'linear' as const, factor: 2 }, attentionWindow: 4 }]) {
      const m = new GPT({ ...tiny, ...extra, seed: 21 });
      const start = ids([[1, 2, 3], [4, 5, 6]]);
      // 14 new tokens from 3 cross blockSize 12, where generation switches to cropped recomputation.
      const a = m.generate(start, { maxNewTokens: 14, temperature: 0 }).toArray();
      const b = m.generate(start, { maxNewTokens: 14, temperature: 0, useCache: false }).toArray();
      assert.deepEqual(a, b);
      const s1 = m.generate(start, { maxNewTokens: 8, temperature: 0.8, topK: 5, generator: new T.Generator(3) }).toArray();
      const s2 = m.generate(start, { maxNewTokens: 8, temperature: 0.8, topK: 5, generator: new T.Generator(3), useCache: false }).toArray();
      assert.deepEqual(s1, s2);
    }
  });

  test('hidden with kvCaches and a position offset equals the full forward', () => {
    const m = new GPT(tiny);
    const full = m.hidden(ids([[1, 2, 3, 4, 5]])).toArray();
    const caches = Array.from({ length: tiny.nLayer }, () => ({ k: null, v: null }));
    const first = m.hidden(ids([[1, 2, 3]]), { kvCaches: caches }).toArray();
    const rest = m.hidden(ids([[4, 5]]), { kvCaches: caches, positionOffset: 3 }).toArray();
    [...first, ...rest].forEach((v, i) => assert.ok(Math.abs(v - full[i]) < 1e-5));
    assert.throws(() => m.hidden(ids([[1, 2, 3]]), { positionOffset: 10 }), ValueError);
  });

  test('generate stops rows at eosTokenId', () => {
    const m = new GPT(tiny);
    const greedy = m.generate(ids([[1, 2]]), { maxNewTokens: 4, temperature: 0 }).toArray();
    const eos = greedy[2];
    assert.deepEqual(m.generate(ids([[1, 2]]), { maxNewTokens: 4, temperature: 0, eosTokenId: eos }).toArray(), [1, 2, eos]);
  });
});

describe('sampling filters', () => {
  const logits = [0.5, 0.3, 0.15, 0.05].map(Math.log);
  const near = (a: ArrayLike<number>, b: number[]) => b.forEach((v, i) => assert.ok(Math.abs(a[i] - v) < 1e-12, `${a[i]} vs ${v}`));

  test('temperature 1 gives softmax; top-k and top-p keep the most likely tokens and renormalise', () => {
    near(samplingDistribution(logits), [0.5, 0.3, 0.15, 0.05]);
    near(samplingDistribution(logits, { topK: 2 }), [0.625, 0.375, 0, 0]);
    near(samplingDistribution(logits, { topP: 0.7 }), [0.625, 0.375, 0, 0]);
    near(samplingDistribution(logits, { topP: 0.79 }), [0.625, 0.375, 0, 0]);
    near(samplingDistribution(logits, { topP: 0.81 }), [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]);
    near(samplingDistribution(logits, { topK: 3, topP: 0.5 }), [1, 0, 0, 0]);
    near(samplingDistribution(logits, { temperature: 0 }), [1, 0, 0, 0]);
    // Temperature 2 is the square root of the probabilities, renormalised.
    const r = [0.5, 0.3, 0.15, 0.05].map(Math.sqrt), z = r.reduce((a, b) => a + b);
    near(samplingDistribution(logits, { temperature: 2 }), r.map((v) => v / z));
  });

  test('topK 0 is no top-k filtering (Hugging Face top_k=0); a negative or fractional topK is refused', () => {
    near(samplingDistribution(logits, { topK: 0 }), [0.5, 0.3, 0.15, 0.05]);
    near(samplingDistribution(logits, { topK: 0, topP: 0.7 }), [0.625, 0.375, 0, 0]);
    assert.throws(() => samplingDistribution(logits, { topK: -1 }), /^ValueError: topK: must be an integer >= 0, 0 for no top-k filtering \(got -1\)$/);
    assert.throws(() => samplingDistribution(logits, { topK: 1.5 }), /topK: must be an integer >= 0/);
  });

  test('temperature: any finite value > 0 (a very large one flattens to uniform, as Hugging Face allows), 0 greedy; negative or non-finite refused', () => {
    near(samplingDistribution(logits, { temperature: 1e300 }), [0.25, 0.25, 0.25, 0.25]);
    for (const t of [-1, -1e-9, NaN, Infinity, -Infinity]) {
      assert.throws(() => samplingDistribution(logits, { temperature: t }), new RegExp(`^ValueError: temperature: must be a finite number > 0, or 0 for greedy decoding \\(got ${t}\\)$`));
    }
  });
});
