/**
 * Options and targets of the class-index losses (crossEntropy, nllLoss, fusedLinearCrossEntropy):
 * class weights, ignoreIndex, reduction, label smoothing, and the target checks with positions.
 */
import { IndexError, ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { checkInteger, checkNumber, checkReduction, positionOf, type Reduction } from './common.js';

/** Options shared by the class-index losses. */
export interface ClassLossCommon {
  /** Class weights [C] (float). Default: all ones. */
  weight?: T.Tensor | null;
  /** Target value that contributes nothing (any integer, even a valid class id). Default -100. */
  ignoreIndex?: number;
  /** 'none' | 'mean' | 'sum' (default 'mean'; the mean divides by the summed weights of counted targets). */
  reduction?: Reduction;
}

/** Validated common options. */
export interface ParsedClassOptions {
  weight: T.Tensor | null;
  ignoreIndex: number;
  reduction: Reduction;
}

/**
 * Checks the class weights, ignoreIndex and reduction.
 * @throws ShapeError when weight is not [C]; ValueError for a bad reduction or ignoreIndex.
 */
export function parseClassOptions(fn: string, o: ClassLossCommon, C: number): ParsedClassOptions {
  const reduction = checkReduction(fn, o.reduction ?? 'mean');
  const ignoreIndex = checkInteger(fn, 'ignoreIndex', o.ignoreIndex ?? -100);
  let weight: T.Tensor | null = null;
  if (o.weight !== undefined && o.weight !== null) {
    const w = o.weight;
    if (!(w instanceof T.Tensor)) throw new ValueError(`${fn}: option 'weight' must be a tensor, got ${typeof w}`);
    if (w.ndim !== 1 || w.shape[0] !== C) {
      throw new ShapeError(`${fn}: option 'weight' must have shape [${C}] (one weight per class), got ${fmtShape(w.shape)}`);
    }
    if (w.dtype !== 'float32' && w.dtype !== 'float64') throw new ValueError(`${fn}: option 'weight' must be a float tensor, got dtype ${w.dtype}`);
    weight = w.detach();
  }
  return { weight, ignoreIndex, reduction };
}

/** Checks a label-smoothing factor. @throws ValueError naming the option unless 0 ≤ ε ≤ 1. */
export function parseSmoothing(fn: string, v: unknown): number {
  const eps = checkNumber(fn, 'labelSmoothing', v ?? 0);
  if (eps < 0 || eps > 1) throw new ValueError(`${fn}: option 'labelSmoothing' must be in [0, 1], got ${eps}`);
  return eps;
}

/**
 * A class-index target of `shape`, flattened to [N] int32, every entry ignoreIndex or in [0, C).
 * @throws ValueError for a non-int32 target; IndexError naming the loss, the position (in `shape`)
 *   and the value of the first target out of range.
 */
export function classTargets(fn: string, target: T.Tensor, shape: readonly number[], C: number, ignoreIndex: number): T.Tensor {
  if (target.dtype !== 'int32') throw new ValueError(`${fn}: class-index 'target' must be an int32 tensor, got dtype ${target.dtype}`);
  const flat = T.reshape(T.contiguous(target), [target.numel()]);
  const td = flat.data() as Int32Array;
  for (let i = 0; i < td.length; i++) {
    const y = td[i];
    if (y !== ignoreIndex && (y < 0 || y >= C)) {
      throw new IndexError(`${fn}: target ${y} at position ${positionOf(i, shape)} is out of range: classes are [0, ${C}) and ignoreIndex is ${ignoreIndex}`);
    }
  }
  return flat;
}

/**
 * For nllLoss's gather: `safe` (ignored targets replaced by class 0) and `ignored` (1 where the
 * target is ignoreIndex), both [N] int32, from a target checked by classTargets.
 */
export function splitIgnored(target: T.Tensor, ignoreIndex: number): { safe: T.Tensor; ignored: T.Tensor } {
  const td = target.data() as Int32Array;
  const safe = T.empty([td.length], 'int32'), ignored = T.empty([td.length], 'int32');
  const sd = safe.data() as Int32Array, id = ignored.data() as Int32Array;
  for (let i = 0; i < td.length; i++) {
    const skip = td[i] === ignoreIndex;
    sd[i] = skip ? 0 : td[i];
    id[i] = skip ? 1 : 0;
  }
  return { safe, ignored };
}

/**
 * x with its class dimension `cd` moved last and flattened to [rows, C] (a copy only when cd is not
 * already last). Differentiable. Rows follow the target's flattened order.
 */
export function classRows(x: T.Tensor, cd: number): T.Tensor {
  const C = x.shape[cd];
  const rows = C === 0 ? x.shape.filter((_, d) => d !== cd).reduce((a, b) => a * b, 1) : x.numel() / C;
  if (cd === x.ndim - 1) return T.reshape(x, [rows, C]);
  const order = [...x.shape.keys()].filter((d) => d !== cd);
  return T.reshape(T.permute(x, [...order, cd]), [rows, C]);
}
