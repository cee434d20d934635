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
 *   gains left out, as weight decay leaves them out);
 * - `kd`: knowledge distillation, T² · KL(softmax(teacher/T) ‖ softmax(student/T)) averaged over the
 *   counted targets (losses/distillation.ts); its weight comes from `distillation.alpha`
 *   (tasks/distillation.ts), the teacher's logits from the task.
 *
 * Language-model heads (lm, the seq2seq decoder) go through {@link lmHeadObjective}: from the final
 * hidden states and the head's weight, `ce` and `zLoss` are computed by `fusedLinearCrossEntropy`, so
 * the [N, V] logits never exist whole (at V = 50,257 they are the largest tensor of a step). Only an
 * objective with `zLoss` but no positive `ce` weight falls back to materialising the logits (the
 * fused loss carries z-loss as a coefficient on its cross-entropy); the penalties need no logits.
 * With a `kd` term, or when each term's tensor is wanted on its own (`separateTerms`: objective
 * attribution), the logits are materialised too and every term is computed apart.
 */
import { ConfigError } from '../errors.js';
import { crossEntropy } from '../losses/cross-entropy.js';
import { distillationLoss, type TeacherTargets } from '../losses/distillation.js';
import { fusedLinearCrossEntropyWithParts } from '../losses/fused-linear-cross-entropy.js';
import { Objective, type ObjectiveTerm } from '../losses/objective.js';
import { l1Penalty, l2Penalty } from '../losses/penalty.js';
import { zLoss } from '../losses/z-loss.js';
import { linear } from '../nn/functional.js';
import * as T from '../tensor/index.js';

export const OBJECTIVE_TERMS = ['ce', 'zLoss', 'l2', 'l1', 'kd'] as const;

/**
 * @throws ConfigError naming `objective.<name>` for an unknown term, or `objective` when no term has
 *   a positive weight.
 */
export function checkObjective(weights: Record<string, number>): void {
  for (const k of Object.keys(weights)) {
    if (!(OBJECTIVE_TERMS as readonly string[]).includes(k)) {
      throw new ConfigError(`objective.${k}: unknown term (known: ${OBJECTIVE_TERMS.join(', ')})`, ['objective', k]);
    }
  }
  if (!Object.values(weights).some((w) => w > 0)) throw new ConfigError(`objective: needs at least one term with a weight > 0, e.g. { "ce": 1 } (got ${JSON.stringify(weights)})`, ['objective']);
}

export interface ClassObjectiveOptions {
  labelSmoothing?: number;
  /** Default -100. */
  ignoreIndex?: number;
  /** Parameters the penalty terms (l1, l2) read; required when the weights name them. */
  params?: readonly T.Tensor[];
  /** The teacher's logits of these rows (the kd term); required when the weights name kd. */
  teacher?: TeacherTargets;
  /** Temperature of the kd term (default 1). */
  temperature?: number;
  /**
   * kd counts every row, those whose target is ignoreIndex too (classification's transfer-set rows:
   * no label, so no ce, but a teacher). Default false: kd leaves ignored rows out, as ce does (lm padding).
   */
  kdAllRows?: boolean;
  /** lm: compute every term apart from materialised logits (no fused head), so `parts` holds each one. */
  separateTerms?: boolean;
}

/** The weighted total, each term's value, and each weighted term's tensor (they sum to the total). */
export interface ObjectiveOutput {
  loss: T.Tensor;
  terms: Record<string, number>;
  parts: Record<string, T.Tensor>;
}

/** The penalty terms over the weight matrices of `options.params`. */
function penaltyTerms(options: ClassObjectiveOptions): Record<string, () => T.Tensor> {
  const matrices = (name: string): T.Tensor[] => {
    if (!options.params) throw new ConfigError(`objective.${name}: this task does not provide parameters for a penalty term`);
    return options.params.filter((p) => p.ndim >= 2);
  };
  return { l2: () => l2Penalty(matrices('l2')), l1: () => l1Penalty(matrices('l1')) };
}

