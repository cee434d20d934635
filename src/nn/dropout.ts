/** `Dropout` layer: inverted dropout driven by a seeded generator (one per model, so runs repeat). */
import { ValueError } from '../errors.js';
import * as T from '../tensor/index.js';
import { Module } from './module.js';

/**
 * Zeroes each element with probability p and scales the others by 1/(1-p) in training; the identity
 * in eval (Srivastava et al. 2014). Draws from `generator` (models pass their own seeded one).
 */
export class Dropout extends Module {
  generator: T.Generator;

  /** @throws ValueError when p is outside [0, 1]. */
  constructor(readonly p = 0.5, opts: { generator?: T.Generator } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new ValueError(`Dropout: p must be in [0, 1], got ${p}`);
    this.generator = opts.generator ?? T.defaultGenerator;
  }

  forward(x: T.Tensor): T.Tensor {
    return T.dropout(x, this.p, this.training, this.generator);
  }
}
