/**
 * The training loop (DESIGN.md "Training"): gradient accumulation, optimiser + schedule + gradient
 * clipping, evaluation every `evalSteps`, the metrics log, a progress bar, atomic checkpoints with
 * `saveTotalLimit`, exact resume, early stopping, a final evaluation and the run report.
 *
 * Each optimizer step runs inside `T.scope(...)`, so every temporary buffer of the forward and
 * backward passes returns to the pool when the step ends (parameters, gradients and optimiser state
 * are kept tensors).
 *
 * Exact resume: a checkpoint holds the parameters (float32, bit for bit), the optimiser state, the
 * schedule's step counter, the data position and every RNG state (the tensor layer's default
 * generator and the task's samplers), the partial sums of the current logging window and the whole
 * log history. Resuming restores all of them and rewrites metrics.jsonl from the log history, so
 * the resumed run computes exactly what the uninterrupted run computes.
 */
import * as fs from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, ValueError } from '../errors.js';
import { clipGradNorm } from '../optim/clip-grad.js';
import type { OptimizerStateDict } from '../optim/optimizer.js';
import type { LrSchedule } from '../optim/schedules.js';
import * as T from '../tensor/index.js';
import type { EvalMetrics, Task } from '../tasks/types.js';
import type { BackwardDecision, TrainerCallback, TrainerControl } from './callbacks.js';
import { EarlyStopping } from './callbacks.js';
import { StabilityCallback } from './stability/callback.js';
import {
  copyInto, latestCheckpoint, loadCheckpoint, pruneCheckpoints, removeStaleTemporaries, saveCheckpoint, toSafe,
} from './checkpoint.js';
import { greaterIsBetter, type TrainConfig } from './config.js';
import { MetricsLogger, type MetricsRecord } from './metrics.js';
import {
  createLrSchedule, createOptimizer, optimizerFromCheckpoint, optimizerToCheckpoint, totalSteps, type AnyOptimizer,
} from './optimizer.js';
import { Progress } from './progress.js';
import { writeReport } from '../report/index.js';

export interface TrainerOptions {
  config: TrainConfig;
  task: Task;
  callbacks?: TrainerCallback[];
  /** true: resume from the latest checkpoint in outputDir (none: start fresh); a path: that checkpoint. */
  resume?: boolean | string;
  /** Write report.html / loss.svg at the end (default true). */
  report?: boolean;
  /** Where progress goes (default process.stderr). */
  progressStream?: NodeJS.WriteStream;
  /** Stop (as if killed) after this many optimizer steps of this process: for resume tests. */
  stopAfterSteps?: number;
}

export interface TrainResult {
  /** Completed optimizer steps. */
  step: number;
  totalSteps: number;
  /** Metrics of the final evaluation. */
  finalMetrics: EvalMetrics | null;
  /** The last checkpoint written. */
  checkpoint: string | null;
  metricsPath: string;
  reportPath: string | null;
  /** Why training ended before totalSteps, if it did. */
  stoppedEarly: string | null;
  /** Seconds of this process's training. */
  seconds: number;
}

/** Running sums of one logging window. */
interface LogWindow {
  steps: number;
  loss: number;
  terms: Record<string, number>;
  gradNorm: number;
  tokens: number;
  skipped: number;
}

const emptyWindow = (): LogWindow => ({ steps: 0, loss: 0, terms: {}, gradNorm: 0, tokens: 0, skipped: 0 });

/** trainer_state.json as written by `Trainer.save`. */
interface SavedState {
  step: number;
  rng: { default: T.GeneratorState };
  dataPosition: unknown;
  scheduler: ReturnType<LrSchedule['stateDict']>;
  logWindow: LogWindow;
  pendingSkips: number;
  elapsed: number;
  callbacks?: Record<string, unknown>;
  logHistory: MetricsRecord[];
  optimizer: unknown;
}

interface Snapshot {
  model: Map<string, Float32Array>;
  optimizer: OptimizerStateDict;
  schedule: ReturnType<LrSchedule['stateDict']>;
  data: unknown;
  rng: T.GeneratorState;
}

export class Trainer implements TrainerControl {
  readonly config: TrainConfig;
  readonly task: Task;
  readonly outputDir: string;
  readonly params: [string, T.Tensor][];
  readonly optimizer: AnyOptimizer;
  readonly schedule: LrSchedule;
  readonly totalSteps: number;
  readonly metrics: MetricsLogger;
  private readonly callbacks: TrainerCallback[];
  private _step = 0;
  private window = emptyWindow();
  private stopReason: string | null = null;
  private pendingSkips = 0;
  private progress: Progress | null = null;
  private elapsedBefore = 0;
  private lastCheckpoint: string | null = null;

