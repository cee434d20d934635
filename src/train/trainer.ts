/**
 * The training loop (DESIGN.md "Training"): optimizer steps over accumulated micro-batches
 * (train/step.ts), the learning-rate schedule, evaluation every `evalSteps`, the metrics log, atomic
 * checkpoints with `saveTotalLimit`, exact resume (train/state.ts), the run-folder policy
 * (train/run-folder.ts), early stopping and a final evaluation.
 *
 * Hook points, so that other features enter without forking the loop:
 * - `callbacks` (train/callbacks.ts): stability guards, early stopping, the CLI's progress bar;
 * - `gradScaler`: loss scaling (default: a disabled GradScaler, scale 1); its scale is the one
 *   logged as `lossScale` and saved in checkpoints;
 * - `reduceTargetCount`: the step's count of targets over every process (data parallelism);
 * - data parallelism (train/data-parallel.ts): under mpirun the Trainer joins the job, the task reads
 *   its shard, gradients are synchronised through the step's `sync` hook, and only rank 0 writes
 *   metrics, checkpoints and the final model;
 * - messages go to the library logger (src/logger.ts), never to stderr directly. The report
 *   (src/report, a layer above) is written by whoever runs the trainer, e.g. the CLI.
 *
 * Each optimizer step runs inside `T.scope(...)`, so every temporary buffer of the forward and
 * backward passes returns to the pool when the step ends.
 */
import { basename, dirname, resolve, join } from 'node:path';
import { setImmediate as turnOfEventLoop } from 'node:timers/promises';
import { ConfigError, ValueError } from '../errors.js';
import { suggestField } from '../models/config-suggest.js';
import { limitHeapGrowth } from './heap-policy.js';
import { log } from '../logger.js';
import { autocast, type AutocastDtype } from '../amp/autocast.js';
import { GradScaler } from '../optim/grad-scaler.js';
import type { LrSchedule } from '../optim/schedules.js';
import { setScheduledLr } from '../optim/scheduled-lr.js';
import * as T from '../tensor/index.js';
import { runUnlessAborted, type EvalMetrics, type Task } from '../tasks/types.js';
import { EarlyStopping, type BackwardDecision, type TrainerCallback, type TrainerControl } from './callbacks.js';
import { pruneCheckpoints } from './checkpoint.js';
import { bestMetricKey, greaterIsBetter, type TrainConfig } from './config.js';
import { BestModelTracker } from './best-model.js';
import { addStep, emptyWindow, windowRecord } from './log-window.js';
import { MetricsLogger, type MetricsRecord } from './metrics.js';
import { createLrSchedule, createOptimizer, totalSteps, type AnyOptimizer } from './optimizer.js';
import { incompleteCheckpointsAfter, openRunFolder, resumeCheckpoint, writeRunFiles } from './run-folder.js';
import { lockRunFolder } from './run-lock.js';
import { joinLaunchedJob, TrainerDataParallel } from './data-parallel.js';
import type { ProcessGroup } from '../distributed/index.js';
import { loadModelWeights, readCheckpoint, saveFinalModel, restoreSnapshot, takeSnapshot, writeCheckpoint, type Snapshot, type TrainingParts } from './state.js';
import { StabilityCallback } from './stability/callback.js';
import { DivergenceCallback, firstNonFiniteParameter } from './stability/divergence.js';
import { TrainingDivergedError } from './stability/errors.js';
import { runTrainingStep } from './step.js';
import { checkResumeIntact } from './checkpoint-integrity.js';
import { checkResumeSchedule, checkpointStep, explainWeightMismatch, nothingToTrain, precisionChange } from './resume-checks.js';
import { attachTeacher } from './teacher.js';
import { fromTrainerInit, isTrainerInit, type TrainerInit } from './library.js';

