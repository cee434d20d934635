// Layers against formulas computed here in plain JavaScript, and float64 finite-difference gradient
// checks (RMSNorm, BatchNorm1d, feed-forward, blocks).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ShapeError, ValueError } from '../../src/errors.js';
import * as T from '../../src/tensor/index.js';
import {
  BatchNorm1d, Dropout, Embedding, FeedForward, LayerNorm, LearnedPositionalEmbedding, Linear, Module, RMSNorm, SinusoidalPositionalEncoding,
  TransformerBlock, initGPT2, keyPaddingFromAttentionMask,
} from '../../src/nn/index.js';
import { gradcheck, randn64 } from './gradcheck.js';

const close = (a: number, b: number, tol: number, what = ''): void => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/** All parameters of m as gradcheck inputs (m converted to float64 first). */
function params(m: Module): Record<string, T.Tensor> {
  return Object.fromEntries(m.namedParameters());
}

describe('Linear / Embedding', () => {
  test('Linear computes x Wᵀ + b with weight [out, in]', () => {
    const m = new Linear(3, 2, { generator: new T.Generator(1) });
    const x = T.randn([4, 3], { generator: new T.Generator(2) });
    const y = m.forward(x).toArray();
    const W = m.weight.toArray(), b = m.bias!.toArray(), xd = x.toArray();
    for (let i = 0; i < 4; i++) for (let o = 0; o < 2; o++) {
      let s = b[o];
      for (let k = 0; k < 3; k++) s += xd[i * 3 + k] * W[o * 3 + k];
      close(y[i * 2 + o], s, 1e-6, 'linear');
    }
    assert.equal(new Linear(3, 2, { bias: false }).bias, null);
    assert.throws(() => m.forward(T.zeros([4, 5])), ShapeError);
  });

  test('Embedding returns rows of the table', () => {
    const m = new Embedding(5, 3, { generator: new T.Generator(1) });
    const y = m.forward(T.tensor(new Int32Array([4, 0, 4]), [1, 3], 'int32'));
    assert.deepEqual(y.shape, [1, 3, 3]);
    const W = m.weight.toArray();
    assert.deepEqual(y.toArray(), [...W.slice(12, 15), ...W.slice(0, 3), ...W.slice(12, 15)]);
  });
});

