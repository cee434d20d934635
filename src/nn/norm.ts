/** Normalisation layers: LayerNorm (fused kernel), RMSNorm, BatchNorm1d. */
import { ValueError } from '../errors.js';
import * as T from '../tensor/index.js';
import { batchNorm1d, rmsNorm } from './functional.js';
import { Module } from './module.js';

function checkDim(d: number, where: string): void {
  if (!Number.isInteger(d) || d <= 0) throw new ValueError(`${where}: normalized dimension must be a positive integer, got ${d}`);
}

/**
 * Layer normalisation over the last dim (Ba et al. 2016), `torch.nn.LayerNorm(D)`:
 * y = (x - mean)/sqrt(var + eps)·weight + bias, biased variance. x [..., D].
 * weight = 1, bias = 0 initially; `bias: false` drops the bias (weight stays).
 */
export class LayerNorm extends Module {
  declare weight: T.Tensor;
  declare bias: T.Tensor | null;

  constructor(readonly dim: number, readonly opts: { eps?: number; bias?: boolean } = {}) {
    super();
    checkDim(dim, 'LayerNorm');
    this.registerParameter('weight', T.ones([dim]));
    this.registerParameter('bias', opts.bias ?? true ? T.zeros([dim]) : null);
  }

  get eps(): number { return this.opts.eps ?? 1e-5; }

  /** x [..., D] → [..., D]. @throws ShapeError when the last dim is not D. */
  forward(x: T.Tensor): T.Tensor {
    return T.layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/**
 * RMS normalisation (Zhang & Sennrich 2019): y = x / sqrt(mean(x²) + eps)·weight over the last dim.
 * weight = 1 initially. eps default 1e-6.
 */
export class RMSNorm extends Module {
  declare weight: T.Tensor;

  constructor(readonly dim: number, readonly opts: { eps?: number } = {}) {
    super();
    checkDim(dim, 'RMSNorm');
    this.registerParameter('weight', T.ones([dim]));
  }

  get eps(): number { return this.opts.eps ?? 1e-6; }

  /** x [..., D] → [..., D]. */
  forward(x: T.Tensor): T.Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** Options of {@link BatchNorm1d}. */
export interface BatchNorm1dOptions {
  eps?: number;
  /** Weight of the batch statistic in the running average (0.1); null = cumulative average (1/batches). */
  momentum?: number | null;
  /** Learn weight and bias (default true). */
  affine?: boolean;
  /** Keep running statistics (default true); without them eval also uses batch statistics. */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation for [N, C] or [N, C, L] (`torch.nn.BatchNorm1d(C)`): batch statistics in training
 * (running statistics updated with `momentum`), running statistics in eval. See `batchNorm1d`.
 * Buffers `running_mean` (0), `running_var` (1), `num_batches_tracked` (0).
 */
export class BatchNorm1d extends Module {
  declare weight: T.Tensor | null;
  declare bias: T.Tensor | null;
  declare running_mean: T.Tensor | null;
  declare running_var: T.Tensor | null;
  declare num_batches_tracked: T.Tensor | null;

  constructor(readonly numFeatures: number, readonly opts: BatchNorm1dOptions = {}) {
    super();
    checkDim(numFeatures, 'BatchNorm1d');
    const affine = opts.affine ?? true;
    this.registerParameter('weight', affine ? T.ones([numFeatures]) : null);
    this.registerParameter('bias', affine ? T.zeros([numFeatures]) : null);
    const track = opts.trackRunningStats ?? true;
    this.registerBuffer('running_mean', track ? T.zeros([numFeatures]) : null);
    this.registerBuffer('running_var', track ? T.ones([numFeatures]) : null);
    this.registerBuffer('num_batches_tracked', track ? T.zeros([], 'int32') : null);
  }

  /**
   * x [N, C] or [N, C, L] → same shape.
   * @throws ShapeError for another rank or C; ValueError when training with one value per channel.
   */
  forward(x: T.Tensor): T.Tensor {
    let momentum = this.opts.momentum === undefined ? 0.1 : this.opts.momentum;
    const nbt = this.num_batches_tracked;
    const valid = (x.ndim === 2 || x.ndim === 3) && x.shape[1] === this.numFeatures
      && x.shape[0] * (x.ndim === 3 ? x.shape[2] : 1) > 1;
    if (this.training && nbt) {
      // Count the batch only when it is valid (batchNorm1d throws for it before updating anything).
      if (valid) nbt.data()[0] += 1;
      if (momentum === null) momentum = 1 / Math.max(1, nbt.data()[0]);
    }
    return batchNorm1d(x, this.running_mean, this.running_var, this.weight, this.bias,
      { training: this.training, momentum: momentum ?? 0.1, eps: this.opts.eps ?? 1e-5 });
  }
}
