// Finite-difference gradient check in float64: compares autograd gradients with central differences.
import * as T from '../../src/tensor/index.js';

export interface GradcheckResult { ok: boolean; maxErr: number; detail: string }

/** Random float64 leaf of `shape` with values in [lo, hi). */
export function f64(shape: number[], seed: number, lo = -1, hi = 1): T.Tensor {
  const g = new T.Generator(seed);
  const d = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * g.random();
  return T.tensor(d, shape).requiresGrad_();
}

/**
 * Checks d(sum(w ⊙ fn(inputs)))/d(input) for every input that requires grad, with a fixed random w,
 * against central differences with step `eps`. |analytic - numeric| <= atol + rtol·|numeric|.
 */
export function gradcheck(fn: (...xs: T.Tensor[]) => T.Tensor, inputs: T.Tensor[], opts: { eps?: number; atol?: number; rtol?: number } = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-6, rtol = opts.rtol ?? 1e-5;
  for (const x of inputs) x.grad = null;
  const out = fn(...inputs);
  const wg = new T.Generator(99);
  const w = new Float64Array(out.numel());
  for (let i = 0; i < w.length; i++) w[i] = wg.random() * 2 - 1;
  const wt = T.tensor(w, [...out.shape]);
  const objective = (o: T.Tensor): number => {
    const od = o.contiguous().data();
    let s = 0;
    for (let i = 0; i < od.length; i++) s += od[i] * w[i];
    return s;
  };
  T.backward(T.sum(T.mul(out, wt)));
  let maxErr = 0;
  for (let k = 0; k < inputs.length; k++) {
    const x = inputs[k];
    if (!x.requiresGrad) continue;
    const data = x.storage.data as Float64Array;
    const analytic = x.grad ? x.grad.contiguous().data() : new Float64Array(x.numel());
    for (let i = 0; i < x.numel(); i++) {
      const pos = x.offset + i; // inputs are contiguous leaves
      const orig = data[pos];
      data[pos] = orig + eps;
      const fp = T.noGrad(() => objective(fn(...inputs)));
      data[pos] = orig - eps;
      const fm = T.noGrad(() => objective(fn(...inputs)));
      data[pos] = orig;
      const numeric = (fp - fm) / (2 * eps);
      const err = Math.abs(analytic[i] - numeric);
      maxErr = Math.max(maxErr, err);
      if (!(err <= atol + rtol * Math.abs(numeric))) {
        return { ok: false, maxErr: err, detail: `input ${k} element ${i}: analytic ${analytic[i]} vs numeric ${numeric}` };
      }
    }
  }
  return { ok: true, maxErr, detail: '' };
}
