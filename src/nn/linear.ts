/** `Linear` and `Embedding` layers (PyTorch layouts: Linear weight [out, in], Embedding weight [V, C]). */
import { ValueError } from '../errors.js';
import * as T from '../tensor/index.js';
import { linear } from './functional.js';
import { initSkipped } from './init.js';
import { Module } from './module.js';

function checkPositive(name: string, v: number, where: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new ValueError(`${where}: ${name} must be a positive integer, got ${v}`);
}

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Generator for the default initialisation (default: the global generator). */
  generator?: T.Generator;
}

/**
 * y = x Wᵀ + b. x [..., in] → [..., out]; weight [out, in], bias [out].
 * Default init as PyTorch: U(-1/√in, 1/√in) for both (models re-initialise with `initGPT2`); zeros
 * inside `noInit`.
 */
export class Linear extends Module {
  declare weight: T.Tensor;
  declare bias: T.Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkPositive('inFeatures', inFeatures, 'Linear');
    checkPositive('outFeatures', outFeatures, 'Linear');
    const bound = 1 / Math.sqrt(inFeatures);
    const g = opts.generator;
    const init = (shape: number[]): T.Tensor => (initSkipped() ? T.zeros(shape) : T.rand(shape, { low: -bound, high: bound, generator: g }));
    this.registerParameter('weight', init([outFeatures, inFeatures]));
    this.registerParameter('bias', opts.bias ?? true ? init([outFeatures]) : null);
  }

  /** x [..., in] → [..., out]. @throws ShapeError when the last dim is not `inFeatures`. */
  forward(x: T.Tensor): T.Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/**
 * Lookup table: ids int32 [...] → [..., C] rows of weight [V, C]. Default init N(0, 1) (PyTorch); zeros
 * inside `noInit`.
 */
export class Embedding extends Module {
  declare weight: T.Tensor;

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: { generator?: T.Generator } = {}) {
    super();
    checkPositive('numEmbeddings', numEmbeddings, 'Embedding');
    checkPositive('embeddingDim', embeddingDim, 'Embedding');
    const shape = [numEmbeddings, embeddingDim];
    this.registerParameter('weight', initSkipped() ? T.zeros(shape) : T.randn(shape, { generator: opts.generator }));
  }

  /** ids int32 [...] → [..., C]. @throws IndexError for an id outside [0, V); ValueError for non-int32 ids. */
  forward(ids: T.Tensor): T.Tensor {
    return T.embedding(this.weight, ids);
  }
}
