// float32 -> bfloat16 / float16 casts against a brute-force reference: the 16-bit values are
// decoded from the format definition (sign, exponent, mantissa with Math.pow) and the nearest one
// is picked by binary search with ties to the even pattern, as IEEE 754 round-to-nearest-even.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bfloat16BitsFromFloat32Bits,
  bfloat16ToFloat32,
  float16BitsFromFloat32Bits,
  float16ToFloat32,
  float32Bits,
  float32BitsFromBfloat16Bits,
  float32BitsFromFloat16Bits,
  float32FromBits,
  float32ToBfloat16,
  float32ToFloat16,
  fromBfloat16Bits,
  fromFloat16Bits,
  isBfloat16NaN,
  isFloat16NaN,
  roundToBfloat16,
  roundToFloat16,
  toBfloat16Bits,
  toFloat16Bits,
} from '../../src/amp/cast.js';
import { ShapeError } from '../../src/errors.js';

interface Format {
  name: string;
  mantBits: number;
  expBits: number;
  bias: number;
  encode: (u32: number) => number;
  decodeBits: (h: number) => number;
  isNaN: (h: number) => boolean;
}

const BF16: Format = { name: 'bfloat16', mantBits: 7, expBits: 8, bias: 127, encode: bfloat16BitsFromFloat32Bits, decodeBits: float32BitsFromBfloat16Bits, isNaN: isBfloat16NaN };
const F16: Format = { name: 'float16', mantBits: 10, expBits: 5, bias: 15, encode: float16BitsFromFloat32Bits, decodeBits: float32BitsFromFloat16Bits, isNaN: isFloat16NaN };

/** Value of a 16-bit pattern from the format definition. The all-ones exponent with mantissa 0
 * is given its "unbounded exponent" value 2^(emax+1) so that rounding to it means overflow. */
function refValue(f: Format, h: number, virtualInf = false): number {
  const sign = h >> 15 ? -1 : 1;
  const eMax = (1 << f.expBits) - 1;
  const e = (h >> f.mantBits) & eMax;
  const m = h & ((1 << f.mantBits) - 1);
  const frac = m / 2 ** f.mantBits;
  if (e === eMax) {
    if (m !== 0) return NaN;
    return virtualInf ? sign * 2 ** (eMax - f.bias) : sign * Infinity;
  }
  if (e === 0) return sign * 2 ** (1 - f.bias) * frac;
  return sign * 2 ** (e - f.bias) * (1 + frac);
}

/** Reference cast of a float32 bit pattern: nearest pattern, ties to even, overflow to inf. */
function refCast(f: Format, u32: number): { nan: boolean; bits: number } {
  const x = float32FromBits(u32);
  if (Number.isNaN(x)) return { nan: true, bits: -1 };
  const sign = u32 >>> 31 ? 0x8000 : 0;
  const a = Math.abs(x);
  const infPattern = ((1 << f.expBits) - 1) << f.mantBits; // positive patterns 0..inf are monotone in value
  if (a >= refValue(f, infPattern, true)) return { nan: false, bits: sign | infPattern };
  let lo = 0;
  let hi = infPattern; // v(lo) <= a < v(hi)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (refValue(f, mid, true) <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - refValue(f, lo, true);
  const dHi = refValue(f, hi, true) - a;
  const p = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi;
  return { nan: false, bits: sign | p };
}

/** xorshift32: deterministic pseudo-random uint32 stream for the sweeps. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

/** Bit patterns that stress rounding: ties, just around ties, format boundaries, random values. */
function patterns(f: Format): number[] {
  const out: number[] = [];
  const drop = 23 - f.mantBits; // float32 mantissa bits dropped by the cast
  const half = 1 << (drop - 1);
  for (let exp = 0; exp <= 255; exp++) {
    for (const keep of [0, 1, 2, 3, (1 << f.mantBits) - 1, (1 << f.mantBits) - 2]) {
      for (const low of [0, 1, half - 1, half, half + 1, 2 * half - 1]) {
        const mant = (keep << drop) | low;
        out.push(((exp << 23) | mant) >>> 0, ((1 << 31) | (exp << 23) | mant) >>> 0);
      }
    }
    // Inputs around the subnormal range of the 16-bit format also need ties at other bit positions.
    for (let b = 0; b < 23; b++) out.push(((exp << 23) | (1 << b)) >>> 0, ((exp << 23) | (3 << b)) >>> 0);
  }
  const r = rng(20240611);
  for (let i = 0; i < 100000; i++) out.push(r());
  return out;
}

