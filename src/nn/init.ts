/**
 * GPT-2 style initialisation (Radford et al. 2019; nanoGPT): matrix weights and embeddings
 * N(0, 0.02); residual output projections (`c_proj.weight`) N(0, 0.02/√(2·nLayer)), because each
 * block adds two residual branches; biases 0; normalisation weights 1 and biases 0.
 */
import * as T from '../tensor/index.js';
import type { Module } from './module.js';

export interface InitOptions {
  /** Layers in the residual stream (both stacks of an encoder–decoder together). */
  nLayer: number;
  /** Base standard deviation (0.02). */
  std?: number;
  generator?: T.Generator;
}

function fillNormal(p: T.Tensor, std: number, g: T.Generator): void {
  const d = p.data();
  for (let i = 0; i < d.length; i++) d[i] = std * g.normal();
}

/** Initialises every parameter of `model` in place by its name and rank (see the file comment). */
export function initGPT2(model: Module, opts: InitOptions): void {
  const std = opts.std ?? 0.02;
  const g = opts.generator ?? T.defaultGenerator;
  const projStd = std / Math.sqrt(2 * opts.nLayer);
  for (const [name, p] of model.namedParameters()) {
    if (name.endsWith('c_proj.weight')) fillNormal(p, projStd, g);
    else if (p.ndim >= 2) fillNormal(p, std, g);
    else if (name.endsWith('bias')) p.data().fill(0);
    else if (name.endsWith('weight')) p.data().fill(1);
  }
}

let skipping = 0;

/**
 * Runs `fn` with default initialisation switched off: layers built inside it start with zeros
 * instead of drawing random values (for models whose weights are about to be loaded; drawing
 * 124M normals for GPT-2 small takes seconds). Synchronous; nests.
 */
export function noInit<R>(fn: () => R): R {
  skipping++;
  try { return fn(); } finally { skipping--; }
}

/** True inside {@link noInit}. */
export function initSkipped(): boolean { return skipping > 0; }