export interface TrainerOptions {
  config: TrainConfig;
  task: Task;
  callbacks?: TrainerCallback[];
  /** true: resume from the latest checkpoint in outputDir (none: start fresh); a path: that checkpoint. */
  resume?: boolean | string;
  /** Loss scaling (mixed precision). Default: disabled (scale 1, no effect). */
  gradScaler?: GradScaler;
  /** Total counted targets of a step over every process, given this process's (default: unchanged). */
  reduceTargetCount?: (localCount: number) => number;
  /** Stop (as if killed) after this many optimizer steps of this process: for resume tests. */
  stopAfterSteps?: number;
  /**
   * Stops training when aborted (the CLI aborts it on Ctrl-C): the step under way finishes, a
   * checkpoint of that step is written (unless saveStrategy is "no", no step was trained, or the
   * step's checkpoint exists), and train() returns with `interrupted` set — no final evaluation, no
   * final model. Resuming from that checkpoint gives what an uninterrupted run gives. One process:
   * under data parallelism ranks could see it at different steps.
   */
  signal?: AbortSignal;
  /**
   * Data parallelism: the process group to train in. Default: the job this process was launched
   * into by mpirun (OMPI_COMM_WORLD_* environment), else one process. null: one process.
   */
  processGroup?: ProcessGroup | null;
}

/** The evaluation a Ctrl-C came during: mid-run, the final one, or loadBestModelAtEnd's of the best checkpoint. */
export type InterruptedDuring = 'evaluation' | 'final evaluation' | 'evaluation of the best model';

export interface TrainResult {
  /** Completed optimizer steps. */
  step: number;
  totalSteps: number;
  /** Metrics of the final evaluation. */
  finalMetrics: EvalMetrics | null;
  /** The last checkpoint written. */
  checkpoint: string | null;
  metricsPath: string;
  /** Why training ended before totalSteps, if it did. */
  stoppedEarly: string | null;
  /**
   * The line said when a resumed checkpoint is already at or past totalSteps (nothing trained,
   * nothing in the run folder touched), else null.
   */
  nothingToTrain: string | null;
  /** Stopped by `signal` (Ctrl-C); `checkpoint` then holds this step when one was saved. */
  interrupted: boolean;
  /** Where a Ctrl-C stopped the run when it came during an evaluation (absent: between steps). */
  interruptedDuring?: InterruptedDuring;
  /** loadBestModelAtEnd interrupted while evaluating the best model: its checkpoint folder. */
  bestCheckpoint?: string;
  /** Seconds of this process's training. */
  seconds: number;
  /** The step this process started training from: 0, or the resumed checkpoint's step. */
  startStep: number;
}

export class Trainer implements TrainerControl {
  readonly config: TrainConfig;
  readonly task: Task;
  readonly outputDir: string;
  readonly params: [string, T.Tensor][];
  readonly optimizer: AnyOptimizer;
  readonly schedule: LrSchedule;
  readonly gradScaler: GradScaler;
  /** The autocast dtype of training and evaluation (config bf16 / fp16), null for float32. */
  readonly autocastDtype: AutocastDtype | null;
  readonly totalSteps: number;
  readonly metrics: MetricsLogger;
  private readonly parts: TrainingParts;
  private readonly callbacks: TrainerCallback[];
  private _step = 0;
  private window = emptyWindow();
  private stopReason: string | null = null;
  private pendingSkips = 0;
  private elapsedBefore = 0;
  private startedAt = Date.now();
  /** The step train() began at (the resumed checkpoint's, or 0). */
  private startStep = 0;
  private windowStart = Date.now();
  private lastCheckpoint: string | null = null;
  /**
   * Best checkpoint by metricForBestModel (trainer_state.json's best_metric / best_model_checkpoint),
   * tracked with loadBestModelAtEnd (then saveTotalLimit never deletes it).
   */
  readonly best: BestModelTracker;
  private readonly divergence: DivergenceCallback | null = null;

  private readonly options: TrainerOptions;
  private signal: AbortSignal | undefined;
  /** Data parallelism (null: one process). */
  readonly dataParallel: TrainerDataParallel | null;
  /** This process writes files and logs (rank 0, or the only process). */
  readonly isMain: boolean;

