/**
 * Loss-spike detection against a moving window of recent losses: a loss is above the bar when it
 * exceeds mean + k·std of the last `window` accepted losses (std with Bessel's correction, n − 1),
 * and a SPIKE when `patience` consecutive losses are above the bar. One loss above the bar is a
 * suspect: a single hard batch (a misclassified example when the loss is near zero) is not a
 * spike, and when the next loss is back under the bar the suspects join the window as the real
 * data they are — leaving them out would shrink the window's spread until ordinary hard batches
 * look like spikes. The losses of a spike never enter the window, so it does not raise the bar for
 * the next one. Nothing is judged until the window is full: early training losses fall fast and a
 * short history would make the bar meaningless.
 */
import { ValueError } from '../../errors.js';

/** What one loss is, for {@link LossSpikeDetector.observe}. */
export type SpikeVerdict = 'ok' | 'suspect' | 'spike';

export class LossSpikeDetector {
  private readonly values: number[] = [];
  /** Consecutive losses above the bar, not yet judged. */
  private readonly pending: number[] = [];

  /**
   * @param window number of recent good losses (integer >= 2).
   * @param k standard deviations above the mean (> 0).
   * @throws ValueError for values out of range.
   */
  constructor(readonly window: number, readonly k: number, readonly patience = 1) {
    if (!Number.isInteger(window) || window < 2) throw new ValueError(`LossSpikeDetector: window must be an integer >= 2, got ${window}`);
    if (!(k > 0)) throw new ValueError(`LossSpikeDetector: k must be > 0, got ${k}`);
    if (!Number.isInteger(patience) || patience < 1) throw new ValueError(`LossSpikeDetector: patience must be an integer >= 1, got ${patience}`);
  }

  /**
   * Judges the next loss: 'ok' (under the bar, or the window still filling; pending suspects join
   * the window), 'suspect' (above the bar, fewer than `patience` in a row), or 'spike' (the
   * `patience`-th in a row; the suspects are dropped). A non-finite loss is above any bar.
   */
  observe(loss: number): SpikeVerdict {
    if (!this.isSpike(loss)) {
      for (const v of this.pending) this.push(v);
      this.pending.length = 0;
      this.push(loss);
      return 'ok';
    }
    this.pending.push(loss);
    if (this.pending.length < this.patience) return 'suspect';
    this.pending.length = 0;
    return 'spike';
  }

  /** Suspects waiting for the next loss (a copy). */
  suspects(): number[] {
    return [...this.pending];
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

  loadHistory(values: readonly number[], suspects: readonly number[] = []): void {
    this.values.length = 0;
    for (const v of values.slice(-this.window)) this.push(v);
    this.pending.length = 0;
    this.pending.push(...suspects);
  }
}
