/**
 * `Objective`: the training loss as named, weighted terms (DESIGN.md "Losses"). It returns the total
 * to back-propagate and each term's detached value, so logs and reports show what the loss is made of.
 *
 *   const obj = new Objective({ ce: 1, zLoss: 1e-4, l2: 0.01 });
 *   const { total, values } = obj.compute({ ce: crossEntropy(logits, y), zLoss: zLoss(logits, { coef: 1 }),
 *     l2: () => l2Penalty(params) });
 *   T.backward(total);   // values = { ce: 2.31, zLoss: 41.2, l2: 380.5 }, contributions = weighted
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';

/** A term: a scalar tensor, or a function computing it (not called when its weight is 0). */
export type ObjectiveTerm = T.Tensor | (() => T.Tensor);

export interface ObjectiveResult {
  /** Σ weight·term over terms with a non-zero weight: the scalar to back-propagate. */
  total: T.Tensor;
  /** The total as a number. */
  totalValue: number;
  /** Each term's unweighted value (detached). Zero-weight terms given as functions are absent. */
  values: Record<string, number>;
  /** Each term's weight·value (what it adds to the total; 0 for zero-weight terms). */
  contributions: Record<string, number>;
  /**
   * Each term with a non-zero weight as the tensor weight·term that went into `total` (they sum to
   * it): what a per-term gradient (objective attribution) back-propagates.
   */
  parts: Record<string, T.Tensor>;
}

export class Objective {
  /** The weight of each term, by name. */
  readonly weights: Readonly<Record<string, number>>;

  /**
   * @param weights term name → weight (finite number; 0 keeps a term for logging only and leaves it
   *   out of the total, so a NaN in it cannot reach the gradient).
   * @throws ValueError for an empty name or a non-finite weight (the term named).
   */
  constructor(weights: Record<string, number>) {
    if (weights === null || typeof weights !== 'object') throw new ValueError(`Objective: weights must be an object of name → number, got ${String(weights)}`);
    for (const [k, w] of Object.entries(weights)) {
      if (k.length === 0) throw new ValueError('Objective: a term name is empty');
      if (typeof w !== 'number' || !Number.isFinite(w)) throw new ValueError(`Objective: the weight of term '${k}' must be a finite number, got ${String(w)}`);
    }
    this.weights = Object.freeze({ ...weights });
  }

  /** The term names, in the order the weights were given. */
  get names(): string[] {
    return Object.keys(this.weights);
  }

  /**
   * Combines the terms. Every weighted term must be given; a term without a weight is an error
   * (catches typos such as `zloss` for `zLoss`).
   * @throws ValueError for a missing or unknown term or a non-tensor; ShapeError for a term that is
   *   not a scalar (its shape named).
   */
  compute(terms: Record<string, ObjectiveTerm>): ObjectiveResult {
    for (const k of Object.keys(terms)) {
      if (!(k in this.weights)) throw new ValueError(`Objective: term '${k}' has no weight (known terms: ${this.names.join(', ') || 'none'})`);
    }
    const values: Record<string, number> = {};
    const contributions: Record<string, number> = {};
    const parts: Record<string, T.Tensor> = {};
    let total: T.Tensor | null = null;
    for (const k of this.names) {
      if (!(k in terms)) throw new ValueError(`Objective: term '${k}' (weight ${this.weights[k]}) was not given`);
      const w = this.weights[k];
      const given = terms[k];
      if (w === 0 && typeof given === 'function') { contributions[k] = 0; continue; }
      const t = typeof given === 'function' ? given() : given;
      if (!(t instanceof T.Tensor)) throw new ValueError(`Objective: term '${k}' must be a tensor, got ${typeof t}`);
      if (t.numel() !== 1) throw new ShapeError(`Objective: term '${k}' must be a scalar, got shape ${fmtShape(t.shape)}`);
      values[k] = t.item();
      contributions[k] = w === 0 ? 0 : w * values[k];
      if (w === 0) continue;
      const wt = w === 1 ? T.reshape(t, []) : T.mulScalar(T.reshape(t, []), w);
      parts[k] = wt;
      total = total ? T.add(total, wt) : wt;
    }
    const tot = total ?? T.scalar(0);
    return { total: tot, totalValue: tot.item(), values, contributions, parts };
  }
}
