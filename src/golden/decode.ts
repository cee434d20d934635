/**
 * Decoding of golden-file values: numbers that may be written as "NaN" / "Infinity" strings, and
 * tensors `{dtype, shape, data}` (format: ../shared/golden/README.md, "Tensors and numbers").
 */
import { FileFormatError, fmtShape } from '../errors.js';
import type { DecodedTensor } from './types.js';

const NON_FINITE: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

/** Dtypes a golden tensor may have. */
export const GOLDEN_DTYPES = ['float32', 'float64', 'int64', 'bool', 'uint16', 'uint32'] as const;

/** Dtypes whose values are compared exactly (integers and booleans). */
export const EXACT_DTYPES: ReadonlySet<string> = new Set(['int64', 'bool', 'uint16', 'uint32']);

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * A golden number: a JSON number, or one of the strings "NaN", "Infinity", "-Infinity".
 * @throws FileFormatError for anything else.
 */
export function decodeNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v in NON_FINITE) return NON_FINITE[v]!;
  throw new FileFormatError(`golden number: expected a number or "NaN"/"Infinity"/"-Infinity", got ${describe(v)}`);
}

/** True for a JSON object shaped like a golden tensor (has `dtype`, `shape` and `data`). */
export function isTensorLike(v: unknown): v is { dtype: unknown; shape: unknown; data: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'dtype' in v && 'shape' in v && 'data' in v;
}

/**
 * Decodes a golden tensor `{dtype, shape, data}` (data flat, row-major; length = product of shape,
 * 1 for shape `[]`). float32 data is rounded to float32 with `Math.fround` (the file holds the
 * shortest decimal of the float32 value); bool becomes 1 / 0; integer dtypes must hold integers.
 * @throws FileFormatError naming the problem (unknown dtype, bad shape, wrong length, bad element).
 */
export function decodeTensor(t: unknown): DecodedTensor {
  if (!isTensorLike(t)) {
    throw new FileFormatError(`golden tensor: expected an object {dtype, shape, data}, got ${describe(t)}`);
  }
  const { dtype, shape, data } = t;
  if (typeof dtype !== 'string' || !(GOLDEN_DTYPES as readonly string[]).includes(dtype)) {
    throw new FileFormatError(`golden tensor: dtype must be one of ${GOLDEN_DTYPES.join(', ')}, got ${describe(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new FileFormatError(`golden tensor: shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  const dims = shape as number[];
  const size = dims.reduce((a, b) => a * b, 1);
  if (!Array.isArray(data) || data.length !== size) {
    const got = Array.isArray(data) ? `${data.length} values` : describe(data);
    throw new FileFormatError(`golden tensor: data of shape ${fmtShape(dims)} needs ${size} values, got ${got}`);
  }
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = decodeElement(dtype, data[i], i);
  return { dtype, shape: dims.slice(), data: out };
}

function decodeElement(dtype: string, v: unknown, i: number): number {
  switch (dtype) {
    case 'bool':
      if (typeof v === 'boolean') return v ? 1 : 0;
      break;
    case 'float32':
      if (typeof v === 'number' || typeof v === 'string') return Math.fround(decodeNumber(v));
      break;
    case 'float64':
      if (typeof v === 'number' || typeof v === 'string') return decodeNumber(v);
      break;
    default: // int64, uint16, uint32
      if (typeof v === 'number' && Number.isInteger(v)) {
        if (dtype === 'uint16' && (v < 0 || v > 0xffff)) break;
        if (dtype === 'uint32' && (v < 0 || v > 0xffffffff)) break;
        return v;
      }
  }
  throw new FileFormatError(`golden tensor: data[${i}] = ${describe(v)} is not a valid ${dtype} value`);
}

/**
 * Converts the strings "NaN" / "Infinity" / "-Infinity" anywhere inside a JSON value (options)
 * to numbers; other values are returned unchanged (arrays and objects copied).
 */
export function convertNonFinite(v: unknown): unknown {
  if (typeof v === 'string' && v in NON_FINITE) return NON_FINITE[v];
  if (Array.isArray(v)) return v.map(convertNonFinite);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = convertNonFinite(x);
    return out;
  }
  return v;
}
