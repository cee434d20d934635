/**
 * Vanishing and exploding gradient detectors: pure state machines fed with gradient norms at logging
 * steps (per layer group) or every step (the global norm). They return warnings; they never change
 * training.
 *
 * - Vanishing: a watched (lower) group whose gradient norm is below `threshold` for `patience`
 *   consecutive updates. One warning per streak, at the update that completes it.
 * - Exploding: a norm that is non-finite or above `threshold` (one warning when it first crosses,
 *   again only after it went back below), or that grew by more than `growthFactor` since the
 *   previous update of the same name (from a previous norm of at least `growthFloor`, so that norms
 *   that are practically zero do not count as growing).
 */

/** A warning a detector raises. */
export interface GradWarning {
  kind: 'vanishing' | 'exploding';
  step: number;
  /** The layer group (or `total`). */
  layer: string;
  message: string;
}

/** A named gradient norm. */
export interface NamedNorm {
  name: string;
  gradNorm: number;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return x === 0 ? '0' : Math.abs(x) >= 1e-2 && Math.abs(x) < 1e4 ? String(Number(x.toPrecision(3))) : x.toExponential(2);
}

export class VanishingDetector {
  private readonly streak = new Map<string, number>();
  private readonly watched: Set<string>;

  /**
   * @param watched the groups to watch (the lower layers).
   * @param threshold a norm strictly below it counts (finite, >= 0).
   * @param patience consecutive counts that raise the warning (integer >= 1).
   */
  constructor(watched: Iterable<string>, readonly threshold: number, readonly patience: number) {
    this.watched = new Set(watched);
  }

  /** Feeds one logging step's norms; returns the warnings it raises. */
  update(step: number, norms: readonly NamedNorm[]): GradWarning[] {
    const out: GradWarning[] = [];
    for (const { name, gradNorm } of norms) {
      if (!this.watched.has(name)) continue;
      const low = Number.isFinite(gradNorm) && gradNorm < this.threshold;
      const n = low ? (this.streak.get(name) ?? 0) + 1 : 0;
      this.streak.set(name, n);
      if (n === this.patience) {
        out.push({
          kind: 'vanishing', step, layer: name,
          message: `vanishing gradients: ${name} gradient norm ${fmt(gradNorm)} below ${fmt(this.threshold)} for ${n} consecutive logs`,
        });
      }
    }
    return out;
  }
}

export class ExplodingDetector {
  private readonly previous = new Map<string, number>();
  private readonly above = new Set<string>();

  /**
   * @param threshold a norm above it (or non-finite) is exploding.
   * @param growthFactor a norm more than this times the previous one (> 1) is exploding.
   * @param growthFloor previous norms below this are not compared (default 0: all are).
   * @param what how the updates are spaced, for messages ('log', 'step').
   */
  constructor(readonly threshold: number, readonly growthFactor: number, readonly growthFloor = 0, readonly what = 'log') {}

  /** Feeds one update's norms; returns the warnings it raises. */
  update(step: number, norms: readonly NamedNorm[]): GradWarning[] {
    const out: GradWarning[] = [];
    for (const { name, gradNorm } of norms) {
      const prev = this.previous.get(name);
      const high = !Number.isFinite(gradNorm) || gradNorm > this.threshold;
      if (high && !this.above.has(name)) {
        this.above.add(name);
        out.push({
          kind: 'exploding', step, layer: name,
          message: `exploding gradients: ${name} gradient norm ${fmt(gradNorm)} ${Number.isFinite(gradNorm) ? `above ${fmt(this.threshold)}` : 'is not finite'}`,
        });
      } else if (!high) {
        this.above.delete(name);
      }
      if (!high && prev !== undefined && prev > 0 && prev >= this.growthFloor && gradNorm > this.growthFactor * prev) {
        out.push({
          kind: 'exploding', step, layer: name,
          message: `exploding gradients: ${name} gradient norm grew ${fmt(gradNorm / prev)}x since the previous ${this.what} (${fmt(prev)} -> ${fmt(gradNorm)})`,
        });
      }
      if (Number.isFinite(gradNorm)) this.previous.set(name, gradNorm);
    }
    return out;
  }
}
