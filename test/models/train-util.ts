/**
 * Minimal training helpers for model tests (the real optimisers live in src/optim and src/train):
 * mean cross-entropy from log-softmax, and Adam (Kingma & Ba 2015) on plain arrays.
 */
import * as T from '../../src/tensor/index.js';

/** Mean of -log softmax(logits)[target] over rows: logits [..., V], targets int32 [...]. */
export function crossEntropy(logits: T.Tensor, targets: T.Tensor): T.Tensor {
  const V = logits.shape[logits.ndim - 1];
  const lp = T.logSoftmax(T.reshape(logits, [-1, V]), -1);
  const picked = T.gather(lp, 1, T.reshape(targets, [-1, 1]));
  return T.neg(T.mean(picked));
}

/** Adam with bias correction over a fixed parameter list. */
export class Adam {
  private m: Float64Array[];
  private v: Float64Array[];
  private t = 0;

  constructor(private readonly params: T.Tensor[], private readonly lr = 1e-2, private readonly b1 = 0.9, private readonly b2 = 0.999, private readonly eps = 1e-8) {
    this.m = params.map((p) => new Float64Array(p.numel()));
    this.v = params.map((p) => new Float64Array(p.numel()));
  }

  step(): void {
    this.t++;
    const c1 = 1 - this.b1 ** this.t, c2 = 1 - this.b2 ** this.t;
    this.params.forEach((p, k) => {
      if (!p.grad) return;
      const g = p.grad.contiguous().data(), d = p.data(), m = this.m[k], v = this.v[k];
      for (let i = 0; i < d.length; i++) {
        m[i] = this.b1 * m[i] + (1 - this.b1) * g[i];
        v[i] = this.b2 * v[i] + (1 - this.b2) * g[i] * g[i];
        d[i] -= (this.lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + this.eps);
      }
      p.grad = null;
    });
  }
}

/** Runs `steps` of loss → backward → Adam inside allocation scopes; returns the losses. */
export function train(params: T.Tensor[], lossFn: () => T.Tensor, steps: number, lr = 1e-2): number[] {
  const opt = new Adam(params, lr);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    T.scope(() => {
      const loss = lossFn();
      losses.push(loss.item());
      T.backward(loss);
      opt.step();
    });
  }
  return losses;
}

/** int32 tensor from rows of ids. */
export function ids(rows: number[][]): T.Tensor {
  return T.tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length], 'int32');
}
