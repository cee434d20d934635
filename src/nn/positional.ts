/**
 * Positional encodings: learned (an `Embedding` over positions, GPT-2's `wpe`), sinusoidal
 * (Vaswani et al. 2017, §3.5) and rotary (RoPE, Su et al. 2021, in the rotate-half layout used by
 * GPT-NeoX and Hugging Face LLaMA).
 */
import { ValueError } from '../errors.js';
import * as T from '../tensor/index.js';
import { Embedding } from './linear.js';
import { Module } from './module.js';

/**
 * Learned absolute positions (GPT-2's `wpe`, BERT's position embeddings): a table `weight`
 * [maxLen, C] whose row p is added to the token embedding at position p.
 */
export class LearnedPositionalEmbedding extends Embedding {
  constructor(readonly maxLen: number, dim: number, opts: { generator?: T.Generator } = {}) {
    super(maxLen, dim, opts);
  }

  /**
   * Rows for positions [offset, offset + length): [length, C].
   * @throws ValueError when the range exceeds maxLen.
   */
  positions(length: number, offset = 0): T.Tensor {
    if (!Number.isInteger(offset) || offset < 0 || offset + length > this.maxLen) {
      throw new ValueError(`LearnedPositionalEmbedding: positions [${offset}, ${offset + length}) exceed the table of ${this.maxLen}`);
    }
    return this.forward(T.arange(offset, offset + length));
  }
}

/**
 * Fixed sinusoidal table: PE[pos, 2i] = sin(pos / 10000^(2i/C)), PE[pos, 2i+1] = cos(pos / 10000^(2i/C)).
 * Non-persistent buffer `pe` [maxLen, C] (not in the state dict; it is a function of the shape).
 */
export class SinusoidalPositionalEncoding extends Module {
  declare pe: T.Tensor;

  constructor(readonly maxLen: number, readonly dim: number, opts: { base?: number } = {}) {
    super();
    if (!Number.isInteger(maxLen) || maxLen <= 0 || !Number.isInteger(dim) || dim <= 0) {
      throw new ValueError(`SinusoidalPositionalEncoding: maxLen and dim must be positive integers, got ${maxLen}, ${dim}`);
    }
    const base = opts.base ?? 10000;
    const pe = T.empty([maxLen, dim]);
    const d = pe.data();
    for (let p = 0; p < maxLen; p++) {
      for (let j = 0; j < dim; j++) {
        const i2 = j - (j % 2);
        const angle = p / Math.pow(base, i2 / dim);
        d[p * dim + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
      }
    }
    this.registerBuffer('pe', pe, false);
  }

  /**
   * Rows [offset, offset + length) of the table: [length, C] (a view; add it to [B, T, C] embeddings).
   * @throws ValueError when the range exceeds maxLen.
   */
  forward(length: number, offset = 0): T.Tensor {
    if (offset < 0 || offset + length > this.maxLen) {
      throw new ValueError(`SinusoidalPositionalEncoding: positions [${offset}, ${offset + length}) exceed maxLen ${this.maxLen}`);
    }
    return T.narrow(this.pe, 0, offset, length);
  }
}

/**
 * Rotary position embedding for per-head vectors of size D (even): position t rotates each pair
 * (x_i, x_{i+D/2}) by the angle t·θ_i, θ_i = base^(-2i/D), i < D/2:
 * out = x·cos + rotateHalf(x)·sin, rotateHalf(x) = [-x_{D/2:}, x_{:D/2}], cos/sin [T, D] = [cos(tθ), cos(tθ)].
 * Dot products of rotated queries and keys depend only on relative positions. No parameters.
 */
export class RotaryEmbedding extends Module {
  /** cos / sin tables for positions [0, n) per dtype, grown on demand (kept: they outlive scopes). */
  private cache = new Map<string, { n: number; cos: T.Tensor; sin: T.Tensor }>();

  constructor(readonly headDim: number, readonly opts: { base?: number } = {}) {
    super();
    if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
      throw new ValueError(`RotaryEmbedding: headDim must be a positive even integer, got ${headDim}`);
    }
  }

  /** cos and sin tables [length, D] for positions offset .. offset+length-1 (views of cached tables). */
  tables(length: number, offset = 0, dtype: 'float32' | 'float64' = 'float32'): { cos: T.Tensor; sin: T.Tensor } {
    if (!Number.isInteger(offset) || offset < 0) throw new ValueError(`RotaryEmbedding: offset must be an integer >= 0, got ${offset}`);
    const need = offset + length;
    let c = this.cache.get(dtype);
    if (!c || c.n < need) {
      const n = Math.max(need, 2 * (c?.n ?? 0), 64);
      const D = this.headDim, h = D / 2, base = this.opts.base ?? 10000;
      const cos = T.empty([n, D], dtype), sin = T.empty([n, D], dtype);
      const cd = cos.data(), sd = sin.data();
      for (let t = 0; t < n; t++) {
        for (let i = 0; i < h; i++) {
          const a = t * Math.pow(base, (-2 * i) / D);
          cd[t * D + i] = cd[t * D + i + h] = Math.cos(a);
          sd[t * D + i] = sd[t * D + i + h] = Math.sin(a);
        }
      }
      c = { n, cos: cos.keep(), sin: sin.keep() };
      this.cache.set(dtype, c);
    }
    return { cos: T.narrow(c.cos, 0, offset, length), sin: T.narrow(c.sin, 0, offset, length) };
  }

  /**
   * Rotates x [..., T, D] for positions offset .. offset+T-1.
   * @throws ValueError when the last dim is not D.
   */
  forward(x: T.Tensor, offset = 0): T.Tensor {
    const D = this.headDim;
    if (x.ndim < 2 || x.shape[x.ndim - 1] !== D) throw new ValueError(`RotaryEmbedding: input must be [..., T, ${D}], got [${x.shape.join(', ')}]`);
    const Tn = x.shape[x.ndim - 2];
    const { cos, sin } = this.tables(Tn, offset, x.dtype === 'float64' ? 'float64' : 'float32');
    const x1 = T.narrow(x, -1, 0, D / 2), x2 = T.narrow(x, -1, D / 2, D / 2);
    const rot = T.concat([T.neg(x2), x1], -1);
    return T.add(T.mul(x, cos), T.mul(rot, sin));
  }
}
