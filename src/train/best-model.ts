/**
 * The best checkpoint of a run (Hugging Face `TrainerState.best_metric` / `best_model_checkpoint`):
 * each checkpoint written at an evaluation is a candidate with that evaluation's value of
 * `metricForBestModel`; a candidate replaces the best one when strictly better (greater when
 * `greaterIsBetter`, else smaller), as Hugging Face's Trainer decides. The first finite value is the
 * first best. Evaluations without the metric, or with a non-finite value, are not candidates.
 */
import { ConfigError } from '../errors.js';
import type { EvalMetrics } from '../tasks/types.js';

export interface BestModelState {
  /** The best value of the metric so far (null before the first candidate). */
  bestMetric: number | null;
  /** The checkpoint folder that holds it, as written (`<outputDir>/checkpoint-<step>`). */
  bestModelCheckpoint: string | null;
}

export class BestModelTracker implements BestModelState {
  bestMetric: number | null = null;
  bestModelCheckpoint: string | null = null;

  /**
   * @param metric key of the evaluation's metrics (`loss`, `accuracy`, …).
   * @param greaterIsBetter larger values are better.
   */
  constructor(readonly metric: string, readonly greaterIsBetter: boolean) {}

  /**
   * Offers a checkpoint written right after `metrics` were computed.
   * @returns true when it became the best.
   * @throws ConfigError naming metricForBestModel when the evaluation has no such metric.
   */
  offer(checkpoint: string, metrics: EvalMetrics): boolean {
    const v = metrics[this.metric];
    if (v === undefined) {
      throw new ConfigError(`metricForBestModel: the evaluation has no metric "${this.metric}" (it has ${Object.keys(metrics).join(', ')})`);
    }
    if (!Number.isFinite(v)) return false;
    const better = this.bestMetric === null || (this.greaterIsBetter ? v > this.bestMetric : v < this.bestMetric);
    if (better) {
      this.bestMetric = v;
      this.bestModelCheckpoint = checkpoint;
    }
    return better;
  }

  state(): BestModelState {
    return { bestMetric: this.bestMetric, bestModelCheckpoint: this.bestModelCheckpoint };
  }

  load(s: Partial<BestModelState>): void {
    this.bestMetric = s.bestMetric ?? null;
    this.bestModelCheckpoint = s.bestModelCheckpoint ?? null;
  }
}