  constructor(private readonly options: TrainerOptions) {
    this.config = options.config;
    this.task = options.task;
    this.outputDir = resolve(this.config.outputDir);
    this.params = [...this.task.model.namedParameters()];
    if (this.params.length === 0) throw new ValueError('Trainer: the model has no parameters');
    this.optimizer = createOptimizer(this.config, this.params);
    this.totalSteps = totalSteps(this.config, this.task.batchesPerEpoch);
    this.schedule = createLrSchedule(this.config, this.totalSteps);
    this.metrics = new MetricsLogger(join(this.outputDir, 'metrics.jsonl'));
    this.callbacks = [...(options.callbacks ?? [])];
    if (this.config.stability) {
      this.callbacks.push(new StabilityCallback(this.config.stability, this.config.loggingSteps, this.config.gradientAccumulationSteps));
    }
    if (this.config.earlyStoppingPatience !== null) {
      this.callbacks.push(new EarlyStopping(this.config.metricForBestModel, this.config.earlyStoppingPatience,
        greaterIsBetter(this.config), this.config.earlyStoppingThreshold));
    }
  }

  get step(): number {
    return this._step;
  }

  // ---------------------------------------------------------------- TrainerControl

  logRecord(record: MetricsRecord, terminalLine?: string): void {
    this.metrics.log(record);
    if (terminalLine === undefined) return;
    if (this.progress) this.progress.message(terminalLine);
    else process.stderr.write(`${terminalLine}\n`);
  }

  logEvent(kind: string, message: string): void {
    this.metrics.log({ event: kind, step: this._step, message, time: Date.now() });
    if (this.progress) this.progress.message(`[${kind}] step ${this._step}: ${message}`);
    else process.stderr.write(`[${kind}] step ${this._step}: ${message}\n`);
  }

  requestStop(reason: string): void {
    this.stopReason ??= reason;
  }

  skipBatches(n: number): void {
    this.pendingSkips += n;
  }

  snapshot(): Snapshot {
    const model = new Map<string, Float32Array>();
    for (const [k, t] of Object.entries(this.modelState())) model.set(k, (t.data() as Float32Array).slice());
    return {
      model,
      optimizer: this.optimizer.stateDict(),
      schedule: this.schedule.stateDict(),
      data: structuredClone(this.task.dataState()),
      rng: T.defaultGenerator.getState(),
    };
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Snapshot;
    const state = this.modelState();
    for (const [k, v] of s.model) (state[k].data() as Float32Array).set(v);
    this.optimizer.loadStateDict(s.optimizer);
    this.schedule.loadStateDict(s.schedule);
    this.task.setDataState(structuredClone(s.data));
    T.defaultGenerator.setState(s.rng);
  }

  // ---------------------------------------------------------------- state

  private modelState(): Record<string, T.Tensor> {
    const m = this.task.model as { stateDict?: () => Record<string, T.Tensor> };
    return m.stateDict ? m.stateDict() : Object.fromEntries(this.params.map(([n, p]) => [n, p.detach()]));
  }

  private trainerState(): Record<string, unknown> {
    const cb: Record<string, unknown> = {};
    for (const c of this.callbacks) if (c.name && c.state) cb[c.name] = c.state();
    return {
      step: this._step,
      totalSteps: this.totalSteps,
      epoch: this.task.epoch(),
      rng: { default: T.defaultGenerator.getState() },
      dataPosition: this.task.dataState(),
      scheduler: this.schedule.stateDict(),
      lossScale: 1,
      logWindow: this.window,
      pendingSkips: this.pendingSkips,
      elapsed: this.elapsed(),
      callbacks: cb,
      logHistory: this.metrics.history,
    };
  }

  /** Writes checkpoint-<step> and prunes old ones. */
  save(): string {
    const opt = optimizerToCheckpoint(this.optimizer);
    const model: Record<string, ReturnType<typeof toSafe>> = {};
    for (const [k, t] of Object.entries(this.modelState())) model[k] = toSafe(t.contiguous());
    const state = this.trainerState();
    state.optimizer = opt.json;
    const path = saveCheckpoint(this.outputDir, this._step, {
      model, optimizer: opt.tensors, trainerState: state, config: this.config, artifacts: this.task.artifacts(),
    });
    this.lastCheckpoint = path;
    pruneCheckpoints(this.outputDir, this.config.saveTotalLimit, path);
    for (const c of this.callbacks) c.onSave?.(this, path);
    return path;
  }