describe('normalisation', () => {
  test('LayerNorm matches (x - mean)/sqrt(var + eps)·w + b', () => {
    const m = new LayerNorm(5, { eps: 1e-5 });
    const g = new T.Generator(3);
    m.weight.data().set([1, 2, 0.5, -1, 3]);
    m.bias!.data().set([0, 0.1, -0.2, 0.3, 1]);
    const x = T.randn([2, 5], { generator: g, mean: 4, std: 2 });
    const y = m.forward(x).toArray(), xd = x.toArray();
    for (let r = 0; r < 2; r++) {
      const row = xd.slice(r * 5, r * 5 + 5);
      const mu = row.reduce((a, b) => a + b) / 5;
      const v = row.reduce((a, b) => a + (b - mu) ** 2, 0) / 5;
      row.forEach((xi, j) => close(y[r * 5 + j], (xi - mu) / Math.sqrt(v + 1e-5) * m.weight.toArray()[j] + m.bias!.toArray()[j], 1e-5, 'ln'));
    }
  });

  test('RMSNorm matches x / sqrt(mean(x²) + eps)·w and passes a float64 gradient check', () => {
    const m = new RMSNorm(6, { eps: 1e-6 });
    const gen = new T.Generator(5);
    m.weight.data().set([1, -2, 0.5, 3, 1.5, -0.7]);
    const x32 = T.randn([3, 6], { generator: gen });
    const y = m.forward(x32).toArray(), xd = x32.toArray(), w = m.weight.toArray();
    for (let r = 0; r < 3; r++) {
      const row = xd.slice(r * 6, r * 6 + 6);
      const rms = Math.sqrt(row.reduce((a, b) => a + b * b, 0) / 6 + 1e-6);
      row.forEach((xi, j) => close(y[r * 6 + j], (xi / rms) * w[j], 1e-5, 'rms'));
    }
    m.to('float64');
    const x = randn64([2, 3, 6], gen);
    gradcheck(() => m.forward(x), { x, ...params(m) });
  });

  test('RMSNorm does not overflow on large float32 inputs', () => {
    const m = new RMSNorm(2, { eps: 1e-6 });
    const y = m.forward(T.tensor([3e20, 4e20], [1, 2])).toArray();
    // rms = 5e20/√2 → y = x·√2/5e20
    close(y[0], 0.6 * Math.SQRT2, 1e-6, 'y0');
    close(y[1], 0.8 * Math.SQRT2, 1e-6, 'y1');
  });

  test('BatchNorm1d training: batch statistics, running statistics with momentum (unbiased variance)', () => {
    const m = new BatchNorm1d(2, { momentum: 0.1 });
    m.weight!.data().set([2, -1]);
    m.bias!.data().set([0.5, 1]);
    const gen = new T.Generator(8);
    const x = T.randn([3, 2, 4], { generator: gen });
    const xd = x.toArray();
    const y = m.forward(x).toArray();
    for (let c = 0; c < 2; c++) {
      const vals: number[] = [];
      for (let nI = 0; nI < 3; nI++) for (let l = 0; l < 4; l++) vals.push(xd[nI * 8 + c * 4 + l]);
      const n = vals.length;
      const mu = vals.reduce((a, b) => a + b) / n;
      const v = vals.reduce((a, b) => a + (b - mu) ** 2, 0) / n;
      for (let nI = 0; nI < 3; nI++) for (let l = 0; l < 4; l++) {
        const i = nI * 8 + c * 4 + l;
        close(y[i], ((xd[i] - mu) / Math.sqrt(v + 1e-5)) * [2, -1][c] + [0.5, 1][c], 1e-5, 'bn y');
      }
      close(m.running_mean!.toArray()[c], 0.1 * mu, 1e-6, 'running_mean');
      close(m.running_var!.toArray()[c], 0.9 + 0.1 * v * n / (n - 1), 1e-6, 'running_var');
    }
    assert.equal(m.num_batches_tracked!.item(), 1);
    // eval uses the running statistics.
    m.eval();
    const x2 = T.randn([4, 2, 1], { generator: gen });
    const y2 = m.forward(x2).toArray(), x2d = x2.toArray();
    const rm = m.running_mean!.toArray(), rv = m.running_var!.toArray();
    for (let i = 0; i < 8; i++) {
      const c = i % 2;
      close(y2[i], ((x2d[i] - rm[c]) / Math.sqrt(rv[c] + 1e-5)) * [2, -1][c] + [0.5, 1][c], 1e-5, 'bn eval');
    }
  });

  test('BatchNorm1d with momentum null keeps the cumulative average of batch means', () => {
    const m = new BatchNorm1d(1, { momentum: null, affine: false });
    const means: number[] = [];
    const gen = new T.Generator(9);
    for (let k = 0; k < 3; k++) {
      const x = T.randn([4, 1], { generator: gen, mean: k });
      means.push(x.toArray().reduce((a, b) => a + b) / 4);
      m.forward(x);
    }
    close(m.running_mean!.item(), (means[0] + means[1] + means[2]) / 3, 1e-6, 'cumulative mean');
  });

  test('BatchNorm1d: one value per channel in training is an error; [N,C] and [N,C,L] pass gradient checks', () => {
    const m = new BatchNorm1d(3);
    assert.throws(() => m.forward(T.zeros([1, 3])), ValueError);
    assert.throws(() => m.forward(T.zeros([1, 3, 1])), ValueError);
    assert.equal(m.num_batches_tracked!.item(), 0, 'an invalid batch is not counted');
    assert.throws(() => m.forward(T.zeros([2, 4])), ShapeError);
    m.eval();
    assert.deepEqual(m.forward(T.zeros([1, 3])).shape, [1, 3], 'eval with one sample is fine');
    const gen = new T.Generator(10);
    m.weight!.data().set([1.5, -0.5, 2]);
    m.bias!.data().set([0.1, 0.2, 0.3]);
    m.to('float64');
    for (const shape of [[5, 3], [2, 3, 4]]) {
      m.train();
      const x = randn64(shape, gen);
      gradcheck(() => m.forward(x), { x, ...params(m) });
      m.eval();
      gradcheck(() => m.forward(x), { x, ...params(m) });
    }
  });
});

describe('Dropout', () => {
  test('a seeded generator reproduces the mask; eval is the identity', () => {
    const x = T.ones([1000]);
    const a = new Dropout(0.3, { generator: new T.Generator(42) }).forward(x).toArray();
    const b = new Dropout(0.3, { generator: new T.Generator(42) }).forward(x).toArray();
    const c = new Dropout(0.3, { generator: new T.Generator(43) }).forward(x).toArray();
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.ok(a.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6));
    const d = new Dropout(0.3).eval();
    assert.deepEqual(d.forward(x).toArray(), x.toArray());
    assert.throws(() => new Dropout(1.5), ValueError);
  });
});

