/**
 * Position-wise feed-forward network (Vaswani et al. 2017, §3.3), GPT-2 naming: `c_fc` [hidden, C],
 * `c_proj` [C, hidden]. Gated variants (SwiGLU / GeGLU, Shazeer 2020) add `c_gate` [hidden, C]:
 * y = c_proj(act(c_gate(x)) · c_fc(x)).
 */
import { ValueError } from '../errors.js';
import * as T from '../tensor/index.js';
import { type Activation, applyActivation, checkActivation, isGated } from './activation.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export interface FeedForwardOptions {
  /** Hidden width (default 4·C). */
  hidden?: number;
  /** Default 'gelu' (exact). */
  activation?: Activation;
  bias?: boolean;
  /** Dropout after c_proj in training (GPT-2's `resid_pdrop` inside the MLP); default 0. */
  dropout?: number;
  generator?: T.Generator;
}

export class FeedForward extends Module {
  declare c_fc: Linear;
  declare c_gate: Linear | null;
  declare c_proj: Linear;
  declare dropout: Dropout;
  readonly activation: Activation;

  constructor(readonly dim: number, opts: FeedForwardOptions = {}) {
    super();
    const hidden = opts.hidden ?? 4 * dim;
    if (!Number.isInteger(hidden) || hidden <= 0) throw new ValueError(`FeedForward: hidden must be a positive integer, got ${hidden}`);
    this.activation = checkActivation(opts.activation ?? 'gelu', 'FeedForward activation');
    const bias = opts.bias ?? true, g = opts.generator;
    this.registerModule('c_fc', new Linear(dim, hidden, { bias, generator: g }));
    this.registerModule('c_gate', isGated(this.activation) ? new Linear(dim, hidden, { bias, generator: g }) : null);
    this.registerModule('c_proj', new Linear(hidden, dim, { bias, generator: g }));
    this.registerModule('dropout', new Dropout(opts.dropout ?? 0, { generator: g }));
  }

  /**
   * x [..., C] → [..., C]. Under bfloat16 autocast a GELU MLP with plain Linear layers keeps its
   * hidden activations in bf16 as PyTorch's autocast does: c_fc writes bf16 (linear's lowpOutput), GELU
   * runs bf16 → bf16, c_proj reads it as it is, and the gradients of both are bf16. Otherwise float32.
   */
  forward(x: T.Tensor): T.Tensor {
    const a = this.activation;
    const bf16Hidden = !this.c_gate && (a === 'gelu' || a === 'gelu_new' || a === 'gelu_pytorch_tanh' || a === 'gelu_tanh') &&
      this.c_fc.constructor === Linear && this.c_proj.constructor === Linear;
    const up = bf16Hidden ? T.linear(x, this.c_fc.weight, this.c_fc.bias, { lowpOutput: true }) : this.c_fc.forward(x);
    const h = this.c_gate ? T.mul(applyActivation(this.c_gate.forward(x), this.activation), up) : applyActivation(up, this.activation);
    const y = this.c_proj.forward(h);
    // h is read by c_proj only; under autocast c_proj saved its 16-bit copy, so h can go now.
    T.releaseIfUnsaved(h, x, up, y);
    return this.dropout.forward(y);
  }
}