  /**
   * @param init a config and a task (the CLI), or Hugging Face-style a model, `args`
   *   (TrainingArguments) and datasets (train/library.ts).
   */
  constructor(init: TrainerOptions | TrainerInit) {
    const options: TrainerOptions = (this.options = isTrainerInit(init) ? fromTrainerInit(init) : init);
    const cfg = (this.config = options.config);
    this.signal = options.signal;
    this.task = options.task;
    this.outputDir = resolve(cfg.outputDir);
    this.params = [...this.task.model.namedParameters()];
    if (this.params.length === 0) throw new ValueError('Trainer: the model has no parameters');
    // Hugging Face's Trainer: gradient_checkpointing=True calls model.gradient_checkpointing_enable().
    if (cfg.gradientCheckpointing && !(this.task.model.gradientCheckpointingEnable?.(true))) {
      throw new ConfigError('gradientCheckpointing: the model has no Transformer blocks to checkpoint');
    }
    const pg = options.processGroup !== undefined ? options.processGroup : joinLaunchedJob(cfg);
    this.dataParallel = pg && pg.size > 1 ? new TrainerDataParallel(pg, this.task, this.params, cfg) : null;
    this.isMain = this.dataParallel?.isMain ?? true;
    const optimizer = createOptimizer(cfg, this.params);
    this.optimizer = this.dataParallel ? this.dataParallel.wrapOptimizer(optimizer, cfg.zeroStage) : optimizer;
    this.totalSteps = totalSteps(cfg, this.task.batchesPerEpoch); // after sharding: global batches
    this.schedule = createLrSchedule(cfg, this.totalSteps);
    const warmup = cfg.data.blockSizeWarmup, batches = this.totalSteps * cfg.gradientAccumulationSteps;
    if (warmup && warmup.batches > batches && this.isMain) {
      log.warn(`warning: data.blockSizeWarmup.batches: ${warmup.batches} is more than the ${batches} training batches of this run (${this.totalSteps} steps × gradientAccumulationSteps ${cfg.gradientAccumulationSteps}); its blocks never reach data.blockSize ${cfg.data.blockSize}`);
    }
    this.autocastDtype = cfg.bf16 ? 'bfloat16' : cfg.fp16 ? 'float16' : null;
    // fp16 trains with PyTorch's dynamic loss scaling (the GradScaler's defaults); bf16 needs none.
    this.gradScaler = options.gradScaler ?? new GradScaler({ enabled: cfg.fp16 });
    this.parts = { task: this.task, params: this.params, optimizer: this.optimizer, schedule: this.schedule, scaler: this.gradScaler };
    this.metrics = new MetricsLogger(join(this.outputDir, 'metrics.jsonl'), this.isMain);
    this.callbacks = [...(options.callbacks ?? [])];
    if (cfg.stability) this.callbacks.push(new StabilityCallback(cfg.stability, cfg.loggingSteps, cfg.gradientAccumulationSteps));
    const div = cfg.stability?.divergence;
    if (div && div.lossFactor !== null) this.callbacks.push((this.divergence = new DivergenceCallback(div.lossFactor, div.window)));
    checkMetricForBestModel(cfg, this.task);
    this.task.checkBeforeTraining?.({ evalDuringTraining: cfg.evalStrategy === 'steps' });
    attachTeacher(cfg, this.task, this.outputDir);
    if (cfg.earlyStoppingPatience !== null) {
      this.callbacks.push(new EarlyStopping(bestMetricKey(cfg.metricForBestModel), cfg.earlyStoppingPatience, greaterIsBetter(cfg), cfg.earlyStoppingThreshold));
    }
    this.best = new BestModelTracker(bestMetricKey(cfg.metricForBestModel), greaterIsBetter(cfg));
  }