for (const f of [BF16, F16]) {
  describe(`float32 -> ${f.name}`, () => {
    test('matches the nearest-even reference on ties, boundaries and random bit patterns', () => {
      let checked = 0;
      for (const u of patterns(f)) {
        const ref = refCast(f, u);
        const got = f.encode(u);
        if (ref.nan) {
          assert.ok(f.isNaN(got), `${f.name}(0x${u.toString(16)}) = 0x${got.toString(16)} should be NaN`);
          assert.equal(got >> 15, u >>> 31, 'NaN keeps its sign');
        } else if (got !== ref.bits) {
          assert.fail(`${f.name}(0x${u.toString(16)} = ${float32FromBits(u)}) = 0x${got.toString(16)}, reference 0x${ref.bits.toString(16)}`);
        }
        checked++;
      }
      assert.ok(checked > 100000);
    });

    test('decoding every 16-bit pattern gives the value of the format definition', () => {
      for (let h = 0; h < 0x10000; h++) {
        const v = float32FromBits(f.decodeBits(h));
        const want = refValue(f, h);
        if (Number.isNaN(want)) {
          assert.ok(Number.isNaN(v) && f.isNaN(h), `pattern 0x${h.toString(16)}`);
          const payload = (f.decodeBits(h) & 0x7fffff) >>> (23 - f.mantBits);
          assert.equal(payload, h & ((1 << f.mantBits) - 1), 'NaN payload kept');
        } else {
          assert.ok(Object.is(v, want), `pattern 0x${h.toString(16)}: ${v} vs ${want}`);
          // Every 16-bit value is a float32 value, so it converts back to itself.
          assert.equal(f.encode(f.decodeBits(h)), h, `round trip of 0x${h.toString(16)}`);
        }
      }
    });
  });
}

describe('named cases', () => {
  test('float16 overflow, underflow and signed zero', () => {
    assert.equal(toFloat16Bits(65504), 0x7bff); // largest finite
    assert.equal(toFloat16Bits(65519.99609375), 0x7bff); // just below the midpoint to 2^16
    assert.equal(toFloat16Bits(65520), 0x7c00); // midpoint: ties to even, which is inf
    assert.equal(toFloat16Bits(-1e6), 0xfc00);
    assert.equal(toFloat16Bits(Infinity), 0x7c00);
    assert.equal(toFloat16Bits(-Infinity), 0xfc00);
    assert.equal(toFloat16Bits(2 ** -24), 0x0001); // smallest subnormal
    assert.equal(toFloat16Bits(2 ** -25), 0x0000); // half of it: tie to even (0)
    assert.equal(toFloat16Bits(-(2 ** -25)), 0x8000); // sign kept
    assert.equal(toFloat16Bits(1.5 * 2 ** -24), 0x0002); // tie 1.5 units -> 2 (even)
    assert.equal(toFloat16Bits(2 ** -25 * 1.0000001), 0x0001); // above half rounds up
    assert.equal(toFloat16Bits(2 ** -14 - 2 ** -25), 0x0400); // rounds up into the smallest normal
    assert.equal(toFloat16Bits(-0), 0x8000);
    assert.ok(isFloat16NaN(toFloat16Bits(NaN)));
  });
  test('bfloat16 overflow, subnormals and NaN', () => {
    assert.equal(toBfloat16Bits(3.3895313892515355e38), 0x7f7f); // largest finite bf16
    assert.equal(bfloat16BitsFromFloat32Bits(0x7f7f7fff), 0x7f7f); // below the midpoint
    assert.equal(bfloat16BitsFromFloat32Bits(0x7f7f8000), 0x7f80); // midpoint, odd -> inf
    assert.equal(bfloat16BitsFromFloat32Bits(0xff7fffff), 0xff80); // -float32 max -> -inf
    assert.equal(bfloat16BitsFromFloat32Bits(0x00000001), 0x0000); // smallest float32 subnormal -> +0
    assert.equal(bfloat16BitsFromFloat32Bits(0x80008000), 0x8000); // tie, even -> -0
    assert.equal(bfloat16BitsFromFloat32Bits(0x00018000), 0x0002); // tie, odd -> up
    // NaN with a payload only in the low 16 bits must not become inf.
    assert.ok(isBfloat16NaN(bfloat16BitsFromFloat32Bits(0x7f800001)));
    assert.ok(isBfloat16NaN(bfloat16BitsFromFloat32Bits(0xff800001)));
    assert.equal(bfloat16BitsFromFloat32Bits(0xff800001) & 0x8000, 0x8000);
    assert.ok(isBfloat16NaN(bfloat16BitsFromFloat32Bits(0x7fffffff)));
    assert.ok(isFloat16NaN(float16BitsFromFloat32Bits(0x7f800001)));
    assert.equal(fromBfloat16Bits(0x3f80), 1);
    assert.equal(fromFloat16Bits(0x3c00), 1);
    assert.equal(float32Bits(1), 0x3f800000);
  });
});

