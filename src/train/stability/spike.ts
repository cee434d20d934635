/**
 * Loss-spike detection against a moving window of recent good losses: a loss is a spike when it is
 * above mean + k·std of the last `window` good losses (std with Bessel's correction, n − 1). Only
 * losses judged good enter the window, so a spike does not raise the bar for the next one. Nothing
 * is judged until the window is full: early training losses fall fast and a short history would
 * make the bar meaningless.
 */
import { ValueError } from '../../errors.js';

export class LossSpikeDetector {
  private readonly values: number[] = [];

  /**
   * @param window number of recent good losses (integer >= 2).
   * @param k standard deviations above the mean (> 0).
   * @throws ValueError for values out of range.
   */
  constructor(readonly window: number, readonly k: number) {
    if (!Number.isInteger(window) || window < 2) throw new ValueError(`LossSpikeDetector: window must be an integer >= 2, got ${window}`);
    if (!(k > 0)) throw new ValueError(`LossSpikeDetector: k must be > 0, got ${k}`);
  }

  /** Mean and standard deviation (n − 1) of the window, or null until it is full. */
  stats(): { mean: number; std: number } | null {
    const n = this.values.length;
    if (n < this.window) return null;
    let mean = 0;
    for (const v of this.values) mean += v;
    mean /= n;
    let ss = 0;
    for (const v of this.values) ss += (v - mean) * (v - mean);
    return { mean, std: Math.sqrt(ss / (n - 1)) };
  }

  /** The spike threshold mean + k·std, or null while the window fills. */
  threshold(): number | null {
    const s = this.stats();
    return s === null ? null : s.mean + this.k * s.std;
  }

  /** Whether `loss` is a spike (a non-finite loss is one once the window is full). */
  isSpike(loss: number): boolean {
    const t = this.threshold();
    if (t === null) return false;
    return !Number.isFinite(loss) || loss > t;
  }

  /** Adds a good loss (the oldest one leaves a full window). Non-finite values are ignored. */
  push(loss: number): void {
    if (!Number.isFinite(loss)) return;
    this.values.push(loss);
    if (this.values.length > this.window) this.values.shift();
  }

  /** The window's losses, oldest first (a copy). */
  history(): number[] {
    return [...this.values];
  }

  loadHistory(values: readonly number[]): void {
    this.values.length = 0;
    for (const v of values.slice(-this.window)) this.push(v);
  }
}