  /**
   * The line for a resume whose checkpoint is already at or past totalSteps (train() then trains
   * nothing and touches nothing), else null.
   * @param from the checkpoint train() resumes from (default: the one `resume` names now).
   */
  nothingToTrain(from: string | null = resumeCheckpoint(this.outputDir, this.options.resume)): string | null {
    if (!from) return null;
    // Named as the user gave it: the --resume path, else the checkpoint under outputDir as written
    // in the config (it was the absolute path this Trainer works with).
    const resume = this.options.resume;
    const shown = typeof resume === 'string' ? resume : dirname(from) === this.outputDir ? join(this.config.outputDir, basename(from)) : from;
    return nothingToTrain(shown, checkpointStep(from), this.totalSteps, this.config);
  }

  /** Sets the signal that stops training between steps (see `TrainerOptions.signal`), after construction. */
  stopOn(signal: AbortSignal | undefined): void {
    this.signal = signal;
  }

  /** Adds a callback after construction (it runs after those given to the constructor). */
  addCallback(c: TrainerCallback): void {
    this.callbacks.push(c);
  }

  get step(): number {
    return this._step;
  }

  // ---------------------------------------------------------------- TrainerControl

  logRecord(record: MetricsRecord, terminalLine?: string): void {
    this.metrics.log(record);
    if (terminalLine !== undefined && this.isMain) log.warn(terminalLine);
  }

  logEvent(kind: string, message: string): void {
    this.metrics.log({ event: kind, step: this._step, message, time: Date.now() });
    if (this.isMain) log.warn(`[${kind}] step ${this._step}: ${message}`);
  }

  requestStop(reason: string): void {
    this.stopReason ??= reason;
  }

  skipBatches(n: number): void {
    this.pendingSkips += n;
  }

  snapshot(): Snapshot {
    return takeSnapshot(this.parts);
  }

  restore(snapshot: unknown): void {
    restoreSnapshot(this.parts, snapshot as Snapshot);
  }

  // ---------------------------------------------------------------- state

  private elapsed(): number {
    return this.elapsedBefore + (Date.now() - this.startedAt) / 1000;
  }

  /**
   * Writes checkpoint-<step> and prunes old ones (keeping the best).
   * @param metrics the evaluation of this step, when the checkpoint is written at one: a candidate
   *   for the best model.
   */
  save(metrics: EvalMetrics | null = null): string {
    const callbacks: Record<string, unknown> = {};
    for (const c of this.callbacks) if (c.name && c.state) callbacks[c.name] = c.state();
    // The candidate is judged before writing, so that its own trainer_state.json names it when it is the best.
    const path = join(this.outputDir, `checkpoint-${this._step}`);
    const asWritten = join(this.config.outputDir, basename(path));
    if (metrics && this.config.loadBestModelAtEnd) this.best.offer(asWritten, metrics);
    if (!this.isMain) {
      // ZeRO-1's whole optimizer state is gathered by every rank (a collective); rank 0 writes.
      if (this.config.zeroStage === 1) this.optimizer.stateDict();
      this.lastCheckpoint = path;
      for (const c of this.callbacks) c.onSave?.(this, path);
      return path;
    }
    writeCheckpoint(this.outputDir, this.parts, {
      step: this._step, logWindow: this.window, pendingSkips: this.pendingSkips, elapsed: this.elapsed(), callbacks,
      logHistory: this.metrics.history, ...this.best.state(),
    }, this.totalSteps, this.config, this.config);
    this.lastCheckpoint = path;
    pruneCheckpoints(this.outputDir, this.config.saveTotalLimit, [path, this.best.bestModelCheckpoint]);
    for (const c of this.callbacks) c.onSave?.(this, path);
    return path;
  }