describe('array conversions', () => {
  const values = [0, -0, 1, 1 / 3, -2.5, 1e-8, 70000, -Infinity, NaN, 3.0e38, 1e-40];
  test('roundToBfloat16 / roundToFloat16 round in place to decode(encode(x))', () => {
    for (const [round, enc, dec] of [
      [roundToBfloat16, toBfloat16Bits, fromBfloat16Bits],
      [roundToFloat16, toFloat16Bits, fromFloat16Bits],
    ] as const) {
      const x = Float32Array.from(values);
      const same = round(x);
      assert.equal(same, x, 'in place by default');
      values.forEach((v, i) => assert.ok(Object.is(x[i], dec(enc(v))) || (Number.isNaN(v) && Number.isNaN(x[i]!)), `${v}`));
      // Rounding twice changes nothing (the values are representable now).
      const again = Float32Array.from(x);
      round(again);
      assert.deepEqual([...again].map(String), [...x].map(String));
    }
  });
  test('separate out leaves the input alone; subarrays respect their offset', () => {
    // bfloat16 spacing at 1 is 2^-7: a quarter step rounds down; 1.5 steps is a tie, to the even 2 steps.
    const x = Float32Array.from([1 + 2 ** -9, 1 + 3 * 2 ** -8]);
    const out = new Float32Array(2);
    roundToBfloat16(x, out);
    assert.deepEqual([...out], [1, 1 + 2 ** -6]);
    assert.equal(x[0], 1 + 2 ** -9);
    const big = Float32Array.from([5, 1 + 2 ** -12, 7]);
    roundToFloat16(big.subarray(1, 2));
    assert.deepEqual([...big], [5, 1, 7]);
  });
  test('bits arrays round-trip and check lengths', () => {
    const x = Float32Array.from([1.5, -0.1, 65504, 1e-7]);
    const h = float32ToFloat16(x);
    assert.deepEqual([...h], [0x3e00, toFloat16Bits(-0.1), 0x7bff, toFloat16Bits(1e-7)]);
    assert.deepEqual([...float16ToFloat32(h)], [...h].map(fromFloat16Bits));
    const b = float32ToBfloat16(x);
    assert.deepEqual([...bfloat16ToFloat32(b)], [...b].map(fromBfloat16Bits));
    assert.throws(() => roundToFloat16(x, new Float32Array(3)), ShapeError);
    assert.throws(() => float32ToBfloat16(x, new Uint16Array(1)), /out has 1 elements, input has 4/);
  });
});
