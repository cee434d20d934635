/**
 * Seeded random numbers, identical on every backend and every run: the generator runs in TypeScript
 * and fills buffers that any backend then reads. Algorithm: xoshiro128** (Blackman & Vigna, 2018),
 * state seeded through splitmix32; normals by Box–Muller. The state is four uint32s plus a cached
 * normal, so it can be saved in a checkpoint and restored exactly.
 */
import { ValueError } from '../errors.js';
import { empty, type Tensor } from './tensor.js';

export interface GeneratorState { s: [number, number, number, number]; spare: number | null }

export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0) { this.manualSeed(seed); }

  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new ValueError(`seed must be a finite number, got ${seed}`);
    let x = (Math.floor(seed) >>> 0) ^ Math.floor(seed / 2 ** 32);
    for (let i = 0; i < 4; i++) {
      // splitmix32 spreads one seed over the four state words.
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
    this.spare = null;
    return this;
  }

  /** A uniform uint32. */
  nextUint32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5, lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal. */
  normal(): number {
    if (this.spare !== null) { const v = this.spare; this.spare = null; return v; }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [low, high), unbiased (rejection sampling). */
  randint(low: number, high: number): number {
    const range = high - low;
    if (!Number.isInteger(low) || !Number.isInteger(high) || range <= 0 || range > 2 ** 32) {
      throw new ValueError(`randint: need integers low < high with high - low <= 2^32, got [${low}, ${high})`);
    }
    const limit = 2 ** 32 - (2 ** 32 % range);
    let x: number;
    do x = this.nextUint32(); while (x >= limit);
    return low + (x % range);
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  randperm(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.randint(0, i + 1);
      const t = p[i]; p[i] = p[j]; p[j] = t;
    }
    return p;
  }

  getState(): GeneratorState { return { s: [this.s[0], this.s[1], this.s[2], this.s[3]], spare: this.spare }; }

  setState(st: GeneratorState): void {
    if (!st || !Array.isArray(st.s) || st.s.length !== 4 || st.s.some((v) => !Number.isInteger(v) || v < 0 || v >= 2 ** 32)) {
      throw new ValueError('Generator.setState: state must be {s: four uint32 values, spare: number|null}');
    }
    this.s.set(st.s);
    this.spare = st.spare ?? null;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The default generator, seeded by `manualSeed`. */
export const defaultGenerator = new Generator(0);
export function manualSeed(seed: number): void { defaultGenerator.manualSeed(seed); }

/** Uniform [low, high) float32 tensor. */
export function rand(shape: readonly number[], opts: { low?: number; high?: number; generator?: Generator; dtype?: 'float32' | 'float64' } = {}): Tensor {
  const g = opts.generator ?? defaultGenerator;
  const lo = opts.low ?? 0, hi = opts.high ?? 1;
  const t = empty(shape, opts.dtype ?? 'float32');
  const d = t.storage.data;
  for (let i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * g.random();
  return t;
}

/** Normal(mean, std) tensor. */
export function randn(shape: readonly number[], opts: { mean?: number; std?: number; generator?: Generator; dtype?: 'float32' | 'float64' } = {}): Tensor {
  const g = opts.generator ?? defaultGenerator;
  const m = opts.mean ?? 0, s = opts.std ?? 1;
  const t = empty(shape, opts.dtype ?? 'float32');
  const d = t.storage.data;
  for (let i = 0; i < d.length; i++) d[i] = m + s * g.normal();
  return t;
}

/** Integers uniform in [low, high), int32. */
export function randint(low: number, high: number, shape: readonly number[], generator: Generator = defaultGenerator): Tensor {
  const t = empty(shape, 'int32');
  const d = t.storage.data;
  for (let i = 0; i < d.length; i++) d[i] = generator.randint(low, high);
  return t;
}

/** 1 with probability p, else 0 (float32). */
export function bernoulli(shape: readonly number[], p: number, generator: Generator = defaultGenerator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ValueError(`bernoulli: p must be in [0, 1], got ${p}`);
  const t = empty(shape, 'float32');
  const d = t.storage.data;
  for (let i = 0; i < d.length; i++) d[i] = g01(generator) < p ? 1 : 0;
  return t;
}

function g01(g: Generator): number { return g.random(); }

/** A random permutation of 0..n-1 as an int32 tensor. */
export function randperm(n: number, generator: Generator = defaultGenerator): Tensor {
  const t = empty([n], 'int32');
  (t.storage.data as Int32Array).set(generator.randperm(n));
  return t;
}