  private resumeFrom(dir: string): void {
    // A damaged checkpoint (truncated, unreadable) is named with an earlier intact one to resume from
    // (trial s9 F12), before any of it is read into the model.
    checkResumeIntact(dir, (p) => (dirname(p) === this.outputDir ? join(this.config.outputDir, basename(p)) : p));
    const scheduleChanged = checkResumeSchedule(dir, this.config);
    let st: ReturnType<typeof readCheckpoint>;
    try {
      st = readCheckpoint(dir, this.parts);
    } catch (e) {
      throw explainWeightMismatch(e, dir, this.config);
    }
    this._step = st.step;
    this.window = { ...emptyWindow(), ...st.logWindow };
    this.pendingSkips = st.pendingSkips;
    this.elapsedBefore = st.elapsed;
    for (const c of this.callbacks) if (c.name && c.loadState && st.callbacks[c.name] !== undefined) c.loadState(st.callbacks[c.name]);
    this.metrics.reset(st.logHistory);
    this.best.load(st);
    this.lastCheckpoint = dir;
    if (this.isMain) log.info(`resumed from ${dir} at step ${this._step}`);
    const switched = precisionChange(dir, this.config);
    if (switched !== null && this.isMain) log.info(switched);
    if (scheduleChanged !== null && this.isMain) log.info(scheduleChanged);
  }

  // ---------------------------------------------------------------- loop

  /** One optimizer step. @returns false when a callback rolled the step back (nothing to log). */
  private trainStep(): boolean {
    const stepNo = this._step + 1;
    for (const c of this.callbacks) c.onStepBegin?.(this, stepNo);
    for (; this.pendingSkips > 0; this.pendingSkips--) this.task.nextBatch();
    const batches = Array.from({ length: this.config.gradientAccumulationSteps }, () => this.task.nextBatch());
    const lr = setScheduledLr(this.optimizer, this.schedule);
    const r = runTrainingStep({
      task: this.task, optimizer: this.optimizer, scaler: this.gradScaler, params: this.params, autocast: this.autocastDtype,
      maxGradNorm: this.config.maxGradNorm, sync: this.dataParallel ?? undefined,
      attribution: this.config.objectiveAttribution && stepNo % this.config.loggingSteps === 0,
      reduceTargetCount: this.options.reduceTargetCount ?? (this.dataParallel ? (n) => this.dataParallel!.reduceTargetCount(n) : undefined),
    }, batches, ({ loss, terms }) => {
      let decision: BackwardDecision = {};
      for (const c of this.callbacks) {
        const d = c.onBackward?.(this, { step: stepNo, loss, terms, params: this.params });
        if (d && d.skip) decision = d;
        if (d && d.rollbackTo !== undefined) break;
      }
      return decision;
    });
    if (r.decision.rollbackTo !== undefined) {
      this._step = r.decision.rollbackTo; // the schedule, data and RNG were restored with the snapshot
      return false;
    }
    this.schedule.step();
    this._step = stepNo;
    if (!r.decision.skip) {
      // The guard judged the loss and gradients before the update; an update can still ruin the weights.
      const bad = firstNonFiniteParameter(this.params);
      if (bad) {
        const where = this.lastCheckpoint ? `; the last checkpoint, ${this.lastCheckpoint}, is intact` : '';
        throw new TrainingDivergedError(`training diverged at step ${stepNo}: the optimizer update made ${bad.name}[${bad.index}] = ${bad.value} ` +
          `(loss before it ${r.loss.toPrecision(4)}, gradient norm ${r.gradNorm.toPrecision(4)}, learning rate ${lr})${where}; lower learningRate or raise warmupSteps`, stepNo);
      }
    }
    if (r.decision.skip) this.logEvent('skip', r.decision.reason ?? 'optimizer step skipped by a callback');
    addStep(this.window, r);
    for (const c of this.callbacks) c.onStepEnd?.(this, { step: stepNo, loss: r.loss, terms: r.terms, gradNorm: r.gradNorm, lr, skipped: !!r.decision.skip });
    return true;
  }

  private logTrain(): void {
    if (this.window.steps === 0) return;
    const now = Date.now();
    const rec = windowRecord(this.window, Math.max(1e-3, (now - this.windowStart) / 1000), {
      step: this._step, epoch: round(this.task.epoch(), 4), lr: this.schedule.lrAt(this._step - 1), time: now, elapsed: round(this.elapsed(), 3),
    });
    this.metrics.log(rec);
    for (const c of this.callbacks) c.onLog?.(this, rec);
    this.window = emptyWindow();
    this.windowStart = now;
  }

