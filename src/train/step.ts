/**
 * One optimizer step of the training path (DESIGN.md "One training path"), shared by the Trainer and
 * the learning-rate range test:
 *
 *   count targets of every micro-batch → w_i = count_i / Σ count (optim's accumulationWeights; the
 *   sum over every process through `reduceTargetCount`) → for each micro-batch: forward, backward of
 *   scaler.scale(w_i · loss_i) → scaler.unscale_ → decide (callbacks: skip / rollback) → clip →
 *   scaler.step (skipped on overflow) → scaler.update → zeroGrad.
 *
 * Weighing by counted targets makes accumulation exact: Σ_i w_i · mean_i = (Σ_i sum_i) / Σ_i count_i,
 * the mean over every counted target of the step, whatever each micro-batch's padding or ignored
 * labels — so the gradient is the one of a single batch holding all of them, and the logged loss is
 * the step's token mean. Dividing each micro-batch's mean by gradientAccumulationSteps instead (the
 * earlier rule) gives targets of short micro-batches more weight. Terms that are not per-target means
 * (the l1 / l2 penalties) get weights that sum to 1 over the step, as before; zLoss, a mean over every
 * row of a micro-batch, is weighed by the same shares.
 *
 * A micro-batch without a counted target contributes nothing and is not run (its mean is 0/0); a step
 * without any has loss NaN and no gradient, which the NaN guard skips.
 */
import { autocast, type AutocastDtype } from '../amp/autocast.js';
import { accumulationWeights } from '../optim/accumulation.js';
import { Adam, AdamW } from '../optim/adam.js';
import { clipGradNorm } from '../optim/clip-grad.js';
import type { GradScaler } from '../optim/grad-scaler.js';
import * as T from '../tensor/index.js';
import type { Task } from '../tasks/types.js';
import type { BackwardDecision } from './callbacks.js';
import type { AnyOptimizer } from './optimizer.js';
import { AttributionAccumulator, type TermAttribution } from './attribution.js';

/** What a step trains with. */
export interface StepParts {
  task: Task;
  optimizer: AnyOptimizer;
  /** Loss scaling; a disabled scaler (scale 1) does nothing. */
  scaler: GradScaler;
  /** Mixed precision: forward and backward under `autocast({ dtype })`; null/absent: float32. */
  autocast?: AutocastDtype | null;
  params: readonly [string, T.Tensor][];
  /** Clip the global gradient norm to this; 0 or Infinity: no clipping (the norm is still measured). */
  maxGradNorm: number;
  /**
   * The step's total of counted targets over every process, given this process's. Default: the
   * local count (one process). Data-parallel training passes an all-reduce sum here and then sums
   * (not averages) the gradients across ranks: each rank's gradients are already divided by the
   * global count.
   */
  reduceTargetCount?: (localCount: number) => number;
  /** Data parallelism: gradient synchronisation across processes (train/data-parallel.ts). */
  sync?: GradSync;
  /** Objective attribution on this step: each term's gradient norm and cosine (train/attribution.ts). */
  attribution?: boolean;
}

/**
 * Gradient synchronisation of data-parallel training: micro-steps but the last run in `noSync`
 * (gradients accumulate locally), the last one's backward starts the all-reduces, `synchronize()`
 * waits for them; `reduceStep` then sums the logged statistics over the processes.
 */
export interface GradSync {
  noSync<T>(fn: () => T): T;
  synchronize(): void;
  reduceStep(stats: { loss: number; tokens: number; terms: Record<string, number> }): void;
}

/** What the loss looked like once every micro-batch was back-propagated (for callbacks). */
export interface StepLoss {
  /** Token mean of the step (this process's share of the global mean when counts are reduced). */
  loss: number;
  terms: Record<string, number>;
}

