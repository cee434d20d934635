/**
 * Cross-entropy between logits and class-index or class-probability targets, with PyTorch 1.13
 * semantics (`torch.nn.functional.cross_entropy`; formulas in ../shared/golden/README.md), written
 * with tensor ops: the fused log-softmax + NLL op for index targets, logSoftmax for probabilities.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { classRows, classTargets, type ClassLossCommon, parseClassOptions, parseSmoothing } from './class-options.js';
import { checkFloat, type Reduction } from './common.js';

/**
 * Where the class dimension is. 'NC' (default, PyTorch's layout): logits [N, C] or [N, C, d1, …],
 * class dim 1 ('NCd' is accepted as a synonym). 'BTV': language-model form [B, T, V] (or any
 * [..., V]), class dim last — the same as flattening to [B·T, V]. A 1-D logits vector [C] is one
 * sample with a 0-d target, in either layout.
 */
export type CrossEntropyLayout = 'NC' | 'NCd' | 'BTV';

export interface CrossEntropyOptions extends ClassLossCommon {
  /** Label smoothing ε in [0, 1] (Szegedy et al. 2016; PyTorch's mixing): default 0. */
  labelSmoothing?: number;
  /** Class-dimension layout, default 'NC' (see {@link CrossEntropyLayout}). */
  layout?: CrossEntropyLayout;
}

/** The class dimension of `logits` under `layout`. */
export function classDimOf(fn: string, logits: T.Tensor, layout: unknown): number {
  if (layout !== 'NC' && layout !== 'NCd' && layout !== 'BTV') {
    throw new ValueError(`${fn}: option 'layout' must be 'NC', 'NCd' or 'BTV', got ${JSON.stringify(layout)}`);
  }
  if (logits.ndim === 0) throw new ShapeError(`${fn}: 'logits' must have a class dimension, got shape []`);
  return layout === 'BTV' || logits.ndim === 1 ? logits.ndim - 1 : 1;
}

/**
 * Per-row values [N] reduced: the target's shape ('none'), Σ, or Σ / Σ counted weights ('mean').
 * With Σ counted weights = 0 the mean is NaN, as PyTorch 1.13, which divides the NLL term (then
 * Σ 0·lp = 0) and the smoothing term by it separately: 0/0 + x/0 = NaN (its gradient: NaN on
 * counted rows, 0 on ignored ones).
 */
export function reduceRows(loss: T.Tensor, weight: T.Tensor, reduction: Reduction, shape: readonly number[]): T.Tensor {
  if (reduction === 'none') return T.reshape(loss, shape);
  const s = T.sum(loss);
  if (reduction === 'sum') return s;
  const D = T.sum(weight);
  return D.item() === 0 ? T.mulScalar(T.div(s, D), NaN) : T.div(s, D);
}

/**
 * Cross-entropy loss computed from log-sum-exp (never log(softmax)).
 *
 * Shapes (layout 'NC'): logits [N, C] or [N, C, d1, …] (float32 / float64); class-index target
 * int32 [N] or [N, d1, …]; class-probability target (float) of the logits' shape. Layout 'BTV':
 * logits [B, T, V], index target [B, T]. Output: scalar for 'mean' / 'sum', the target's shape
 * (index targets) or the logits' shape without the class dim (probabilities) for 'none'.
 *
 * Index targets, per position i (w = weight or ones, ε = labelSmoothing):
 *   loss_i = (1−ε)·(−w[y_i]·lp_i[y_i]) + (ε/C)·(−Σ_c w[c]·lp_ic), 0 where y_i = ignoreIndex;
 *   with ε = 0 the smoothing term is absent (a −inf logit cannot make it 0·inf).
 *   'mean' = Σ loss_i / Σ_{i counted} w[y_i]; NaN when that sum is 0. Every target ignored: zero
 *   gradient. Counted targets whose weights are all 0: the gradient is w[y]·(−g/0) = NaN on their
 *   rows, as PyTorch 1.13 computes it (checked against torch). ignoreIndex may be any integer, even a
 *   class id.
 * Probability targets p: q = (1−ε)·p + ε/C, loss_i = −Σ_c w[c]·q_ic·lp_ic, 'mean' divides by the
 *   number of positions (not by weights); targets are used as given; ignoreIndex does not apply.
 * Non-finite logits follow IEEE arithmetic on these formulas as PyTorch does: −inf at non-target
 * classes is fine; a row with +inf, NaN or only −inf gives NaN.
 *
 * Differentiable w.r.t. logits (and a probability target). Source: PyTorch 1.13
 * `cross_entropy` = `log_softmax` + `nll_loss` (+ the label-smoothing term).
 * @throws ValueError for an unknown reduction / layout, labelSmoothing outside [0, 1], a non-float
 *   logits tensor or a non-integer ignoreIndex; ShapeError when target or weight shapes do not fit
 *   (both shapes named); IndexError for a target outside [0, C) that is not ignoreIndex (position
 *   and value named).
 */
export function crossEntropy(logits: T.Tensor, target: T.Tensor, options: CrossEntropyOptions = {}): T.Tensor {
  const fn = 'crossEntropy';
  checkFloat(fn, 'logits', logits);
  const cd = classDimOf(fn, logits, options.layout ?? 'NC');
  const C = logits.shape[cd];
  const eps = parseSmoothing(fn, options.labelSmoothing);
  const o = parseClassOptions(fn, options, C);
  if (target.dtype === 'float32' || target.dtype === 'float64') {
    if (!T.sameShape(target.shape, logits.shape)) {
      throw new ShapeError(`${fn}: a probability target must have the logits' shape: logits ${fmtShape(logits.shape)}, target ${fmtShape(target.shape)}`);
    }
    return probabilityCrossEntropy(logits, target, cd, eps, o.weight, o.reduction);
  }
  const tShape = logits.shape.filter((_, d) => d !== cd);
  if (!T.sameShape(target.shape, tShape)) {
    throw new ShapeError(`${fn}: logits ${fmtShape(logits.shape)} (class dim ${cd}) need a class-index target of shape ${fmtShape(tShape)}, got ${fmtShape(target.shape)}`);
  }
  const t = classTargets(fn, target, tShape, C, o.ignoreIndex);
  const rows = T.logSoftmaxNll(classRows(logits, cd), t, { weight: o.weight, ignoreIndex: o.ignoreIndex, labelSmoothing: eps });
  return reduceRows(rows.loss, rows.weight, o.reduction, tShape);
}

/**
 * Probability targets (PyTorch 1.13 `cross_entropy_loss_prob_target`): q = (1−ε)·p + ε/C,
 * loss = −Σ_c (lp_c·q_c)·w[c] over the class dim; 'mean' over positions (NaN when there are none).
 */
function probabilityCrossEntropy(logits: T.Tensor, target: T.Tensor, cd: number, eps: number, weight: T.Tensor | null,
  reduction: Reduction): T.Tensor {
  const C = logits.shape[cd];
  const q = eps > 0 ? T.addScalar(T.mulScalar(target, 1 - eps), eps / C) : target;
  let terms = T.mul(T.logSoftmax(logits, cd), q);
  if (weight) terms = T.mul(terms, T.reshape(weight, [C, ...logits.shape.slice(cd + 1).map(() => 1)]));
  const loss = T.neg(T.sum(terms, cd));
  return reduction === 'none' ? loss : reduction === 'sum' ? T.sum(loss) : T.mean(loss);
}