  /** Runs the task's evaluation in eval mode without gradients; logs an eval line. */
  evaluate(maxBatches?: number, extra: MetricsRecord = {}): EvalMetrics {
    this.task.model.eval();
    const t0 = Date.now();
    let m: EvalMetrics;
    try {
      m = this.inEvalMode(() => this.task.evaluate(maxBatches));
    } finally {
      this.task.model.train();
    }
    return this.evaluated(m, extra, t0);
  }

  /** `fn` without gradients, under the run's autocast dtype (evaluation). */
  private inEvalMode<R>(fn: () => R): R {
    return T.noGrad(() => autocast({ dtype: this.autocastDtype ?? 'bfloat16', enabled: this.autocastDtype !== null }, fn));
  }

  /**
   * {@link evaluate} that lets the event loop turn between batches (tasks with `evaluateSteps`)
   * and gives up when `signal` aborts meanwhile (Ctrl-C): then nothing is logged.
   * @returns the metrics, or null when interrupted.
   */
  private async evaluateUnlessInterrupted(maxBatches?: number, extra: MetricsRecord = {}): Promise<EvalMetrics | null> {
    const signal = this.signal;
    if (!signal || !this.task.evaluateSteps) return this.evaluate(maxBatches, extra);
    this.task.model.eval();
    const t0 = Date.now();
    let m: EvalMetrics | null;
    try {
      m = await runUnlessAborted(this.task.evaluateSteps(maxBatches), signal, (next) => this.inEvalMode(next));
    } finally {
      this.task.model.train();
    }
    return m === null ? null : this.evaluated(m, extra, t0);
  }

  /** Logs an evaluation's line and tells the callbacks. */
  private evaluated(m: EvalMetrics, extra: MetricsRecord, t0: number): EvalMetrics {
    this.metrics.log({ split: 'eval', step: this._step, epoch: round(this.task.epoch(), 4), ...m, ...extra, time: Date.now(), elapsed: round(this.elapsed(), 3) });
    this.windowStart += Date.now() - t0; // evaluation time is not training throughput
    for (const c of this.callbacks) c.onEvaluate?.(this, m);
    return m;
  }

  /**
   * Trains to the end (or until stopped) and returns where everything was written.
   * @throws TrainingDivergedError (after writing a `diverged` event to metrics.jsonl) when the
   *   guards gave up, an update made a parameter non-finite, or the loss ended far above its start.
   */
  async train(): Promise<TrainResult> {
    // Aborted before it began: nothing in the folder is touched (an overwriteOutputDir run deletes old checkpoints).
    if (this.signal?.aborted) return { ...this.result(null, Date.now()), interrupted: true };
    // Rank 0 writes the folder, so it alone holds the folder's lock (src/train/run-lock.ts).
    const release = this.isMain ? lockRunFolder(this.outputDir) : null;
    try {
      return await this.trainLoop();
    } catch (e) {
      if (e instanceof TrainingDivergedError) this.metrics.log({ event: 'diverged', step: e.step, message: e.message, time: Date.now() });
      throw e;
    } finally {
      release?.();
    }
  }

