/**
 * Kullback–Leibler divergence loss (PyTorch 1.13 `kl_div`). Its default reduction 'mean' (kept for
 * PyTorch parity) is not the KL divergence of a batch; as PyTorch, the first call with it warns.
 */
import * as T from '../tensor/index.js';
import { log } from '../logger.js';
import { broadcastData, checkFloat, checkReduction, floatData, fromValues, resultDtype, scalarOf } from './common.js';
import type { FloatArray } from './common.js';

export interface KlDivOptions {
  /** 'mean' (default: over all elements, as PyTorch), 'batchmean' (sum / input.shape[0]; the
   *  mathematically correct KL for a batch), 'sum' or 'none'. */
  reduction?: 'none' | 'mean' | 'sum' | 'batchmean';
  /** The target is given as log-probabilities (default false). */
  logTarget?: boolean;
}

/** PyTorch's xlogy: NaN if b is NaN, 0 if a = 0, else a·log b. */
function xlogy(a: number, b: number): number {
  if (b !== b) return NaN;
  return a === 0 ? 0 : a * Math.log(b);
}

/**
 * KL(target ‖ exp(input)) pointwise: t·log t − t·x (0·log 0 := 0), or exp(t)·(t − x) with logTarget.
 * input holds log-probabilities. Non-finite values follow IEEE (t = 0, x = −inf gives NaN).
 * Gradients: input −t·g (−exp(t)·g); target (log t + 1 − x)·g via PyTorch's xlogy rule (NaN at t = 0),
 * ((t − x)·exp(t) + exp(t))·g with logTarget.
 * Shapes: input, target broadcastable (normally equal); output scalar or the broadcast shape.
 * @throws ValueError for an unknown reduction; ShapeError when shapes do not broadcast.
 */
let warnedMean = false;

export function klDiv(input: T.Tensor, target: T.Tensor, options: KlDivOptions = {}): T.Tensor {
  const fn = 'klDiv';
  if ((options.reduction ?? 'mean') === 'mean' && !warnedMean) {
    // As PyTorch (once per process): the default divides by every element, not by the batch.
    warnedMean = true;
    log.warn("warning: klDiv: reduction 'mean' divides the summed divergence by every element (batch x classes), so it is not the KL divergence; use 'batchmean' (the sum divided by the batch size), as PyTorch advises");
  }
  checkFloat(fn, 'input', input);
  checkFloat(fn, 'target', target);
  const reduction = checkReduction(fn, options.reduction ?? 'mean', ['none', 'mean', 'sum', 'batchmean'] as const);
  const logT = options.logTarget ?? false;
  const shape = T.broadcastShapes(input.shape, target.shape, `${fn}: input and target`);
  const x = broadcastData(fn, 'input', input, shape), t = broadcastData(fn, 'target', target, shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const dt = resultDtype(input, target);
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = logT ? Math.exp(t[i]) * (t[i] - x[i]) : xlogy(t[i], t[i]) - t[i] * x[i];
  // 'batchmean' divides the sum by input.shape[0] (a 0-d input: by nothing), 'mean' by the count.
  const div = reduction === 'mean' ? n : reduction === 'batchmean' && input.ndim > 0 ? input.shape[0] : 1;
  let out: T.Tensor;
  if (reduction === 'none') out = fromValues(shape, dt, vals);
  else {
    let s = 0;
    for (let i = 0; i < n; i++) s += vals[i];
    out = scalarOf(s / div, dt);
  }
  return T.record(fn, out, [input, target], (g) => {
    const gd = floatData(g);
    const gOf = (i: number) => (reduction === 'none' ? gd[i] : gd[0] / div);
    let dIn: T.Tensor | null = null, dTg: T.Tensor | null = null;
    if (input.requiresGrad) {
      const d = T.empty(shape, dt);
      const dd = d.storage.data as FloatArray;
      for (let i = 0; i < n; i++) dd[i] = -(gOf(i) * (logT ? Math.exp(t[i]) : t[i]));
      dIn = T.sumToShape(d, input.shape);
    }
    if (target.requiresGrad) {
      const d = T.empty(shape, dt);
      const dd = d.storage.data as FloatArray;
      for (let i = 0; i < n; i++) {
        const gi = gOf(i), ti = t[i];
        if (logT) { const e = Math.exp(ti); dd[i] = gi * (ti - x[i]) * e + gi * e; }
        else dd[i] = gi * xlogy(ti !== 0 ? 1 : 0, ti) + (gi * ti) / ti - gi * x[i];
      }
      dTg = T.sumToShape(d, target.shape);
    }
    return [dIn, dTg];
  });
}
