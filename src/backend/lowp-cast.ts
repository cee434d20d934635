/**
 * float32 ↔ bfloat16 / float16 conversions on bit patterns, for mixed-precision storage and its
 * emulation on float32 compute.
 *
 * Rounding is IEEE 754 round-to-nearest, ties-to-even. Values too large for the format become ±inf
 * (float16: |x| >= 65520; bfloat16: |x| >= 0x7F7F8000 as float32, about 3.3961e38), tiny values round
 * gradually to subnormals and then to ±0 keeping the sign, ±inf stay ±inf and NaN stays NaN (the
 * sign and the top payload bits are kept, and the quiet bit set, so the result is never inf).
 *
 * Formats: bfloat16 = 1 sign, 8 exponent (bias 127), 7 mantissa bits (the top half of a float32);
 * float16 = 1 sign, 5 exponent (bias 15), 10 mantissa bits (IEEE 754 binary16).
 * All functions work on bits so NaN payloads and the sign of zero survive (JS numbers would not
 * keep them reliably).
 */
import { ShapeError } from '../errors.js';

// One 4-byte scratch buffer to move between float32 values and their bits.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Bits (uint32) of `x` rounded to float32. */
export function float32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0]!;
}

/** float32 value of a uint32 bit pattern. */
export function float32FromBits(bits: number): number {
  scratchU32[0] = bits >>> 0;
  return scratchF32[0]!;
}

/**
 * bfloat16 bits (uint16) of the float32 with bits `u32`, rounded to nearest even.
 * Adding 0x7FFF plus the lowest kept bit rounds the discarded 16 bits to nearest even; a carry
 * out of the mantissa bumps the exponent, which also turns the largest values into inf.
 */
export function bfloat16BitsFromFloat32Bits(u32: number): number {
  const u = u32 >>> 0;
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x007fffff) !== 0) {
    return ((u >>> 16) | 0x0040) & 0xffff; // NaN: keep sign and top payload, force quiet bit
  }
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * float16 bits (uint16) of the float32 with bits `u32`, rounded to nearest even, with overflow
 * to ±inf and gradual underflow to subnormals / ±0 (sign kept).
 */
export function float16BitsFromFloat32Bits(u32: number): number {
  const u = u32 >>> 0;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x007fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13); // inf / quiet NaN
  const e = exp - 127; // unbiased exponent
  if (e > 15) return sign | 0x7c00; // >= 2^16 overflows
  if (e >= -14) {
    // Normal float16: keep 10 mantissa bits, round the 13 dropped bits to nearest even.
    let h = ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // carry may reach inf: correct
    return sign | h;
  }
  // Subnormal float16 (units of 2^-24). A float32 subnormal (exp 0) is < 2^-126 and rounds to 0.
  if (exp === 0) return sign;
  const full = mant | 0x00800000; // 1.mant * 2^23
  const shift = -e - 1; // value / 2^-24 = full * 2^(e + 1)
  if (shift > 24) return sign; // below half the smallest subnormal
  let q = full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (q & 1) === 1)) q++; // may become 0x400, the smallest normal
  return sign | q;
}

/** float32 bits (uint32) of bfloat16 bits: exact (the bfloat16 value padded with zero bits). */
export function float32BitsFromBfloat16Bits(h: number): number {
  return ((h & 0xffff) << 16) >>> 0;
}

