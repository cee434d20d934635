import { ValueError } from '../errors.js';

/**
 * Small seedable PRNG for the data pipeline (sampling LM blocks, shuffling, augmentation).
 *
 * Algorithm: xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number generators",
 * 2018, https://prng.di.unimi.it/xoshiro128starstar.c) on four 32-bit words, seeded through
 * splitmix32-style mixing so that nearby seeds give unrelated streams. All arithmetic is 32-bit
 * (`Math.imul`, `>>>`), so sequences are identical on every platform and Node version.
 *
 * The whole state is four unsigned 32-bit integers: `state()` returns them and `setState()` puts
 * them back, which is what a checkpoint stores to resume a run exactly.
 */
export class DataRng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /**
   * @param seed any safe integer (negative and > 2^32 allowed; both 32-bit halves are used).
   * @param streams extra integers mixed into the seed (e.g. epoch, purpose) to derive independent
   *   streams: `new DataRng(seed, epoch)` gives each epoch its own, reproducible sequence.
   * @throws ValueError when the seed or a stream key is not a safe integer.
   */
  constructor(seed: number, ...streams: number[]) {
    checkInt('seed', seed);
    streams.forEach((k, i) => checkInt(`streams[${i}]`, k));
    // Fold the 53-bit seed and every stream key into one 32-bit hash chain, then expand it.
    let h = mix32(lo32(seed) ^ 0x9e3779b9);
    h = mix32(h ^ hi32(seed));
    for (const k of streams) h = mix32(mix32(h ^ lo32(k)) ^ hi32(k));
    let x = h;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      return mix32(x) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // all-zero state is a fixed point
  }

  /** Next unsigned 32-bit integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  random(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * Uniform integer in [0, n), without modulo bias (rejection sampling).
   * @throws ValueError unless 1 <= n <= 2^32 and n is an integer.
   */
  randint(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) {
      throw new ValueError(`randint: n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = Math.floor(4294967296 / n) * n;
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles `array` in place (Fisher–Yates, Knuth vol. 2 §3.4.2, Algorithm P) and returns it. */
  shuffle<A extends { length: number; [i: number]: unknown }>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.randint(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** The generator's full state: four unsigned 32-bit integers (JSON-serialisable). */
  state(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  /**
   * Restores a state returned by `state()`; the following draws repeat exactly.
   * @throws ValueError unless `s` is four integers in [0, 2^32), not all zero.
   */
  setState(s: readonly number[]): void {
    if (!Array.isArray(s) || s.length !== 4 || !s.every((v) => Number.isInteger(v) && v >= 0 && v < 4294967296)) {
      throw new ValueError(`DataRng.setState: expected 4 unsigned 32-bit integers, got ${JSON.stringify(s)}`);
    }
    if (s.every((v) => v === 0)) throw new ValueError('DataRng.setState: the all-zero state is invalid');
    [this.s0, this.s1, this.s2, this.s3] = [s[0] | 0, s[1] | 0, s[2] | 0, s[3] | 0];
  }

  /** A new generator with the same state (this one is left unchanged). */
  clone(): DataRng {
    const r = new DataRng(0);
    r.setState(this.state());
    return r;
  }
}

/**
 * A random permutation of 0..n-1 determined only by (seed, epoch): a resumed run that knows its
 * epoch sees the same order as an uninterrupted one.
 * @returns Int32Array [n]
 */
export function permutation(n: number, seed: number, epoch: number): Int32Array {
  if (!Number.isInteger(n) || n < 0) throw new ValueError(`permutation: n must be a non-negative integer, got ${n}`);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return new DataRng(seed, 0x5348, epoch).shuffle(p); // 0x5348 ("SH") separates this stream from others
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** murmur3 fmix32 finaliser: a bijective avalanche on 32 bits. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

function lo32(v: number): number {
  return v | 0; // ToInt32 takes v mod 2^32, also for negatives
}

function hi32(v: number): number {
  return Math.floor(v / 4294967296) | 0;
}

function checkInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v)) throw new ValueError(`DataRng: ${name} must be a safe integer, got ${v}`);
}
