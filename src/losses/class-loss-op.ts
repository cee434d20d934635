/**
 * The autograd op shared by `crossEntropy` (class-index targets) and `nllLoss`: one pass over the
 * [outer, C, inner] input computes per-row terms and reduces them; backward writes the input
 * gradient in one more pass (kernels in class-kernel.ts). Nothing of size [rows, C] is kept between
 * forward and backward except the input itself.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import type { FloatArray } from '../backend/backend.js';
import * as T from '../tensor/index.js';
import { backwardRows, type ClassSpec, forwardRows, newRowTerms, type RowFactors, sumOf, validateTargets } from './class-kernel.js';
import { checkInteger, checkNumber, checkReduction, floatData, fromValues, type Reduction, scalarOf } from './common.js';
import { notePeak } from './peak.js';

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
  weight: FloatArray | null;
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
  let weight: FloatArray | null = null;
  if (o.weight !== undefined && o.weight !== null) {
    const w = o.weight;
    if (!(w instanceof T.Tensor)) throw new ValueError(`${fn}: option 'weight' must be a tensor, got ${typeof w}`);
    if (w.ndim !== 1 || w.shape[0] !== C) {
      throw new ShapeError(`${fn}: option 'weight' must have shape [${C}] (one weight per class), got ${fmtShape(w.shape)}`);
    }
    if (w.dtype !== 'float32' && w.dtype !== 'float64') throw new ValueError(`${fn}: option 'weight' must be a float tensor, got dtype ${w.dtype}`);
    weight = floatData(w);
  }
  return { weight, ignoreIndex, reduction };
}

/** Checks a label-smoothing factor. @throws ValueError naming the option unless 0 ≤ ε ≤ 1. */
export function parseSmoothing(fn: string, v: unknown): number {
  const eps = checkNumber(fn, 'labelSmoothing', v ?? 0);
  if (eps < 0 || eps > 1) throw new ValueError(`${fn}: option 'labelSmoothing' must be in [0, 1], got ${eps}`);
  return eps;
}

/** @throws ValueError unless the target is an int32 tensor. */
export function checkIndexTarget(fn: string, target: T.Tensor): Int32Array {
  if (target.dtype !== 'int32') throw new ValueError(`${fn}: class-index 'target' must be an int32 tensor, got dtype ${target.dtype}`);
  return T.contiguous(target).data() as Int32Array;
}

/**
 * The op itself. `x` is viewed as [outer, C, inner]; `target` holds outer·inner class ids with shape
 * `tShape` (the 'none' output shape).
 */
export function classLossOp(fn: string, x: T.Tensor, target: T.Tensor, tShape: readonly number[], outer: number,
  spec: ClassSpec, reduction: Reduction): T.Tensor {
  const td = checkIndexTarget(fn, target);
  validateTargets(fn, td, tShape, spec.C, spec.ignoreIndex);
  const xd = floatData(x);
  const dt = x.dtype === 'float64' ? 'float64' : 'float32';
  const rows = outer * spec.inner;
  const { C, eps } = spec;
  const terms = newRowTerms(rows, spec, false);
  forwardRows(xd, spec, td, 0, rows, terms);
  let out: T.Tensor;
  let D = 0;
  if (reduction === 'none') {
    const vals = new Float64Array(rows);
    for (let r = 0; r < rows; r++) vals[r] = terms.smooth ? (1 - eps) * terms.nll[r] + terms.smooth[r] * (eps / C) : terms.nll[r];
    out = fromValues(tShape, dt, vals);
  } else {
    const nll = sumOf(terms.nll);
    const sm = terms.smooth ? sumOf(terms.smooth) : 0;
    D = sumOf(terms.wy);
    let v: number;
    if (reduction === 'sum') v = terms.smooth ? (1 - eps) * nll + sm * (eps / C) : nll;
    else v = terms.smooth ? (1 - eps) * (nll / D) + (sm / D) * (eps / C) : nll / D;
    out = scalarOf(v, dt);
  }
  notePeak();
  return T.record(fn, out, [x], (g) => {
    const dx = T.empty(x.shape, dt);
    notePeak();
    const dd = dx.storage.data as FloatArray;
    const gd = floatData(g);
    const nllScale = eps > 0 ? 1 - eps : 1;
    let f: RowFactors;
    if (reduction === 'none') {
      f = { a: (r) => (eps > 0 ? gd[r] * nllScale : gd[r]), b: (r) => gd[r] * (eps / C), z: null };
    } else {
      const g0 = gd[0];
      const a = reduction === 'mean' ? (eps > 0 ? g0 * nllScale : g0) / D : (eps > 0 ? g0 * nllScale : g0);
      const b = reduction === 'mean' ? (g0 * (eps / C)) / D : g0 * (eps / C);
      f = { a: () => a, b: () => b, z: null };
    }
    backwardRows(xd, dd, spec, td, 0, rows, terms, f);
    return [dx];
  });
}
