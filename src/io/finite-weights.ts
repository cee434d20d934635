/**
 * The check every loader of weights makes on a file's tensors before using them: a NaN or ±Inf
 * weight would give a NaN loss and NaN probabilities (one predicted class for every input) without a
 * word, and saving already refuses such weights (train/state.ts), so loading refuses them too. The
 * optimizer's state (Adam's moments, …) is checked the same way: a NaN moment makes the next update NaN.
 */
import { FileFormatError } from '../errors.js';
import { toFloat32, type SafeTensor } from './safetensors.js';

const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16', 'F8_E5M2', 'F8_E4M3']);

/**
 * The first non-finite value among the floating-point tensors of `tensors` (integer and BOOL
 * tensors are skipped), or null when all are finite. Each tensor is read in its own dtype: F64
 * values are not rounded to float32 first (a finite 1e300 would become Infinity); the narrower
 * float dtypes decode to float32 exactly.
 * @returns the tensor's name, the flat (row-major) index and the value.
 */
export function firstNonFiniteTensor(tensors: Record<string, SafeTensor>): { name: string; index: number; value: number } | null {
  for (const [name, t] of Object.entries(tensors)) {
    if (!FLOAT_DTYPES.has(t.dtype)) continue;
    const data = t.dtype === 'F64' ? (t.data as Float64Array) : toFloat32(t);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) return { name, index: i, value: data[i]! };
    }
  }
  return null;
}

/**
 * @param file the file the tensors were read from (named in the message).
 * @throws FileFormatError `<file>: tensor "<name>" holds a non-finite value (NaN) at flat index <i>; …`
 *   for the first NaN / ±Inf value.
 */
export function assertFiniteWeights(tensors: Record<string, SafeTensor>, file: string): void {
  const bad = firstNonFiniteTensor(tensors);
  if (bad) {
    throw new FileFormatError(`${file}: tensor "${bad.name}" holds a non-finite value (${bad.value}) at flat index ${bad.index}; weights with NaN or Inf are not loaded (the run that wrote them diverged, or the file is damaged)`);
  }
}

/**
 * The same check for an optimizer's state tensors (optimizer.safetensors of a checkpoint).
 * @param file the file the tensors were read from (named in the message).
 * @param parameterOf the parameter (its name in the model) and buffer a state tensor belongs to,
 *   named first in the message; null where unknown (the tensor's name alone is said).
 * @throws FileFormatError `<file>: optimizer state expAvg of parameter "wte.weight" ("state.0.expAvg")
 *   holds a non-finite value (NaN) at flat index <i>; …`.
 */
export function assertFiniteOptimizerState(tensors: Record<string, SafeTensor>, file: string,
  parameterOf: (entry: string) => { parameter: string; buffer: string } | null = () => null): void {
  const bad = firstNonFiniteTensor(tensors);
  if (bad) {
    const of = parameterOf(bad.name);
    const what = of ? `optimizer state ${of.buffer} of parameter "${of.parameter}" ("${bad.name}")` : `optimizer state "${bad.name}"`;
    throw new FileFormatError(`${file}: ${what} holds a non-finite value (${bad.value}) at flat index ${bad.index}; optimizer state with NaN or Inf is not loaded (the run that wrote it diverged, or the file is damaged)`);
  }
}