/** The weighted sum of the named terms through the losses layer's Objective. */
function combine(weights: Record<string, number>, available: Record<string, ObjectiveTerm>): ObjectiveOutput {
  const terms: Record<string, ObjectiveTerm> = {};
  for (const k of Object.keys(weights)) {
    if (!(k in available)) throw new ConfigError(`objective.${k}: unknown term (known: ${OBJECTIVE_TERMS.join(', ')})`, ['objective', k]);
    terms[k] = available[k];
  }
  const r = new Objective(weights).compute(terms);
  return { loss: r.total, terms: r.values, parts: r.parts };
}

/**
 * Computes the weighted objective.
 * @param logits [N, C] float32.
 * @param target int32 [N] class indices (ignoreIndex rows carry no loss).
 * @returns the total (scalar, differentiable) and each term's value as a number.
 * @throws ConfigError for a penalty term without `params`, or kd without `teacher`.
 */
export function classObjective(
  logits: T.Tensor,
  target: T.Tensor,
  weights: Record<string, number>,
  options: ClassObjectiveOptions = {},
): ObjectiveOutput {
  const ignoreIndex = options.ignoreIndex ?? -100;
  return combine(weights, {
    ce: () => crossEntropy(logits, target, { ignoreIndex, labelSmoothing: options.labelSmoothing ?? 0 }),
    zLoss: () => zLoss(logits, { coef: 1 }), // the weight is applied by the Objective, like every term's
    kd: () => {
      if (!options.teacher) throw new ConfigError('objective.kd: this task was given no teacher (distillation.teacher)');
      return distillationLoss(logits, options.teacher, { temperature: options.temperature ?? 1, target: options.kdAllRows ? undefined : target, ignoreIndex });
    },
    ...penaltyTerms(options),
  });
}

/**
 * The objective of a language-model head without its [N, V] logits: the same terms and values as
 * `classObjective(hidden · weightᵀ, target, weights, options)`.
 *
 * With a positive `ce` weight a, `fusedLinearCrossEntropy(hidden, weight, target, { zLossCoef: z/a })`
 * gives CE + (z/a)·Z, so a times it is a·CE + z·Z; the logged `ce` and `zLoss` are the fused loss's
 * two parts (zLoss divided by its coefficient: the unweighted value). Without a `ce` weight (zLoss
 * alone), with a kd term or with `separateTerms`, the logits are computed and `classObjective` used.
 * @param hidden [N, C] float32 final hidden states.
 * @param weight [V, C] the LM head's weight (tied: the token embedding).
 * @param target int32 [N] next-token ids (ignoreIndex rows carry no loss).
 * @throws ConfigError for a penalty term without `params`.
 */
export function lmHeadObjective(
  hidden: T.Tensor,
  weight: T.Tensor,
  target: T.Tensor,
  weights: Record<string, number>,
  options: ClassObjectiveOptions = {},
): ObjectiveOutput {
  const a = weights.ce ?? 0;
  if (!(a > 0) || (weights.kd ?? 0) > 0 || options.separateTerms) return classObjective(linear(hidden, weight), target, weights, options);
  const z = weights.zLoss ?? 0;
  const parts = fusedLinearCrossEntropyWithParts(hidden, weight, target, {
    ignoreIndex: options.ignoreIndex ?? -100, labelSmoothing: options.labelSmoothing ?? 0, zLossCoef: z / a,
  });
  // ce and zLoss travel as one term (the fused loss) weighted by a; the penalties are terms of their own.
  const { zLoss: _z, ...rest } = weights;
  const r = combine(rest, { ce: parts.loss, ...penaltyTerms(options) });
  const terms: Record<string, number> = {};
  for (const k of Object.keys(weights)) {
    if (k === 'ce') terms.ce = parts.crossEntropy;
    else if (k === 'zLoss') { if (z > 0) terms.zLoss = parts.zLoss / (z / a); }
    else if (k in r.terms) terms[k] = r.terms[k];
  }
  return { loss: r.loss, terms, parts: r.parts };
}
