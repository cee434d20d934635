/**
 * Functional forms of the layers whose modules hold only parameters and state: linear, rmsNorm,
 * batchNorm1d. Modules and golden handlers share them. All are differentiable through the tensor
 * ops they are composed of, and work on float32 or (for gradient checks) float64 inputs.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';

/** y = x Wᵀ + b (PyTorch `F.linear`): the tensor layer's fused op (src/tensor/ops/linear.ts), here beside the other functional layers. */
export { linear } from '../tensor/index.js';

/**
 * Root-mean-square normalisation (Zhang & Sennrich 2019), one fused op:
 * y = x · r · weight, r = 1/sqrt(mean(x² over the last dim) + eps). x [..., D]; weight [D] or null.
 * Row sums run in float64, so squares of large float32 values do not overflow.
 * Backward (gw = g·weight): dx = r·(gw - x·r²·mean(gw·x)), dweight = Σ_rows g·x·r.
 * @throws ShapeError when weight is not [D].
 */
export function rmsNorm(x: T.Tensor, weight: T.Tensor | null, eps = 1e-6): T.Tensor {
  const D = x.ndim === 0 ? 1 : x.shape[x.ndim - 1];
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== D)) {
    throw new ShapeError(`rmsNorm: weight must be [${D}] for input ${fmtShape(x.shape)}, got ${fmtShape(weight.shape)}`);
  }
  const dt = x.dtype === 'float64' || weight?.dtype === 'float64' ? 'float64' : 'float32';
  const rows = D === 0 ? 0 : x.numel() / D;
  const xd = x.contiguous().data();
  const wd = weight ? weight.contiguous().data() : null;
  const r = new Float64Array(rows);
  const out = T.empty(x.shape, dt);
  const od = out.data();
  for (let i = 0; i < rows; i++) {
    const o = i * D;
    let ss = 0;
    for (let j = 0; j < D; j++) ss += xd[o + j] * xd[o + j];
    const ri = 1 / Math.sqrt(ss / D + eps);
    r[i] = ri;
    for (let j = 0; j < D; j++) od[o + j] = xd[o + j] * ri * (wd ? wd[j] : 1);
  }
  return T.record('rmsNorm', out, [x, weight], (g) => {
    const gd = g.contiguous().data();
    const dx = x.requiresGrad ? T.empty(x.shape, dt) : null;
    const dw = weight && weight.requiresGrad ? T.zeros([D], dt) : null;
    const dxd = dx ? dx.data() : null;
    const dwd = dw ? new Float64Array(D) : null;
    for (let i = 0; i < rows; i++) {
      const o = i * D, ri = r[i];
      if (dxd) {
        let dot = 0;
        for (let j = 0; j < D; j++) dot += gd[o + j] * (wd ? wd[j] : 1) * xd[o + j];
        const c = ri * ri * dot / D;
        for (let j = 0; j < D; j++) dxd[o + j] = ri * (gd[o + j] * (wd ? wd[j] : 1) - xd[o + j] * c);
      }
      if (dwd) for (let j = 0; j < D; j++) dwd[j] += gd[o + j] * xd[o + j] * ri;
    }
    if (dw && dwd) dw.data().set(dwd);
    return [dx, dw];
  });
}

/** Options of {@link batchNorm1d}. */
export interface BatchNormOptions {
  training: boolean;
  /**
   * Weight of the new batch statistic in the running average (PyTorch's `momentum`, default 0.1):
   * running = (1 - momentum)·running + momentum·batch.
   */
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation over [N, C] or [N, C, L] (Ioffe & Szegedy 2015; PyTorch `F.batch_norm`).
 * Training (or no running statistics): per channel over N (and L), n = N·L values, mean and biased
 * variance normalise x; the running statistics, when given, are updated in place:
 * running_mean = (1-m)·rm + m·mean, running_var = (1-m)·rv + m·var·n/(n-1) (unbiased).
 * Eval with running statistics: y = (x - rm)/sqrt(rv + eps)·w + b.
 * Gradients flow to x, weight and bias, never to the running statistics.
 * @param x [N, C] or [N, C, L]; weight, bias, runningMean, runningVar [C] or null.
 * An empty batch (n = 0) gives an empty output and leaves the running statistics unchanged.
 * @throws ShapeError for other ranks or a parameter that is not [C];
 *   ValueError when training with one value per channel (n = 1), as PyTorch.
 */
export function batchNorm1d(x: T.Tensor, runningMean: T.Tensor | null, runningVar: T.Tensor | null,
  weight: T.Tensor | null, bias: T.Tensor | null, opts: BatchNormOptions): T.Tensor {
  if (x.ndim !== 2 && x.ndim !== 3) throw new ShapeError(`batchNorm1d: expected input [N, C] or [N, C, L], got ${fmtShape(x.shape)}`);
  const C = x.shape[1];
  for (const [n, t] of [['weight', weight], ['bias', bias], ['running_mean', runningMean], ['running_var', runningVar]] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== C)) throw new ShapeError(`batchNorm1d: ${n} must be [${C}] for input ${fmtShape(x.shape)}, got ${fmtShape(t.shape)}`);
  }
  if ((runningMean === null) !== (runningVar === null)) throw new ValueError('batchNorm1d: give both running_mean and running_var or neither');
  const eps = opts.eps ?? 1e-5;
  const momentum = opts.momentum ?? 0.1;
  const dims = x.ndim === 2 ? [0] : [0, 2];
  const chanShape = x.ndim === 2 ? [1, C] : [1, C, 1];
  const n = x.shape[0] * (x.ndim === 3 ? x.shape[2] : 1);
  const useBatch = opts.training || runningMean === null;
  let y: T.Tensor;
  if (n === 0) {
    // An empty batch normalises nothing and leaves the running statistics alone (as PyTorch).
    y = T.mulScalar(x, 1);
  } else if (useBatch) {
    if (n === 1) {
      throw new ValueError(`batchNorm1d: expected more than 1 value per channel when training, got input size ${fmtShape(x.shape)}`);
    }
    const mu = T.mean(x, dims, true);
    const xc = T.sub(x, mu);
    const v = T.mean(T.square(xc), dims, true);
    y = T.mul(xc, T.rsqrt(T.addScalar(v, eps)));
    if (opts.training && runningMean && runningVar) {
      T.noGrad(() => {
        const md = mu.contiguous().data(), vd = v.contiguous().data();
        const rm = runningMean.data(), rv = runningVar.data();
        for (let c = 0; c < C; c++) {
          rm[c] = (1 - momentum) * rm[c] + momentum * md[c];
          rv[c] = (1 - momentum) * rv[c] + momentum * vd[c] * n / (n - 1);
        }
      });
    }
  } else {
    const rm = T.reshape(runningMean!.detach(), chanShape), rv = T.reshape(runningVar!.detach(), chanShape);
    y = T.mul(T.sub(x, rm), T.rsqrt(T.addScalar(rv, eps)));
  }
  if (weight) y = T.mul(y, T.reshape(weight, chanShape));
  if (bias) y = T.add(y, T.reshape(bias, chanShape));
  return y;
}
