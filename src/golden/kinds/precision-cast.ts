/**
 * Golden handler for `precision_cast` cases: float32 (`x_bits`, authoritative) → bfloat16 / float16
 * (option `target`); expected `bits` (uint16), `value` (decoded float32) and `is_nan`.
 *
 * Any NaN encoding is accepted where the case's `is_nan` is true (README): there, if our bits are
 * a NaN encoding too, the expected pattern is reported in their place; otherwise ours are reported
 * and the comparison shows the mismatch. The float32 path (`roundToBfloat16` / `roundToFloat16` on
 * the `x` values) is cross-checked against the bit path for every non-NaN element.
 */
import {
  bfloat16BitsFromFloat32Bits,
  float16BitsFromFloat32Bits,
  float32BitsFromBfloat16Bits,
  float32BitsFromFloat16Bits,
  float32Bits,
  float32FromBits,
  isBfloat16NaN,
  isFloat16NaN,
  roundToBfloat16,
  roundToFloat16,
} from '../../amp/cast.js';
import { ShapeError, ValueError } from '../../errors.js';
import { decodeTensor, registerKind } from '../registry.js';
import type { DecodedTensor, GoldenCase, HandlerResult } from '../types.js';

const FORMATS = {
  bfloat16: { toBits: bfloat16BitsFromFloat32Bits, toF32: float32BitsFromBfloat16Bits, isNaN: isBfloat16NaN, round: roundToBfloat16 },
  float16: { toBits: float16BitsFromFloat32Bits, toF32: float32BitsFromFloat16Bits, isNaN: isFloat16NaN, round: roundToFloat16 },
} as const;

function bitsOf(x: DecodedTensor): DecodedTensor {
  return { dtype: 'uint32', shape: x.shape, data: Float64Array.from(x.data, float32Bits) };
}

function precisionCastCase(c: GoldenCase): HandlerResult {
  const target = c.options.target;
  if (target !== 'bfloat16' && target !== 'float16') {
    throw new ValueError(`precision_cast: option target must be 'bfloat16' or 'float16', got ${JSON.stringify(target)}`);
  }
  const rounding = c.options.rounding;
  if (rounding !== undefined && rounding !== 'nearest_even') {
    throw new ValueError(`precision_cast: option rounding must be 'nearest_even', got ${JSON.stringify(rounding)}`);
  }
  const fmt = FORMATS[target];
  // x_bits is authoritative (it carries NaN payloads); fall back to the float32 values x.
  const xBits = c.inputs.x_bits !== undefined ? decodeTensor(c.inputs.x_bits) : bitsOf(decodeTensor(c.inputs.x));
  const n = xBits.data.length;
  const bits = new Uint16Array(n);
  const value = new Float64Array(n);
  const isNan = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const b = fmt.toBits(xBits.data[i]!);
    bits[i] = b;
    value[i] = float32FromBits(fmt.toF32(b));
    isNan[i] = fmt.isNaN(b) ? 1 : 0;
  }

  // Cross-check the Float32Array rounding path on the float32 values `x`, wherever `x` holds the
  // same float32 as `x_bits` (NaN payloads and, in hand-made files, the sign of zero may differ).
  if (c.inputs.x !== undefined && c.inputs.x_bits !== undefined) {
    const x = decodeTensor(c.inputs.x);
    if (x.data.length !== n) throw new ShapeError(`precision_cast: x has ${x.data.length} values, x_bits ${n}`);
    const rounded = fmt.round(Float32Array.from(x.data));
    for (let i = 0; i < n; i++) {
      if (isNan[i] === 1 || float32Bits(x.data[i]!) !== xBits.data[i]) continue;
      if (float32Bits(rounded[i]!) !== float32Bits(value[i]!)) {
        throw new ValueError(`precision_cast: round path gives ${rounded[i]} for x[${i}] = ${x.data[i]}, bit path ${value[i]}`);
      }
    }
  }

  // Accept any NaN encoding where the case expects NaN.
  const expected = c.expected ?? {};
  if (expected.is_nan !== undefined && expected.bits !== undefined) {
    const wantNan = decodeTensor(expected.is_nan).data;
    const wantBits = decodeTensor(expected.bits).data;
    for (let i = 0; i < n && i < wantNan.length && i < wantBits.length; i++) {
      if (wantNan[i] === 1 && isNan[i] === 1) bits[i] = wantBits[i]!;
    }
  }
  const shape = xBits.shape;
  return { expected: { bits: { shape, data: bits }, value: { shape, data: value }, is_nan: { shape, data: isNan } } };
}

registerKind('precision_cast', precisionCastCase);
