/**
 * The objective of the tasks (lm, classification, seq2seq, extractive-qa): named terms computed from
 * logits, integer targets and (for penalties) the model's parameters, combined by the losses layer's
 * `Objective` with the config's weights — `{ ce: 1, zLoss: 1e-4, l2: 0.01 }` → total = Σ weight ·
 * term. Each term's unweighted value is returned for the log, so a user sees what the loss is made of.
 *
 * Terms:
 * - `ce`: cross-entropy (PyTorch semantics, ignoreIndex, label smoothing = labelSmoothingFactor);
 * - `zLoss`: PaLM's auxiliary term (Chowdhery et al. 2022 §5), mean over rows of log²Z,
 *   Z = Σ exp(logits) (padded rows included);
 * - `l2` / `l1`: ½·Σ p² (gradient p, as weight decay) / Σ |p| over the weight matrices (parameters with ndim ≥ 2; biases and norm
 *   gains left out, as weight decay leaves them out).
 */
import { ConfigError } from '../errors.js';
import { crossEntropy } from '../losses/cross-entropy.js';
import { Objective } from '../losses/objective.js';
import { l1Penalty, l2Penalty } from '../losses/penalty.js';
import { zLoss } from '../losses/z-loss.js';
import * as T from '../tensor/index.js';

export const OBJECTIVE_TERMS = ['ce', 'zLoss', 'l2', 'l1'] as const;

/**
 * @throws ConfigError naming `objective.<name>` for an unknown term, or `objective` when no term has
 *   a positive weight.
 */
export function checkObjective(weights: Record<string, number>): void {
  for (const k of Object.keys(weights)) {
    if (!(OBJECTIVE_TERMS as readonly string[]).includes(k)) {
      throw new ConfigError(`objective.${k}: unknown term (known: ${OBJECTIVE_TERMS.join(', ')})`);
    }
  }
  if (!Object.values(weights).some((w) => w > 0)) throw new ConfigError('objective: needs at least one term with a weight > 0');
}

export interface ClassObjectiveOptions {
  labelSmoothing?: number;
  /** Default -100. */
  ignoreIndex?: number;
  /** Parameters the penalty terms (l1, l2) read; required when the weights name them. */
  params?: readonly T.Tensor[];
}

/**
 * Computes the weighted objective.
 * @param logits [N, C] float32.
 * @param target int32 [N] class indices (ignoreIndex rows carry no loss).
 * @returns the total (scalar, differentiable) and each term's value as a number.
 * @throws ConfigError for a penalty term without `params`.
 */
export function classObjective(
  logits: T.Tensor,
  target: T.Tensor,
  weights: Record<string, number>,
  options: ClassObjectiveOptions = {},
): { loss: T.Tensor; terms: Record<string, number> } {
  const ignoreIndex = options.ignoreIndex ?? -100;
  const matrices = (name: string): T.Tensor[] => {
    if (!options.params) throw new ConfigError(`objective.${name}: this task does not provide parameters for a penalty term`);
    return options.params.filter((p) => p.ndim >= 2);
  };
  const all: Record<string, () => T.Tensor> = {
    ce: () => crossEntropy(logits, target, { ignoreIndex, labelSmoothing: options.labelSmoothing ?? 0 }),
    zLoss: () => zLoss(logits, { coef: 1 }), // the weight is applied by the Objective, like every term's
    l2: () => l2Penalty(matrices('l2')),
    l1: () => l1Penalty(matrices('l1')),
  };
  const terms: Record<string, () => T.Tensor> = {};
  for (const k of Object.keys(weights)) {
    if (!(k in all)) throw new ConfigError(`objective.${k}: unknown term (known: ${OBJECTIVE_TERMS.join(', ')})`);
    terms[k] = all[k];
  }
  const r = new Objective(weights).compute(terms);
  return { loss: r.total, terms: r.values };
}
