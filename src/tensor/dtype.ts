/**
 * Data types. `float32` is the compute type; `float64` exists for finite-difference gradient checks
 * (js backend); `int32` holds token ids and indices; `bfloat16` / `float16` are storage formats
 * (16-bit patterns in a Uint16Array) for mixed precision.
 */
export type DType = 'float32' | 'float64' | 'int32' | 'bfloat16' | 'float16';
export type TypedArrayFor<D extends DType> = D extends 'float32' ? Float32Array : D extends 'float64' ? Float64Array
  : D extends 'int32' ? Int32Array : Uint16Array;
export type StorageArray = Float32Array | Float64Array | Int32Array | Uint16Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bfloat16', 'float16'];

/** Bytes per element. */
export function itemSize(d: DType): number {
  return d === 'float64' ? 8 : d === 'bfloat16' || d === 'float16' ? 2 : 4;
}

/** The 16-bit storage formats (bit patterns in a Uint16Array, decoded by the backend's castFromLowp). */
export function isLowpDtype(d: DType): d is 'bfloat16' | 'float16' {
  return d === 'bfloat16' || d === 'float16';
}

export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}

export function newArray(d: DType, n: number): StorageArray {
  switch (d) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'int32': return new Int32Array(n);
    default: return new Uint16Array(n);
  }
}

export function dtypeOfArray(a: StorageArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  return 'bfloat16';
}