  private async trainLoop(): Promise<TrainResult> {
    const cfg = this.config;
    // Rank 0 applies the run-folder policy; the other ranks only find the same checkpoint.
    const from = this.isMain ? openRunFolder(this.outputDir, this.options.resume, cfg.overwriteOutputDir) : resumeCheckpoint(this.outputDir, this.options.resume);
    this.dataParallel?.checkSameJob(cfg, this.params, from && resolve(from), this.task);
    const nothing = this.nothingToTrain(from);
    if (nothing !== null) {
      if (this.isMain) log.warn(nothing);
      return { ...this.result(null, Date.now()), step: checkpointStep(from!)!, checkpoint: from, nothingToTrain: nothing };
    }
    if (from) this.resumeFrom(from);
    else this.metrics.reset();
    if (from && this.isMain && this.options.resume === true) {
      for (const n of incompleteCheckpointsAfter(this.outputDir, this._step)) {
        log.warn(`--resume: skipped ${join(this.outputDir, n)}: it has no trainer_state.json (an interrupted save, or the file was removed); resumed from the newest complete checkpoint instead`);
      }
    }
    if (this.isMain) writeRunFiles(this.outputDir, cfg, this.task.artifacts());
    limitHeapGrowth(); // resident memory flat over a long run (src/train/heap-policy.ts)
    const t0 = (this.startedAt = this.windowStart = Date.now());
    this.startStep = this._step;
    this.task.model.train();
    for (const c of this.callbacks) c.onTrainBegin?.(this);
    let stepsHere = 0;
    let lastDue = { evaluate: false, save: false };
    while (this._step < this.totalSteps && this.stopReason === null) {
      // Let the event loop turn every step: timers, I/O, signals and the garbage collector's
      // FinalizationRegistry cleanup run (a loop that never yields starves them all).
      await turnOfEventLoop();
      if (this.signal?.aborted) return this.interrupted(stepsHere, t0);
      const epochBefore = this.task.epoch();
      if (!this.trainStep()) continue; // rolled back: nothing to log, evaluate or save
      stepsHere++;
      const s = this._step;
      if (s % cfg.loggingSteps === 0) this.logTrain();
      const due = lastDue = this.due(s, epochBefore);
      // The last step's evaluation is the final one below (on every batch).
      let metrics: EvalMetrics | null = null;
      if (due.evaluate && s < this.totalSteps) {
        metrics = await this.evaluateUnlessInterrupted(cfg.maxEvalBatches);
        if (metrics === null) return this.interrupted(stepsHere, t0, 'evaluation');
      }
      if (due.save && s < this.totalSteps) this.save(metrics);
      if (this.options.stopAfterSteps !== undefined && stepsHere >= this.options.stopAfterSteps && s < this.totalSteps) {
        return this.result(null, t0);
      }
    }
    this.logTrain();
    // Before the final evaluation and checkpoint: a diverged run ends here, its last checkpoint intact.
    if (this.stopReason === null) this.divergence?.check(this._step);
    // A task without evaluation data (a library Trainer given no evalDataset) ends without one.
    const canEvaluate = this.task.canEvaluate !== false;
    let finalMetrics = canEvaluate ? await this.evaluateUnlessInterrupted(undefined, { final: true }) : null;
    if (canEvaluate && finalMetrics === null) return this.interrupted(stepsHere, t0, 'final evaluation');
    // The final checkpoint is a best-model candidate when the strategy evaluates at this step.
    const candidate = lastDue.evaluate && this._step === this.totalSteps && cfg.evalStrategy !== 'no' ? finalMetrics : null;
    // The last step gets a checkpoint unless saveStrategy is "no" (Hugging Face: no checkpoint at
    // all; the final model below is what eval / predict / generate load).
    if (cfg.saveStrategy !== 'no' && (this.lastCheckpoint === null || !this.lastCheckpoint.endsWith(`checkpoint-${this._step}`) || candidate)) this.save(candidate);
    if (cfg.loadBestModelAtEnd && finalMetrics && this.best.bestModelCheckpoint !== null) {
      const best = await this.loadBestModel(finalMetrics);
      if (best === null) return { ...this.interrupted(stepsHere, t0, 'evaluation of the best model'), bestCheckpoint: this.bestDir() };
      finalMetrics = best;
    }
    if (this.isMain) saveFinalModel(this.outputDir, this.parts);
    for (const c of this.callbacks) c.onTrainEnd?.(this);
    return this.result(finalMetrics, t0);
  }

  /** Whether the strategies evaluate / save after step `s` (epoch: the step finished an epoch). */
  private due(s: number, epochBefore: number): { evaluate: boolean; save: boolean } {
    const cfg = this.config;
    const epochEnded = Math.floor(this.task.epoch() + 1e-9) > Math.floor(epochBefore + 1e-9);
    const at = (strategy: 'steps' | 'epoch' | 'no', every: number): boolean =>
      strategy === 'steps' ? s % every === 0 : strategy === 'epoch' ? epochEnded || s === this.totalSteps : false;
    return { evaluate: at(cfg.evalStrategy, cfg.evalSteps), save: at(cfg.saveStrategy, cfg.saveSteps) };
  }