  /** Restores everything from a checkpoint folder. */
  private resumeFrom(dir: string): void {
    const ck = loadCheckpoint(dir);
    const st = ck.trainerState as unknown as SavedState;
    copyInto(Object.entries(this.modelState()), ck.model, `${dir}/model.safetensors`);
    optimizerFromCheckpoint(this.optimizer, st.optimizer, ck.optimizer);
    this.schedule.loadStateDict(st.scheduler);
    this.task.setDataState(st.dataPosition);
    T.defaultGenerator.setState(st.rng.default);
    this._step = st.step;
    this.window = st.logWindow;
    this.pendingSkips = st.pendingSkips;
    this.elapsedBefore = st.elapsed;
    const cbs = st.callbacks ?? {};
    for (const c of this.callbacks) if (c.name && c.loadState && cbs[c.name] !== undefined) c.loadState(cbs[c.name]);
    this.metrics.reset(st.logHistory);
    this.lastCheckpoint = dir;
  }

  private startedAt = Date.now();
  private elapsed(): number {
    return this.elapsedBefore + (Date.now() - this.startedAt) / 1000;
  }

  // ---------------------------------------------------------------- loop

  /** One optimizer step (gradient accumulation over micro-batches), inside a scope. */
  /** @returns false when a callback rolled the step back (nothing to log). */
  private trainStep(): boolean {
    const accum = this.config.gradientAccumulationSteps;
    const stepNo = this._step + 1;
    for (const c of this.callbacks) c.onStepBegin?.(this, stepNo);
    while (this.pendingSkips > 0) {
      this.task.nextBatch();
      this.pendingSkips--;
    }
    const lr = this.schedule.getLastLr();
    let loss = 0;
    let tokens = 0;
    const terms: Record<string, number> = {};
    let gradNorm = 0;
    let decision: BackwardDecision = {};
    T.scope(() => {
      for (let k = 0; k < accum; k++) {
        const batch = this.task.nextBatch();
        const out = this.task.loss(batch);
        T.backward(accum > 1 ? T.mulScalar(out.loss, 1 / accum) : out.loss);
        loss += out.loss.item() / accum;
        for (const [n, v] of Object.entries(out.terms)) terms[n] = (terms[n] ?? 0) + v / accum;
        tokens += out.tokens;
      }
      for (const c of this.callbacks) {
        const d = c.onBackward?.(this, { step: stepNo, loss, terms, params: this.params });
        if (d && d.skip) decision = d;
        if (d && d.rollbackTo !== undefined) break;
      }
      if (decision.rollbackTo !== undefined) {
        this.optimizer.zeroGrad();
        return;
      }
      const ps = this.params.map(([, p]) => p);
      gradNorm = clipGradNorm(ps, this.config.maxGradNorm > 0 ? this.config.maxGradNorm : Infinity);
      if (!decision.skip) {
        this.optimizer.setLr(lr);
        this.optimizer.step();
      }
      this.optimizer.zeroGrad();
    });
    if (decision.rollbackTo !== undefined) {
      this._step = decision.rollbackTo; // the schedule, data and RNG were restored with the snapshot
      return false;
    }
    this.schedule.step();
    this._step = stepNo;
    if (decision.skip) this.logEvent('skip', decision.reason ?? 'optimizer step skipped by a callback');
    const w = this.window;
    w.steps++;
    w.loss += loss;
    for (const [n, v] of Object.entries(terms)) w.terms[n] = (w.terms[n] ?? 0) + v;
    w.gradNorm += gradNorm;
    w.tokens += tokens;
    if (decision.skip) w.skipped++;
    for (const c of this.callbacks) c.onStepEnd?.(this, { step: stepNo, loss, terms, gradNorm, lr, skipped: !!decision.skip });
    return true;
  }

  private windowStart = Date.now();

