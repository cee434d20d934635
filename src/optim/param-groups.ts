/**
 * Named policies that split a model's parameters into a weight-decay group and a no-decay group:
 * - `huggingface` (Hugging Face `Trainer.create_optimizer`): no decay on biases and on the
 *   parameters of normalisation layers, decided here by name — a name ending in `bias`, or with a
 *   path component that contains `norm` (LayerNorm, rms_norm, input_layernorm, norm) or is an
 *   `ln` module (`ln`, `ln1`, `ln_1`, `ln_f`, `lnF`, `attn_ln`).
 * - `nanogpt` (Karpathy's nanoGPT `configure_optimizers`): decay on tensors with ndim >= 2
 *   (matmul weights, embeddings), none on vectors (biases, norm gains).
 * - `none`: one group, everything decays with the given weight decay.
 * Parameters with `requiresGrad` false are left out (both sources filter on `requires_grad`); a
 * tensor listed under two names (tied weights) is taken once.
 */
import { ValueError } from '../errors.js';
import type { Tensor } from '../tensor/index.js';

export const GROUPING_POLICIES = ['huggingface', 'nanogpt', 'none'] as const;
export type GroupingPolicy = (typeof GROUPING_POLICIES)[number];

/** `ln` as a whole path component or one of its `_`-separated words, optionally with a digit / `f` suffix. */
const LN_WORD = /^ln(\d+|f|_?final)?$/i;

/**
 * True when the Hugging Face policy exempts the parameter `name` from weight decay (biases and
 * normalisation-layer parameters; see the module docs).
 */
export function isNoDecayName(name: string): boolean {
  const parts = name.split('.');
  if (parts[parts.length - 1].toLowerCase().endsWith('bias')) return true;
  for (const part of parts) {
    if (part.toLowerCase().includes('norm')) return true;
    if (LN_WORD.test(part) || part.split('_').some((w) => LN_WORD.test(w))) return true;
  }
  return false;
}

/** A parameter group spec any optimiser accepts (SGD, Adam, AdamW all have `weightDecay`). */
export interface DecayGroupSpec {
  name: 'decay' | 'no_decay';
  params: Tensor[];
  weightDecay: number;
}

/** Options of {@link groupParameters}. */
export interface GroupParametersOptions {
  /** 'huggingface' | 'nanogpt' | 'none'. */
  policy: GroupingPolicy;
  /** Weight decay of the decay group (the no-decay group gets 0). */
  weightDecay: number;
}

/**
 * Splits named parameters into parameter groups for an optimiser:
 * `[{ name: 'decay', params, weightDecay }, { name: 'no_decay', params, weightDecay: 0 }]`
 * (both always present, possibly empty; `none` gives only the first). Order within a group follows
 * `namedParameters`.
 * @param namedParameters `[name, tensor]` pairs, e.g. a module's `namedParameters()`.
 * @throws ValueError for an unknown policy, a negative weightDecay, or a malformed entry.
 */
export function groupParameters(namedParameters: Iterable<readonly [string, Tensor]>,
  opts: GroupParametersOptions): DecayGroupSpec[] {
  const where = 'groupParameters';
  if (opts === null || typeof opts !== 'object') throw new ValueError(`${where}: options {policy, weightDecay} are required`);
  const { policy, weightDecay } = opts;
  if (!(GROUPING_POLICIES as readonly string[]).includes(policy)) {
    throw new ValueError(`${where}: unknown policy ${JSON.stringify(policy)} (policy must be one of ${GROUPING_POLICIES.join(', ')})`);
  }
  if (typeof weightDecay !== 'number' || !(weightDecay >= 0)) throw new ValueError(`${where}: invalid weightDecay: ${String(weightDecay)} (weightDecay must be a number >= 0)`);
  const decay: Tensor[] = [];
  const noDecay: Tensor[] = [];
  const seen = new Set<Tensor>();
  let i = 0;
  for (const entry of namedParameters) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || entry[1] === null || typeof entry[1] !== 'object') {
      throw new ValueError(`${where}: namedParameters[${i}] must be a [name, tensor] pair`);
    }
    const [name, p] = entry;
    i++;
    if (!p.requiresGrad || seen.has(p)) continue;
    seen.add(p);
    const exempt = policy === 'huggingface' ? isNoDecayName(name) : policy === 'nanogpt' ? p.ndim < 2 : false;
    (exempt ? noDecay : decay).push(p);
  }
  const groups: DecayGroupSpec[] = [{ name: 'decay', params: decay, weightDecay }];
  if (policy !== 'none') groups.push({ name: 'no_decay', params: noDecay, weightDecay: 0 });
  return groups;
}