  /**
   * loadBestModelAtEnd: copies the best checkpoint's weights into the model (unless the model is
   * already its weights), logs a `best_model` event and evaluates it.
   * @returns the metrics of the model training ends with, or null when a Ctrl-C stopped its evaluation.
   */
  private async loadBestModel(last: EvalMetrics): Promise<EvalMetrics | null> {
    const dir = this.bestDir();
    const msg = `loaded the best model from ${this.best.bestModelCheckpoint} (${this.best.metric} ${this.best.bestMetric})`;
    if (dir === this.lastCheckpoint) {
      this.logEvent('best_model', `${msg}: the final weights`);
      return last;
    }
    loadModelWeights(dir, this.parts);
    this.logEvent('best_model', msg);
    return this.evaluateUnlessInterrupted(undefined, { bestModel: true });
  }

  /** The best checkpoint's folder under outputDir (loadBestModelAtEnd). */
  private bestDir(): string {
    return join(this.outputDir, basename(this.best.bestModelCheckpoint!));
  }

  private result(finalMetrics: EvalMetrics | null, t0: number): TrainResult {
    return {
      step: this._step, totalSteps: this.totalSteps, finalMetrics, checkpoint: this.lastCheckpoint,
      metricsPath: this.metrics.path, stoppedEarly: this.stopReason, nothingToTrain: null, interrupted: false, seconds: (Date.now() - t0) / 1000,
      startStep: this.startStep,
    };
  }

  /**
   * Ends an aborted run between steps: saves this step (its log window inside the checkpoint, so a
   * resume logs what an uninterrupted run logs), then notes an `interrupted` event.
   */
  private interrupted(stepsHere: number, t0: number, during?: InterruptedDuring): TrainResult {
    const have = this.lastCheckpoint !== null && basename(this.lastCheckpoint) === `checkpoint-${this._step}`;
    // The model holds the best checkpoint's weights once they are loaded: never saved as this step's.
    if (stepsHere > 0 && this.config.saveStrategy !== 'no' && !have && during !== 'evaluation of the best model') this.save();
    // The CLI aborts with the signal's name: SIGTERM (docker stop, preemption) is logged as such.
    // (SIGPIPE: the CLI's output pipe was closed, `| head`.)
    const reason = this.signal?.reason;
    const by = reason === 'SIGTERM' || reason === 'SIGPIPE' ? reason : 'Ctrl-C';
    const message = `training interrupted (${by})${during ? ` during the ${during}` : ''}`;
    this.metrics.log({ event: 'interrupted', step: this._step, message, time: Date.now() });
    return { ...this.result(null, t0), interrupted: true, ...(during ? { interruptedDuring: during } : {}) };
  }
}

/**
 * A `metricForBestModel` that no evaluation produces would leave early stopping idle in silence.
 * @throws ConfigError naming the field, the task's metrics and the nearest one.
 */
function checkMetricForBestModel(cfg: TrainConfig, task: Task): void {
  if (cfg.earlyStoppingPatience !== null && cfg.evalStrategy === 'no') {
    throw new ConfigError(`earlyStoppingPatience: early stopping watches evaluations, and evalStrategy is "no" (got earlyStoppingPatience ${cfg.earlyStoppingPatience})`, ['earlyStoppingPatience']);
  }
  const names = task.metricNames;
  const m = bestMetricKey(cfg.metricForBestModel);
  if (names === undefined || names.includes(m)) return;
  const hint = suggestField(m, names);
  throw new ConfigError(`metricForBestModel: the ${task.name} task's evaluation gives no "${m}" (it gives ${names.join(', ')})${hint ? `; did you mean ${hint}?` : ''}`, ['metricForBestModel']);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
