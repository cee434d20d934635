/**
 * Objective attribution (`objectiveAttribution: true`, issue 15): which objective term drives the
 * update. On a logging step, each term's weighted tensor (weight · term, the parts that sum to the
 * loss) is back-propagated alone — one extra backward per term, the graph retained — and the
 * gradient it adds is kept; then the parameters' gradients are put back as they were and the usual
 * backward of the whole loss runs, so training is unchanged. Over the step's micro-batches the
 * per-term gradients g_k add up, and the step's gradient is g = Σ_k g_k. Logged per term:
 *
 *   gradNorm = ‖g_k‖₂ (unscaled by the loss scale)    cosine = g_k · g / (‖g_k‖ ‖g‖)   (0 when a norm is 0)
 *
 * A term with a large norm and a cosine near 1 dominates the update; a negative cosine pulls
 * against it. Data parallelism: this process's micro-batches only (the per-term backwards run
 * without gradient synchronisation).
 */
import * as T from '../tensor/index.js';

/** One term's share of a step's gradient. */
export interface TermAttribution {
  gradNorm: number;
  cosine: number;
}

/** Running per-term gradients of one optimizer step (float64, all parameters flattened). */
export class AttributionAccumulator {
  private readonly sums = new Map<string, Float64Array>();
  private readonly size: number;

  constructor(private readonly params: readonly T.Tensor[]) {
    this.size = params.reduce((a, p) => a + p.numel(), 0);
  }

  /** Each parameter's gradient as a copy (null: none yet). */
  private snapshot(): (Float32Array | null)[] {
    return this.params.map((p) => (p.grad ? Float32Array.from(p.grad.contiguous().data() as Float32Array) : null));
  }

  /**
   * Back-propagates each part alone (graph retained), adds the gradient each one adds to its sum,
   * and restores the parameters' gradients to what they were before.
   * @param parts term name → scalar tensor (weighted term; `scale` applied to each before backward).
   * @param scale what the step applies to a loss before backward (micro-batch weight, loss scale).
   * @param isolate runs a backward without gradient synchronisation (data parallelism), or as is.
   */
  add(parts: Record<string, T.Tensor>, scale: (t: T.Tensor) => T.Tensor, isolate: (fn: () => void) => void = (fn) => fn()): void {
    const before = this.snapshot();
    let prev = before;
    for (const [name, part] of Object.entries(parts)) {
      if (!part.requiresGrad) continue; // a constant term adds no gradient
      isolate(() => T.backward(scale(part), undefined, { retainGraph: true }));
      const now = this.snapshot();
      let acc = this.sums.get(name);
      if (!acc) this.sums.set(name, (acc = new Float64Array(this.size)));
      let o = 0;
      for (let i = 0; i < now.length; i++) {
        const a = now[i], b = prev[i], n = this.params[i].numel();
        if (a) for (let j = 0; j < n; j++) acc[o + j] += a[j] - (b ? b[j] : 0);
        o += n;
      }
      prev = now;
    }
    this.params.forEach((p, i) => {
      const b = before[i];
      if (!b) p.clearGrad();
      else if (p.grad) (p.grad.data() as Float32Array).set(b);
    });
  }

  /**
   * Each term's gradient norm and cosine with the sum of all terms' gradients.
   * @param lossScale divides the norms (the gradients were computed on the scaled loss).
   */
  result(lossScale = 1): Record<string, TermAttribution> {
    const total = new Float64Array(this.size);
    for (const g of this.sums.values()) for (let i = 0; i < this.size; i++) total[i] += g[i];
    let tt = 0;
    for (let i = 0; i < this.size; i++) tt += total[i] * total[i];
    const out: Record<string, TermAttribution> = {};
    for (const [name, g] of this.sums) {
      let gg = 0, gt = 0;
      for (let i = 0; i < this.size; i++) { gg += g[i] * g[i]; gt += g[i] * total[i]; }
      const denom = Math.sqrt(gg) * Math.sqrt(tt);
      out[name] = { gradNorm: Math.sqrt(gg) / lossScale, cosine: denom > 0 ? gt / denom : 0 };
    }
    return out;
  }
}
