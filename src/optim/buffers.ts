/**
 * Raw buffer access shared by the optimisers, clipping and the grad scaler: they work on the
 * float32 buffers of parameters, gradients and state directly (no autograd, no temporaries), and
 * write IN PLACE so that parameters and gradients keep their own (kept) storage.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { type Tensor, tensor, writeInto } from '../tensor/index.js';

/** Float arrays the in-place helpers accept. */
export type FloatBuf = Float32Array | Float64Array;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/**
 * The float32 elements of a parameter as a writable view of its own storage.
 * @throws ValueError when the parameter is not a contiguous float32 tensor (an optimiser updates
 *   parameters in place, so it cannot work on a copy).
 */
export function paramData(p: Tensor, where: string): Float32Array {
  if (p.dtype !== 'float32') throw new ValueError(`${where}: parameters must be float32, got dtype ${p.dtype} (shape ${fmtShape(p.shape)})`);
  if (!p.isContiguous()) throw new ValueError(`${where}: parameters must be contiguous to be updated in place, got a view with strides [${p.strides.join(', ')}] (shape ${fmtShape(p.shape)})`);
  return p.data() as Float32Array;
}

/**
 * The gradient of `p` as a contiguous float32 array (a view when the gradient is contiguous, a copy
 * otherwise; callers only read it), or null when `p.grad` is null.
 * @throws ShapeError when the gradient's shape differs from the parameter's.
 * @throws ValueError when the gradient is not float32.
 */
export function gradData(p: Tensor, where: string): Float32Array | null {
  const g = p.grad;
  if (g === null) return null;
  if (!sameShape(g.shape, p.shape)) {
    throw new ShapeError(`${where}: gradient of shape ${fmtShape(g.shape)} does not match its parameter's shape ${fmtShape(p.shape)}`);
  }
  if (g.dtype !== 'float32') throw new ValueError(`${where}: gradients must be float32, got dtype ${g.dtype}`);
  return g.data() as Float32Array;
}

/**
 * Runs `fn` on the elements of `t` and makes its writes land in `t`'s own storage: directly for a
 * contiguous tensor, through a copy written back with its strides otherwise.
 */
export function updateInPlace(t: Tensor, fn: (x: FloatBuf) => void): void {
  if (t.isContiguous()) {
    fn(t.data() as FloatBuf);
    return;
  }
  const copy = (t.data() as FloatBuf).slice();
  fn(copy);
  writeInto(t, tensor(copy, t.shape));
}

/**
 * Returns the storage of a kept tensor that only we reference to the buffer pool (optimiser
 * state being replaced). Reading `t` afterwards throws.
 */
export function releaseOwned(t: Tensor): void {
  t.storage.kept = false;
  t.storage.release();
}
