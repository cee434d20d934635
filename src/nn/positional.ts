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

/** RoPE options, with Hugging Face's names (`rope_theta`, `rope_scaling`). */
export interface RotaryOptions {
  /** θ's base (HF `rope_theta`), default 10000. */
  base?: number;
  /**
   * Position interpolation (Chen et al. 2023; HF `rope_scaling: { type: 'linear', factor }`): positions
   * are divided by `factor` before the angles are taken, so a model trained at context L covers
   * factor·L positions with the angles it saw.
   */
  scaling?: { type: 'linear'; factor: number } | null;
}

/**
 * Rotary position embedding for per-head vectors of size D (even): position t rotates each pair
 * (x_i, x_{i+D/2}) by the angle (t / factor)·θ_i, θ_i = base^(-2i/D), i < D/2 (factor 1 without
 * `scaling`): out = x·cos + rotateHalf(x)·sin, rotateHalf(x) = [-x_{D/2:}, x_{:D/2}],
 * cos/sin [T, D] = [cos(tθ), cos(tθ)]. Dot products of rotated queries and keys depend only on
 * relative positions. No parameters. Angles are computed in float64, then rounded to the dtype.
 */
export class RotaryEmbedding extends Module {
  /** cos / sin tables for positions [0, n) per (dtype, width), grown on demand (kept: they outlive scopes). */
  private cache = new Map<string, { n: number; cos: T.Tensor; sin: T.Tensor }>();

  /** @throws ValueError for an odd head size, a base ≤ 1 or a scaling factor that is not a finite number ≥ 1. */
  constructor(readonly headDim: number, readonly opts: RotaryOptions = {}) {
    super();
    if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
      throw new ValueError(`RotaryEmbedding: headDim must be a positive even integer, got ${headDim}`);
    }
    const base = opts.base ?? 10000;
    if (typeof base !== 'number' || !Number.isFinite(base) || base <= 1) throw new ValueError(`RotaryEmbedding: base (ropeTheta) must be a finite number > 1, got ${base}`);
    const sc = opts.scaling;
    if (sc && (sc.type !== 'linear' || typeof sc.factor !== 'number' || !Number.isFinite(sc.factor) || sc.factor < 1)) {
      throw new ValueError(`RotaryEmbedding: scaling must be { type: 'linear', factor >= 1 }, got ${JSON.stringify(sc)}`);
    }
  }

  /** Rows [offset, offset + length) of the cached [n, width] tables (width D, or D/2 for `half`). */
  private cached(length: number, offset: number, dtype: 'float32' | 'float64', half: boolean): { cos: T.Tensor; sin: T.Tensor } {
    if (!Number.isInteger(offset) || offset < 0) throw new ValueError(`RotaryEmbedding: offset must be an integer >= 0, got ${offset}`);
    const need = offset + length, key = `${dtype}/${half ? 'half' : 'full'}`;
    let c = this.cache.get(key);
    if (!c || c.n < need) {
      const n = Math.max(need, 2 * (c?.n ?? 0), 64);
      const D = this.headDim, h = D / 2, base = this.opts.base ?? 10000, factor = this.opts.scaling?.factor ?? 1;
      const w = half ? h : D;
      const cos = T.empty([n, w], dtype), sin = T.empty([n, w], dtype);
      const cd = cos.data(), sd = sin.data();
      for (let t = 0; t < n; t++) {
        for (let i = 0; i < h; i++) {
          const a = (t / factor) * Math.pow(base, (-2 * i) / D);
          cd[t * w + i] = Math.cos(a);
          sd[t * w + i] = Math.sin(a);
          if (!half) {
            cd[t * w + i + h] = cd[t * w + i];
            sd[t * w + i + h] = sd[t * w + i];
          }
        }
      }
      c = { n, cos: cos.keep(), sin: sin.keep() };
      this.cache.set(key, c);
    }
    return { cos: T.narrow(c.cos, 0, offset, length), sin: T.narrow(c.sin, 0, offset, length) };
  }

  /** cos and sin tables [length, D] for positions offset .. offset+length-1 (views of cached tables). */
  tables(length: number, offset = 0, dtype: 'float32' | 'float64' = 'float32'): { cos: T.Tensor; sin: T.Tensor } {
    return this.cached(length, offset, dtype, false);
  }

  /**
   * cos and sin tables [length, D/2] (one entry per rotated pair) for positions offset ..
   * offset+length-1: the form scaledDotProductAttention's `rope` option takes (contiguous views).
   */
  halfTables(length: number, offset = 0, dtype: 'float32' | 'float64' = 'float32'): { cos: T.Tensor; sin: T.Tensor } {
    return this.cached(length, offset, dtype, true);
  }

  /**
   * Rotates x [..., T, D] for positions offset .. offset+T-1 (an explicit rotated copy; attention
   * applies the rotation inside its kernel instead, see MultiHeadAttention).
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