  private logTrain(): void {
    const w = this.window;
    if (w.steps === 0) return;
    const now = Date.now();
    const secs = Math.max(1e-3, (now - this.windowStart) / 1000);
    const terms: Record<string, number> = {};
    for (const [n, v] of Object.entries(w.terms)) terms[n] = v / w.steps;
    const rec: MetricsRecord = {
      split: 'train',
      step: this._step,
      epoch: round(this.task.epoch(), 4),
      loss: w.loss / w.steps,
      terms,
      lr: this.schedule.lrAt(this._step - 1),
      gradNorm: w.gradNorm / w.steps,
      tokensPerSecond: Math.round(w.tokens / secs),
      lossScale: 1,
      time: now,
      elapsed: round(this.elapsed(), 3),
    };
    if (w.skipped > 0) rec.skipped = true;
    this.metrics.log(rec);
    this.progress?.update(this._step, { loss: rec.loss as number, lr: rec.lr as number, tokensPerSecond: rec.tokensPerSecond as number });
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
      m = T.noGrad(() => this.task.evaluate(maxBatches));
    } finally {
      this.task.model.train();
    }
    this.metrics.log({ split: 'eval', step: this._step, epoch: round(this.task.epoch(), 4), ...m, ...extra, time: Date.now(), elapsed: round(this.elapsed(), 3) });
    this.windowStart += Date.now() - t0; // evaluation time is not training throughput
    for (const c of this.callbacks) c.onEvaluate?.(this, m);
    return m;
  }

  /** Trains to the end (or until stopped) and returns where everything was written. */
  async train(): Promise<TrainResult> {
    const cfg = this.config;
    fs.mkdirSync(this.outputDir, { recursive: true });
    removeStaleTemporaries(this.outputDir);
    const resume = this.options.resume;
    const from = typeof resume === 'string' ? resume : resume ? latestCheckpoint(this.outputDir) : null;
    const oldCheckpoints = fs.readdirSync(this.outputDir).filter((n) => /^checkpoint-\d+$/.test(n));
    if (from) {
      this.resumeFrom(from);
      process.stderr.write(`resumed from ${from} at step ${this._step}\n`);
    } else {
      if (resume && oldCheckpoints.length) {
        // Folders that look like checkpoints but are incomplete: never restart over them silently.
        throw new ConfigError(`--resume: no complete checkpoint in ${this.outputDir} (${oldCheckpoints.join(', ')} lack trainer_state.json); fix or remove them, or train without --resume and --overwriteOutputDir true`);
      }
      if (!resume && oldCheckpoints.length && !cfg.overwriteOutputDir) {
        throw new ConfigError(`outputDir: ${this.outputDir} already holds ${oldCheckpoints.join(', ')} from an earlier run; pass --resume to continue it, --overwriteOutputDir true to replace it, or another --outputDir`);
      }
      if (resume) process.stderr.write(`no checkpoint in ${this.outputDir}; starting from step 0\n`);
      this.metrics.reset();
      // overwriteOutputDir: a fresh run in a folder with old checkpoints would mix two runs, so drop them.
      for (const n of oldCheckpoints) fs.rmSync(join(this.outputDir, n), { recursive: true, force: true });
    }
    fs.writeFileSync(join(this.outputDir, 'config.json'), JSON.stringify(cfg, null, 2));
    for (const [name, json] of Object.entries(this.task.artifacts())) fs.writeFileSync(join(this.outputDir, name), JSON.stringify(json));
    this.startedAt = Date.now();
    this.windowStart = Date.now();
    const t0 = Date.now();
    this.task.model.train();
    for (const c of this.callbacks) c.onTrainBegin?.(this);
    this.progress = new Progress(this.totalSteps, this._step, cfg.disableTqdm, this.options.progressStream);
    let stepsHere = 0;
    let killed = false;
    try {
      while (this._step < this.totalSteps && this.stopReason === null) {
        if (!this.trainStep()) continue; // rolled back: nothing to log, evaluate or save
        stepsHere++;
        const s = this._step;
        if (s % cfg.loggingSteps === 0) this.logTrain();
        else this.progress.update(s);
        if (cfg.evalStrategy === 'steps' && s % cfg.evalSteps === 0 && s < this.totalSteps) this.evaluate(cfg.maxEvalBatches);
        if (cfg.saveStrategy === 'steps' && s % cfg.saveSteps === 0) this.save();
        if (this.options.stopAfterSteps !== undefined && stepsHere >= this.options.stopAfterSteps && this._step < this.totalSteps) {
          killed = true;
          break;
        }
      }
    } finally {
      this.progress.stop();
      this.progress = null;
    }
    const result: TrainResult = {
      step: this._step, totalSteps: this.totalSteps, finalMetrics: null, checkpoint: this.lastCheckpoint,
      metricsPath: this.metrics.path, reportPath: null, stoppedEarly: this.stopReason, seconds: (Date.now() - t0) / 1000,
    };
    if (killed) return result;
    this.logTrain();
    result.finalMetrics = this.evaluate(undefined, { final: true });
    if (this.lastCheckpoint === null || !this.lastCheckpoint.endsWith(`checkpoint-${this._step}`) || cfg.saveStrategy === 'no') {
      result.checkpoint = this.save();
    }
    for (const c of this.callbacks) c.onTrainEnd?.(this);
    if (this.options.report ?? true) {
      try {
        result.reportPath = (await writeReport(this.outputDir)).html;
      } catch (e) {
        process.stderr.write(`warning: report not written: ${(e as Error).message}\n`);
      }
    }
    result.seconds = (Date.now() - t0) / 1000;
    return result;
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
