/**
 * The Trainer's state: what a checkpoint holds and restores for an exact resume, and the in-memory
 * snapshot a loss-spike rollback returns to.
 *
 * Exact resume: a checkpoint holds the parameters (float32, bit for bit), the optimiser state, the
 * schedule's step counter, the GradScaler's scale and growth tracker, the data position and every
 * RNG state (the tensor layer's default generator and the task's samplers), the partial sums of the
 * current logging window and the whole log history. Restoring all of them makes the resumed run
 * compute exactly what the uninterrupted run computes.
 */
import type { GradScaler, GradScalerState } from '../optim/grad-scaler.js';
import type { OptimizerStateDict } from '../optim/optimizer.js';
import type { LrSchedule } from '../optim/schedules.js';
import * as T from '../tensor/index.js';
import type { Task } from '../tasks/types.js';
import { copyInto, loadCheckpoint, saveCheckpoint, toSafe } from './checkpoint.js';
import type { LogWindow } from './log-window.js';
import type { MetricsRecord } from './metrics.js';
import { optimizerFromCheckpoint, optimizerToCheckpoint, type AnyOptimizer } from './optimizer.js';

/** The stateful parts of a training run. */
export interface TrainingParts {
  task: Task;
  params: readonly [string, T.Tensor][];
  optimizer: AnyOptimizer;
  schedule: LrSchedule;
  scaler: GradScaler;
}

/** The Trainer's own counters, saved beside the parts' states. */
export interface LoopState {
  step: number;
  logWindow: LogWindow;
  pendingSkips: number;
  /** Seconds of training before this process. */
  elapsed: number;
  /** Callback states by callback name. */
  callbacks: Record<string, unknown>;
  logHistory: MetricsRecord[];
}

/** trainer_state.json. */
export interface TrainerState extends LoopState {
  totalSteps: number;
  epoch: number;
  rng: { default: T.GeneratorState };
  dataPosition: unknown;
  scheduler: ReturnType<LrSchedule['stateDict']>;
  /** The scale the next step uses (1 with scaling off); the full state is `gradScaler`. */
  lossScale: number;
  gradScaler: GradScalerState;
  optimizer: unknown;
}

/** The model's tensors by checkpoint name (its state dict, or the named parameters). */
export function modelState(p: TrainingParts): Record<string, T.Tensor> {
  const m = p.task.model as { stateDict?: () => Record<string, T.Tensor> };
  return m.stateDict ? m.stateDict() : Object.fromEntries(p.params.map(([n, t]) => [n, t.detach()]));
}

/** An in-memory copy of everything a rollback restores. */
export interface Snapshot {
  model: Map<string, Float32Array>;
  optimizer: OptimizerStateDict;
  schedule: ReturnType<LrSchedule['stateDict']>;
  scaler: GradScalerState;
  data: unknown;
  rng: T.GeneratorState;
}

export function takeSnapshot(p: TrainingParts): Snapshot {
  const model = new Map<string, Float32Array>();
  for (const [k, t] of Object.entries(modelState(p))) model.set(k, (t.data() as Float32Array).slice());
  return {
    model,
    optimizer: p.optimizer.stateDict(),
    schedule: p.schedule.stateDict(),
    scaler: p.scaler.stateDict(),
    data: structuredClone(p.task.dataState()),
    rng: T.defaultGenerator.getState(),
  };
}

export function restoreSnapshot(p: TrainingParts, s: Snapshot): void {
  const state = modelState(p);
  for (const [k, v] of s.model) (state[k].data() as Float32Array).set(v);
  p.optimizer.loadStateDict(s.optimizer);
  p.schedule.loadStateDict(s.schedule);
  p.scaler.loadStateDict(s.scaler);
  p.task.setDataState(structuredClone(s.data));
  T.defaultGenerator.setState(s.rng);
}

// JSON has no Infinity; a GradScaler that grew past float32's range (capScaleGrowthAtFp32Max false) has one.
const scaleToJson = (s: GradScalerState): GradScalerState => ({ ...s, scale: Number.isFinite(s.scale) ? s.scale : ('Infinity' as unknown as number) });
const scaleFromJson = (s: GradScalerState): GradScalerState => ({ ...s, scale: Number(s.scale) });

/**
 * Writes `checkpoint-<step>` under `outputDir` (atomically, see checkpoint.ts).
 * @returns the checkpoint folder.
 */
export function writeCheckpoint(outputDir: string, p: TrainingParts, loop: LoopState, totalSteps: number, config: unknown): string {
  const opt = optimizerToCheckpoint(p.optimizer);
  const model: Record<string, ReturnType<typeof toSafe>> = {};
  for (const [k, t] of Object.entries(modelState(p))) model[k] = toSafe(t.contiguous());
  const state: TrainerState = {
    step: loop.step,
    totalSteps,
    epoch: p.task.epoch(),
    rng: { default: T.defaultGenerator.getState() },
    dataPosition: p.task.dataState(),
    scheduler: p.schedule.stateDict(),
    lossScale: p.scaler.getScale(),
    gradScaler: scaleToJson(p.scaler.stateDict()),
    logWindow: loop.logWindow,
    pendingSkips: loop.pendingSkips,
    elapsed: loop.elapsed,
    callbacks: loop.callbacks,
    logHistory: loop.logHistory,
    optimizer: opt.json,
  };
  return saveCheckpoint(outputDir, loop.step, {
    model, optimizer: opt.tensors, trainerState: state as unknown as Record<string, unknown>, config, artifacts: p.task.artifacts(),
  });
}

/**
 * Restores the parts from a checkpoint folder and returns its loop state.
 * @throws FileFormatError naming the file of a missing or malformed part.
 */
export function readCheckpoint(dir: string, p: TrainingParts): TrainerState {
  const ck = loadCheckpoint(dir);
  const st = ck.trainerState as unknown as TrainerState;
  copyInto(Object.entries(modelState(p)), ck.model, `${dir}/model.safetensors`);
  optimizerFromCheckpoint(p.optimizer, st.optimizer, ck.optimizer, `${dir}/optimizer.safetensors`);
  p.schedule.loadStateDict(st.scheduler);
  if (st.gradScaler) p.scaler.loadStateDict(scaleFromJson(st.gradScaler));
  p.task.setDataState(st.dataPosition);
  T.defaultGenerator.setState(st.rng.default);
  return { ...st, callbacks: st.callbacks ?? {} };
}
