/**
 * Vanishing and exploding gradient detectors: pure state machines fed with gradient norms at logging
 * steps (per layer group) or every step (the global norm). They return warnings; they never change
 * training.
 *
 * - Vanishing: a watched (lower) group whose gradient norm is below `threshold` for `patience`
 *   consecutive updates. One warning per streak, at the update that completes it.
 * - Exploding: a norm that is non-finite or above `threshold` (one warning when it first crosses,
 *   again only after it went back below), or more than `growthFactor` times the LARGEST norm of the
 *   same name over the previous `window` updates. Comparing with the recent maximum rather than
 *   the previous value keeps the ordinary ups and downs of minibatch gradients (a layer whose
 *   gradient dipped and comes back) from counting as growth; only a norm beyond anything seen
 *   lately does. Previous norms below `growthFloor` (practically zero) are not compared.
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

  /** JSON state (for an exact resume). */
  stateDict(): { streak: Record<string, number> } {
    return { streak: Object.fromEntries(this.streak) };
  }

  loadStateDict(s: { streak?: Record<string, number> }): void {
    this.streak.clear();
    for (const [k, v] of Object.entries(s.streak ?? {})) this.streak.set(k, v);
  }
}

/** JSON state of an {@link ExplodingDetector}. */
export interface ExplodingState {
  history: Record<string, number[]>;
  above: string[];
  quietUntil: Record<string, number>;
  updates: number;
}

export class ExplodingDetector {
  private readonly history = new Map<string, number[]>();
  private readonly above = new Set<string>();
  private readonly quietUntil = new Map<string, number>();
  private updates = 0;

  /**
   * @param threshold a norm above it (or non-finite) is exploding.
   * @param growthFactor a norm more than this times the largest of the previous `window` norms of
   *   the same name is exploding (> 1).
   * @param window how many previous updates the growth rule compares with (integer >= 1); after a
   *   growth warning the same name is quiet for this many updates.
   * @param growthFloor a largest previous norm below this is not compared (practically zero).
   */
  constructor(readonly threshold: number, readonly growthFactor: number, readonly window = 20, readonly growthFloor = 0) {}

  /** Feeds one update's norms (every step, or every log); returns the warnings it raises. */
  update(step: number, norms: readonly NamedNorm[]): GradWarning[] {
    const out: GradWarning[] = [];
    this.updates++;
    for (const { name, gradNorm } of norms) {
      const hist = this.history.get(name) ?? [];
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
      const ref = hist.length > 0 ? Math.max(...hist) : 0;
      if (!high && ref > 0 && ref >= this.growthFloor && gradNorm > this.growthFactor * ref && this.updates >= (this.quietUntil.get(name) ?? 0)) {
        this.quietUntil.set(name, this.updates + this.window);
        out.push({
          kind: 'exploding', step, layer: name,
          message: `exploding gradients: ${name} gradient norm ${fmt(gradNorm)} is ${fmt(gradNorm / ref)}x the largest of the previous ${hist.length} (${fmt(ref)})`,
        });
      }
      if (Number.isFinite(gradNorm)) {
        hist.push(gradNorm);
        if (hist.length > this.window) hist.shift();
        this.history.set(name, hist);
      }
    }
    return out;
  }

  /** JSON state (for an exact resume). */
  stateDict(): ExplodingState {
    return {
      history: Object.fromEntries([...this.history].map(([k, v]) => [k, [...v]])),
      above: [...this.above],
      quietUntil: Object.fromEntries(this.quietUntil),
      updates: this.updates,
    };
  }

  loadStateDict(s: Partial<ExplodingState>): void {
    this.history.clear();
    for (const [k, v] of Object.entries(s.history ?? {})) this.history.set(k, [...v]);
    this.above.clear();
    for (const k of s.above ?? []) this.above.add(k);
    this.quietUntil.clear();
    for (const [k, v] of Object.entries(s.quietUntil ?? {})) this.quietUntil.set(k, v);
    this.updates = s.updates ?? 0;
  }
}