/** The outcome of one optimizer step. */
export interface StepResult extends StepLoss {
  /** Tokens the model read (for tokens/s). */
  tokens: number;
  /** Counted targets of this process's micro-batches. */
  targets: number;
  /** Global L2 norm of the unscaled gradient before clipping. */
  gradNorm: number;
  /** The loss scale this step's gradients were computed with (1 when scaling is off). */
  lossScale: number;
  /** The scaler found a NaN / inf gradient: the optimizer step was skipped and the scale lowered. */
  overflow: boolean;
  /** What the callbacks decided (or the overflow's skip). */
  decision: BackwardDecision;
  /** With `attribution`: each objective term's gradient norm and cosine with the step's gradient. */
  attribution?: Record<string, TermAttribution>;
}

/**
 * Runs one optimizer step over `batches` (the step's micro-batches, already read). The caller sets
 * the learning rate before and advances its schedule after.
 * @param decide called with the accumulated, unscaled, unclipped gradients in place (not on
 *   overflow): may skip the update or report a rollback (then nothing else happens to the step).
 */
export function runTrainingStep(parts: StepParts, batches: readonly unknown[],
  decide?: (loss: StepLoss) => BackwardDecision | void): StepResult {
  const { task, optimizer, scaler } = parts;
  const counts = batches.map((b) => task.countTargets(b));
  const local = counts.reduce((a, b) => a + b, 0);
  const total = parts.reduceTargetCount ? parts.reduceTargetCount(local) : local;
  // accumulationWeights normalises by the sum of the list: append the other ranks' share.
  const weights = accumulationWeights(total > local ? [...counts, total - local] : counts);
  const lossScale = scaler.getScale();
  const r: StepResult = {
    loss: total > 0 ? 0 : NaN, terms: {}, tokens: 0, targets: local, gradNorm: 0, lossScale, overflow: false, decision: {},
  };
  const { sync } = parts;
  let last = -1; // the micro-batch whose backward synchronises (data parallelism)
  batches.forEach((_, i) => { if (weights[i] > 0) last = i; });
  const attribution = parts.attribution ? new AttributionAccumulator(parts.params.map(([, p]) => p)) : null;
  T.scope(() => {
    batches.forEach((batch, i) => {
      const w = weights[i];
      if (w === 0) return;
      const run = (): void => {
        const out = autocast({ dtype: parts.autocast ?? 'bfloat16', enabled: !!parts.autocast }, () => {
          const o = task.loss(batch, attribution ? { separateTerms: true } : undefined);
          const scaled = (t: T.Tensor) => scaler.scale(w === 1 ? t : T.mulScalar(t, w));
          if (attribution && o.parts) attribution.add(o.parts, scaled, sync ? (fn) => sync.noSync(fn) : undefined);
          T.backward(scaled(o.loss));
          return o;
        });
        r.loss += w * out.loss.item();
        for (const [n, v] of Object.entries(out.terms)) r.terms[n] = (r.terms[n] ?? 0) + w * v;
        r.tokens += out.tokens;
      };
      if (sync && i !== last) sync.noSync(run);
      else run();
    });
    if (sync) {
      sync.synchronize();
      sync.reduceStep(r);
    }
    if (attribution) r.attribution = attribution.result(lossScale);
    scaler.unscale_(optimizer);
    r.overflow = scaler.foundInf(optimizer) === true;
    if (!r.overflow) r.decision = decide?.({ loss: r.loss, terms: r.terms }) ?? {};
    if (r.decision.rollbackTo !== undefined) {
      optimizer.zeroGrad(); // the rollback restored the scaler with everything else
      return;
    }
    // AdamW applies the clipping coefficient as it reads each gradient (deferTo): one pass over all
    // gradients fewer (gpt2: 124M values). Nothing reads the gradients between here and zeroGrad().
    const deferTo = optimizer instanceof AdamW || optimizer instanceof Adam ? optimizer : undefined;
    r.gradNorm = clipGradNorm(parts.params.map(([, p]) => p), parts.maxGradNorm > 0 ? parts.maxGradNorm : Infinity, { deferTo });
    if (!r.decision.skip) scaler.step(optimizer);
    scaler.update();
    if (r.overflow) {
      r.decision = { skip: true, reason: `gradient overflow (inf/NaN) at loss scale ${lossScale}: optimizer step skipped, scale now ${scaler.getScale()}` };
    }
    optimizer.zeroGrad();
  });
  return r;
}
