/**
 * The golden comparison rule (../shared/golden/README.md, "Comparison rule"):
 * shapes exactly equal; per element, expected NaN needs an actual NaN, expected ±inf the same
 * infinity, otherwise `|actual - expected| <= atol + rtol * |expected|`. Integer and boolean
 * tensors (int64, uint16, uint32, bool) and bare JSON integers / booleans must match exactly.
 * The sign of zero is not checked.
 */
import { fmtShape } from '../errors.js';
import { EXACT_DTYPES, decodeNumber, decodeTensor, isTensorLike } from './decode.js';

/** Relative and absolute tolerance of a case. */
export interface Tolerance {
  rtol: number;
  atol: number;
}

/** True when `actual` is close to `expected` under the golden rule for float values. */
export function isClose(actual: number, expected: number, tol: Tolerance): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Number.isFinite(actual) && Math.abs(actual - expected) <= tol.atol + tol.rtol * Math.abs(expected);
}

function fmtNum(v: number): string {
  return Number.isNaN(v) ? 'NaN' : String(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    if ('shape' in v) return `a tensor of shape ${JSON.stringify((v as { shape: unknown }).shape)}`;
    return 'an object';
  }
  if (Array.isArray(v)) return `a list of ${v.length}`;
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s;
}

/** Multi-index of flat position `i` in row-major `shape`, as `[1, 2]`. */
function multiIndex(i: number, shape: readonly number[]): string {
  const idx: number[] = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx[d] = n > 0 ? i % n : 0;
    i = n > 0 ? Math.floor(i / n) : 0;
  }
  return `[${idx.join(', ')}]`;
}

/** Reads the actual tensor's shape and data, or says why it cannot. */
function actualTensor(actual: unknown, expShape: number[]): { shape: number[]; data: ArrayLike<unknown> } | string {
  if ((typeof actual === 'number' || typeof actual === 'boolean') && expShape.length === 0) {
    return { shape: [], data: [actual] };
  }
  if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) {
    return `expected a tensor of shape ${fmtShape(expShape)}, got ${describe(actual)}`;
  }
  const { shape, data } = actual as { shape?: unknown; data?: unknown };
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    return `expected a tensor {shape, data}, got an object whose shape is ${describe(shape)}`;
  }
  if (typeof data !== 'object' || data === null || typeof (data as { length?: unknown }).length !== 'number') {
    return `expected a tensor {shape, data}, got an object whose data is ${describe(data)}`;
  }
  return { shape: shape as number[], data: data as ArrayLike<unknown> };
}

function compareTensor(expected: unknown, actual: unknown, tol: Tolerance, path: string): string | null {
  const e = decodeTensor(expected);
  const a = actualTensor(actual, e.shape);
  if (typeof a === 'string') return `${path}: ${a}`;
  if (a.shape.length !== e.shape.length || a.shape.some((d, i) => d !== e.shape[i])) {
    return `${path}: shape ${fmtShape(a.shape)}, expected ${fmtShape(e.shape)}`;
  }
  if (a.data.length !== e.data.length) {
    return `${path}: data has ${a.data.length} values for shape ${fmtShape(a.shape)}, expected ${e.data.length}`;
  }
  const exact = EXACT_DTYPES.has(e.dtype);
  let bad = 0;
  let first = -1;
  let firstActual = 0;
  for (let i = 0; i < e.data.length; i++) {
    const raw = a.data[i];
    const v = typeof raw === 'boolean' ? (raw ? 1 : 0) : typeof raw === 'number' ? raw : Number.NaN;
    const ev = e.data[i]!;
    const ok = typeof raw === 'number' || typeof raw === 'boolean' ? (exact ? v === ev : isClose(v, ev, tol)) : false;
    if (!ok) {
      if (bad === 0) {
        first = i;
        firstActual = v;
      }
      bad++;
    }
  }
  if (bad === 0) return null;
  const at = e.shape.length === 0 ? path : `${path}${multiIndex(first, e.shape)}`;
  const ev = e.data[first]!;
  const raw = a.data[first];
  const got = typeof raw === 'number' || typeof raw === 'boolean' ? fmtNum(firstActual) : describe(raw);
  const rule = exact
    ? `exact ${e.dtype}`
    : Number.isFinite(ev)
      ? `|diff| ${fmtNum(Math.abs(firstActual - ev))} > atol ${tol.atol} + rtol ${tol.rtol} * |expected|`
      : 'non-finite must match';
  const count = e.data.length > 1 ? ` (${bad} of ${e.data.length} elements differ)` : '';
  return `${at}: got ${got}, expected ${fmtNum(ev)} [${rule}]${count}`;
}

/**
 * Compares a handler's value with the case's raw expected JSON value; returns the first mismatch
 * as `<path>: <what>` or null when they agree. `path` names the value (`expected.loss`).
 * Tensors in `expected` are `{dtype, shape, data}`; lists, objects, booleans, integers, floats and
 * null nest freely. Extra keys in `actual` objects are ignored.
 * @throws FileFormatError when `expected` itself is malformed.
 */
export function compareValue(expected: unknown, actual: unknown, tol: Tolerance, path: string): string | null {
  if (isTensorLike(expected)) return compareTensor(expected, actual, tol, path);
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected a list of ${expected.length}, got ${describe(actual)}`;
    if (actual.length !== expected.length) {
      return `${path}: list of ${actual.length}, expected ${expected.length}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const m = compareValue(expected[i], actual[i], tol, `${path}[${i}]`);
      if (m !== null) return m;
    }
    return null;
  }
  if (expected === null) {
    return actual === null || actual === undefined ? null : `${path}: expected null, got ${describe(actual)}`;
  }
  if (typeof expected === 'boolean') {
    const a = typeof actual === 'number' && (actual === 0 || actual === 1) ? actual === 1 : actual;
    return a === expected ? null : `${path}: got ${describe(actual)}, expected ${expected} [exact]`;
  }
  if (typeof expected === 'number' || (typeof expected === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(expected))) {
    const ev = decodeNumber(expected);
    const av = typeof actual === 'number' ? actual : undefined;
    if (av === undefined) return `${path}: expected the number ${fmtNum(ev)}, got ${describe(actual)}`;
    // A bare JSON integer (a counter such as growth_tracker_after) must match exactly.
    const exact = Number.isInteger(ev);
    const ok = exact ? av === ev : isClose(av, ev, tol);
    return ok ? null : `${path}: got ${fmtNum(av)}, expected ${fmtNum(ev)} [${exact ? 'exact integer' : 'tolerance'}]`;
  }
  if (typeof expected === 'string') {
    return actual === expected ? null : `${path}: got ${describe(actual)}, expected ${JSON.stringify(expected)}`;
  }
  if (typeof expected === 'object') {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) {
      return `${path}: expected an object, got ${describe(actual)}`;
    }
    for (const [k, ev] of Object.entries(expected)) {
      if (!(k in actual)) return `${path}.${k}: missing from the handler's result`;
      const m = compareValue(ev, (actual as Record<string, unknown>)[k], tol, `${path}.${k}`);
      if (m !== null) return m;
    }
    return null;
  }
  return `${path}: cannot compare expected value ${describe(expected)}`;
}
