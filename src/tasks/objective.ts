/**
 * The objective of the classification-style tasks (lm, classification, seq2seq, extractive-qa):
 * named terms computed from logits and integer targets, combined with the config's weights,
 * `{ ce: 1, zLoss: 1e-4 }` → total = Σ weight · term. Each term's unweighted value is returned for
 * the log, so a user sees what the final loss is made of.
 *
 * Terms: `ce` (cross-entropy, PyTorch semantics incl. ignoreIndex and label smoothing) and `zLoss`
 * (PaLM, Chowdhery et al. 2022 §5: mean over rows of log²Z, Z = Σ exp(logits); padded rows included).
 */
import { ConfigError } from '../errors.js';
import { crossEntropy } from '../losses/cross-entropy.js';
import { zLoss } from '../losses/z-loss.js';
import * as T from '../tensor/index.js';

export const OBJECTIVE_TERMS = ['ce', 'zLoss'] as const;

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

/**
 * Computes the weighted objective.
 * @param logits [N, C] float32.
 * @param target int32 [N] class indices (ignoreIndex rows carry no loss).
 * @returns the total (scalar, differentiable) and each term's value as a number.
 */
export function classObjective(
  logits: T.Tensor,
  target: T.Tensor,
  weights: Record<string, number>,
  options: { labelSmoothing?: number; ignoreIndex?: number } = {},
): { loss: T.Tensor; terms: Record<string, number> } {
  const ignoreIndex = options.ignoreIndex ?? -100;
  let total: T.Tensor | null = null;
  const terms: Record<string, number> = {};
  for (const [name, w] of Object.entries(weights)) {
    let term: T.Tensor;
    if (name === 'ce') term = crossEntropy(logits, target, { ignoreIndex, labelSmoothing: options.labelSmoothing ?? 0 });
    else if (name === 'zLoss') term = zLoss(logits, { coef: 1 }); // the weight is applied below, like every term's
    else throw new ConfigError(`objective.${name}: unknown term (known: ${OBJECTIVE_TERMS.join(', ')})`);
    terms[name] = term.item();
    if (w === 0) continue;
    const weighted = w === 1 ? term : T.mulScalar(term, w);
    total = total === null ? weighted : T.add(total, weighted);
  }
  return { loss: total!, terms };
}
