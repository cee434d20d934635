/** Binary cross-entropy on logits (PyTorch 1.13 `binary_cross_entropy_with_logits`). */
import { ShapeError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { broadcastData, checkFloat, checkReduction, floatData, fromValues, type Reduction, resultDtype, scalarOf } from './common.js';
import type { FloatArray } from './common.js';

export interface BceWithLogitsOptions {
  /** Per-element rescaling weight, broadcast to the input's shape. */
  weight?: T.Tensor | null;
  /** Weight of positive examples per class, [C] or [1], broadcast along the last dim. */
  posWeight?: T.Tensor | null;
  /** 'mean' (default, over all elements), 'sum' or 'none'. */
  reduction?: Reduction;
}

/** log(sigmoid(z)) = min(z, 0) − log1p(exp(−|z|)). */
function logSigmoid(z: number): number {
  return Math.min(z, 0) - Math.log1p(Math.exp(-Math.abs(z)));
}

/**
 * loss = −w·(pw·y·log σ(x) + (1−y)·log(1−σ(x))), computed as PyTorch 1.13 does (stable for |x| up to
 * float max): m = max(−x, 0); loss = (1−y)·x + (1 + (pw−1)·y)·(log(e^−m + e^(−x−m)) + m), times w.
 * So ±1e4 logits are finite; x = −inf gives NaN like PyTorch's formula.
 * Gradients: input ((1 + (pw−1)·y)·σ(x) − pw·y)·w·g (σ(x) − y without pw); target
 * (log σ(−x) − pw·log σ(x))·w·g (−x·w·g without pw).
 * Shapes: input, target the same shape (float); output scalar or that shape ('none').
 * @throws ShapeError when target differs from input or weight / posWeight do not broadcast (shapes
 *   named); ValueError for a bad reduction or non-float tensors.
 */
export function bceWithLogits(input: T.Tensor, target: T.Tensor, options: BceWithLogitsOptions = {}): T.Tensor {
  const fn = 'bceWithLogits';
  checkFloat(fn, 'input', input);
  checkFloat(fn, 'target', target);
  const reduction = checkReduction(fn, options.reduction ?? 'mean');
  if (!T.sameShape(input.shape, target.shape)) {
    throw new ShapeError(`${fn}: target shape ${fmtShape(target.shape)} must be the same as input shape ${fmtShape(input.shape)}`);
  }
  const shape = input.shape;
  const n = input.numel();
  const x = floatData(input), y = floatData(target);
  const w = options.weight ? (checkFloat(fn, 'weight', options.weight), broadcastData(fn, 'weight', options.weight, shape)) : null;
  const pw = options.posWeight ? (checkFloat(fn, 'posWeight', options.posWeight), broadcastData(fn, 'posWeight', options.posWeight, shape)) : null;
  const dt = resultDtype(input, target);
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const xi = x[i], yi = y[i];
    const m = Math.max(-xi, 0);
    const lse = Math.log(Math.exp(-m) + Math.exp(-xi - m));
    let l = pw ? (1 - yi) * xi + ((pw[i] - 1) * yi + 1) * (lse + m) : (1 - yi) * xi + m + lse;
    if (w) l *= w[i];
    vals[i] = l;
  }
  let out: T.Tensor;
  if (reduction === 'none') out = fromValues(shape, dt, vals);
  else {
    let s = 0;
    for (let i = 0; i < n; i++) s += vals[i];
    out = scalarOf(reduction === 'mean' ? s / n : s, dt);
  }
  return T.record(fn, out, [input, target], (g) => {
    const gd = floatData(g);
    const gOf = (i: number) => (reduction === 'none' ? gd[i] : gd[0]);
    const div = reduction === 'mean' ? n : 1;
    let dIn: T.Tensor | null = null, dTg: T.Tensor | null = null;
    if (input.requiresGrad) {
      dIn = T.empty(shape, dt);
      const d = dIn.storage.data as FloatArray;
      for (let i = 0; i < n; i++) {
        const s = 1 / (1 + Math.exp(-x[i]));
        let v: number;
        if (pw) { const t = pw[i] * y[i]; v = (t + 1 - y[i]) * s - t; } else v = s - y[i];
        if (w) v *= w[i];
        d[i] = (v * gOf(i)) / div;
      }
    }
    if (target.requiresGrad) {
      dTg = T.empty(shape, dt);
      const d = dTg.storage.data as FloatArray;
      for (let i = 0; i < n; i++) {
        let v = pw ? (logSigmoid(-x[i]) - logSigmoid(x[i]) * pw[i]) * gOf(i) : -x[i] * gOf(i);
        if (w) v *= w[i];
        d[i] = v / div;
      }
    }
    return [dIn, dTg];
  });
}