describe('positional encodings and init', () => {
  test('sinusoidal table: PE[p, 2i] = sin(p/10000^(2i/C)), PE[p, 2i+1] = cos(...)', () => {
    const pe = new SinusoidalPositionalEncoding(10, 6);
    const t = pe.forward(3, 4).toArray();
    for (let p = 4; p < 7; p++) for (let j = 0; j < 6; j++) {
      const i2 = j - (j % 2);
      const a = p / 10000 ** (i2 / 6);
      close(t[(p - 4) * 6 + j], j % 2 ? Math.cos(a) : Math.sin(a), 1e-6, `pe[${p},${j}]`);
    }
    assert.throws(() => pe.forward(8, 4), ValueError);
    assert.deepEqual(Object.keys(pe.stateDict()), [], 'the table is not part of the state');
  });

  test('learned positions are rows [offset, offset + T) of the table', () => {
    const wpe = new LearnedPositionalEmbedding(6, 3, { generator: new T.Generator(2) });
    assert.deepEqual(wpe.positions(2, 3).toArray(), wpe.weight.toArray().slice(9, 15));
    assert.throws(() => wpe.positions(4, 3), ValueError);
  });

  test('initGPT2: N(0, 0.02), residual projections N(0, 0.02/√(2L)), zero biases, unit norm weights', () => {
    const L = 3;
    const blocks = new Module();
    for (let i = 0; i < L; i++) blocks.registerModule(String(i), new TransformerBlock({ nEmbd: 64, nHead: 4 }));
    initGPT2(blocks, { nLayer: L, generator: new T.Generator(11) });
    const stats = (name: RegExp) => {
      const vals = blocks.namedParameters().filter(([n]) => name.test(n)).flatMap(([, p]) => p.toArray());
      const mean = vals.reduce((a, b) => a + b) / vals.length;
      const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length);
      return { mean, sd, n: vals.length };
    };
    const proj = stats(/c_proj\.weight$/), fc = stats(/c_fc\.weight$|c_attn\.weight$/);
    // Standard error of a sample sd is sd/√(2n); allow 6 of them.
    close(proj.sd, 0.02 / Math.sqrt(2 * L), 6 * (0.02 / Math.sqrt(2 * L)) / Math.sqrt(2 * proj.n), 'proj sd');
    close(fc.sd, 0.02, 6 * 0.02 / Math.sqrt(2 * fc.n), 'fc sd');
    assert.ok(blocks.namedParameters().filter(([n]) => n.endsWith('bias')).every(([, p]) => p.toArray().every((v) => v === 0)));
    assert.ok(blocks.namedParameters().filter(([n]) => /ln_\d\.weight$/.test(n)).every(([, p]) => p.toArray().every((v) => v === 1)));
  });
});

describe('feed-forward and blocks (float64 gradient checks)', () => {
  for (const activation of ['gelu', 'gelu_new', 'swiglu'] as const) {
    test(`FeedForward ${activation}`, () => {
      const m = new FeedForward(4, { hidden: 6, activation, generator: new T.Generator(12) }).to('float64');
      const x = randn64([2, 3, 4], new T.Generator(13));
      gradcheck(() => m.forward(x), { x, ...params(m) });
    });
  }

  test('pre-LN block computes x + attn(ln1(x)) then + mlp(ln2(.))', () => {
    const blk = new TransformerBlock({ nEmbd: 8, nHead: 2, causal: true, generator: new T.Generator(14) });
    const x = T.randn([2, 5, 8], { generator: new T.Generator(15) });
    const h = T.add(x, blk.attn.forward(blk.ln_1.forward(x)));
    const want = T.add(h, blk.mlp.forward(blk.ln_2.forward(h))).toArray();
    blk.forward(x).toArray().forEach((v, i) => close(v, want[i], 1e-6, 'pre-LN'));
  });

  test('post-LN block with a key-padding mask: ln1(x + attn(x)) then ln2(. + mlp(.)); gradient check', () => {
    const blk = new TransformerBlock({ nEmbd: 8, nHead: 2, normPosition: 'post', norm: 'rmsnorm', generator: new T.Generator(16) });
    const x32 = T.randn([2, 4, 8], { generator: new T.Generator(17) });
    const kpm = keyPaddingFromAttentionMask(T.tensor(new Int32Array([1, 1, 1, 1, 1, 1, 0, 0]), [2, 4], 'int32'));
    const h = blk.ln_1.forward(T.add(x32, blk.attn.forward(x32, { keyPaddingMask: kpm })));
    const want = blk.ln_2.forward(T.add(h, blk.mlp.forward(h))).toArray();
    blk.forward(x32, { keyPaddingMask: kpm }).toArray().forEach((v, i) => close(v, want[i], 1e-5, 'post-LN'));
    blk.to('float64');
    const x = randn64([2, 4, 8], new T.Generator(18));
    gradcheck(() => blk.forward(x, { keyPaddingMask: kpm }), { x, ...params(blk) }, { maxPerInput: 24 });
  });
});