/** float32 bits (uint32) of float16 bits: exact (every float16 value is a float32 value). */
export function float32BitsFromFloat16Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf / NaN with payload
  if (exp !== 0) return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: normalise mant * 2^-24 into 1.f * 2^e.
  let e = -14;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | ((e + 127) << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** True when uint16 bits encode a NaN in bfloat16 (exponent all ones, mantissa non-zero). */
export function isBfloat16NaN(h: number): boolean {
  return (h & 0x7f80) === 0x7f80 && (h & 0x007f) !== 0;
}

/** True when uint16 bits encode a NaN in float16 (exponent all ones, mantissa non-zero). */
export function isFloat16NaN(h: number): boolean {
  return (h & 0x7c00) === 0x7c00 && (h & 0x03ff) !== 0;
}

/** Scalar: bfloat16 bits of `x` (taken as float32 first, i.e. `Math.fround(x)`). */
export function toBfloat16Bits(x: number): number {
  return bfloat16BitsFromFloat32Bits(float32Bits(x));
}

/** Scalar: float16 bits of `x` (taken as float32 first, i.e. `Math.fround(x)`). */
export function toFloat16Bits(x: number): number {
  return float16BitsFromFloat32Bits(float32Bits(x));
}

/** Scalar: the value of bfloat16 bits `h`. */
export function fromBfloat16Bits(h: number): number {
  return float32FromBits(float32BitsFromBfloat16Bits(h));
}

/** Scalar: the value of float16 bits `h`. */
export function fromFloat16Bits(h: number): number {
  return float32FromBits(float32BitsFromFloat16Bits(h));
}

function sameLength(what: string, a: { length: number }, b: { length: number }): void {
  if (a.length !== b.length) {
    throw new ShapeError(`${what}: out has ${b.length} elements, input has ${a.length}; they must match`);
  }
}

function u32View(x: Float32Array): Uint32Array {
  return new Uint32Array(x.buffer, x.byteOffset, x.length);
}

/**
 * float32 [N] → bfloat16 bits [N] (uint16), round to nearest even.
 * @throws ShapeError if `out` has another length.
 */
export function float32ToBfloat16(x: Float32Array, out: Uint16Array = new Uint16Array(x.length)): Uint16Array {
  sameLength('float32ToBfloat16', x, out);
  const u = u32View(x);
  for (let i = 0; i < u.length; i++) out[i] = bfloat16BitsFromFloat32Bits(u[i]!);
  return out;
}

/**
 * float32 [N] → float16 bits [N] (uint16), round to nearest even.
 * @throws ShapeError if `out` has another length.
 */
export function float32ToFloat16(x: Float32Array, out: Uint16Array = new Uint16Array(x.length)): Uint16Array {
  sameLength('float32ToFloat16', x, out);
  const u = u32View(x);
  for (let i = 0; i < u.length; i++) out[i] = float16BitsFromFloat32Bits(u[i]!);
  return out;
}

/**
 * bfloat16 bits [N] → float32 [N] (exact).
 * @throws ShapeError if `out` has another length.
 */
export function bfloat16ToFloat32(h: Uint16Array, out: Float32Array = new Float32Array(h.length)): Float32Array {
  sameLength('bfloat16ToFloat32', h, out);
  const o = u32View(out);
  for (let i = 0; i < h.length; i++) o[i] = float32BitsFromBfloat16Bits(h[i]!);
  return out;
}

/**
 * float16 bits [N] → float32 [N] (exact).
 * @throws ShapeError if `out` has another length.
 */
export function float16ToFloat32(h: Uint16Array, out: Float32Array = new Float32Array(h.length)): Float32Array {
  sameLength('float16ToFloat32', h, out);
  const o = u32View(out);
  for (let i = 0; i < h.length; i++) o[i] = float32BitsFromFloat16Bits(h[i]!);
  return out;
}

/**
 * Rounds float32 values [N] through bfloat16 and back (mixed-precision emulation): out[i] is the
 * float32 value of bfloat16(x[i]). `out` defaults to `x` (in place); it may alias `x`.
 * @throws ShapeError if `out` has another length.
 */
export function roundToBfloat16(x: Float32Array, out: Float32Array = x): Float32Array {
  sameLength('roundToBfloat16', x, out);
  const u = u32View(x);
  const o = u32View(out);
  for (let i = 0; i < u.length; i++) o[i] = float32BitsFromBfloat16Bits(bfloat16BitsFromFloat32Bits(u[i]!));
  return out;
}

/**
 * Rounds float32 values [N] through float16 and back (mixed-precision emulation): out[i] is the
 * float32 value of float16(x[i]), so values beyond ±65504 become ±inf. `out` defaults to `x`.
 * @throws ShapeError if `out` has another length.
 */
export function roundToFloat16(x: Float32Array, out: Float32Array = x): Float32Array {
  sameLength('roundToFloat16', x, out);
  const u = u32View(x);
  const o = u32View(out);
  for (let i = 0; i < u.length; i++) o[i] = float32BitsFromFloat16Bits(float16BitsFromFloat32Bits(u[i]!));
  return out;
}
