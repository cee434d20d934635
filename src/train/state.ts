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
import { basename, join } from 'node:path';
import { existsSync } from 'node:fs';
import type { Task } from '../tasks/types.js';
import { FileFormatError } from '../errors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../io/safetensors.js';
import { firstNonFiniteTensor } from '../io/finite-weights.js';
import { copyInto, loadCheckpoint, saveCheckpoint, toSafe } from './checkpoint.js';
import { toHfLogHistory } from './hf-log-history.js';
import type { LogWindow } from './log-window.js';
import type { MetricsRecord } from './metrics.js';
import { optimizerFromCheckpoint, optimizerToCheckpoint, stateEntryParameter, type AnyOptimizer } from './optimizer.js';
import { firstNonFiniteParameter } from './stability/divergence.js';
import { TrainingDivergedError } from './stability/errors.js';

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
  /** Best checkpoint so far (loadBestModelAtEnd, Hugging Face's best_metric / best_model_checkpoint). */
  bestMetric: number | null;
  bestModelCheckpoint: string | null;
  logWindow: LogWindow;
  pendingSkips: number;
  /** Seconds of training before this process. */
  elapsed: number;
  /** Callback states by callback name. */
  callbacks: Record<string, unknown>;
  logHistory: MetricsRecord[];
}

/**
 * trainer_state.json. Hugging Face's keys (`global_step`, `max_steps`, `epoch`, `log_history`,
 * `best_metric`, `best_model_checkpoint`, `logging_steps`, `eval_steps`, `save_steps`,
 * `train_batch_size`, `num_train_epochs`, `is_world_process_zero`), then what trainformer needs to
 * resume exactly (RNG and data positions, scheduler, scaler and optimizer JSON, its own log records).
 * Checkpoints written before the Hugging Face keys (`step`, `totalSteps`, no best model) still resume.
 */
export interface TrainerState {
  global_step: number;
  max_steps: number;
  epoch: number;
  log_history: Record<string, unknown>[];
  best_metric: number | null;
  best_model_checkpoint: string | null;
  logging_steps?: number;
  eval_steps?: number;
  save_steps?: number;
  train_batch_size?: number;
  num_train_epochs?: number;
  is_world_process_zero?: boolean;
  rng: { default: T.GeneratorState };
  dataPosition: unknown;
  scheduler: ReturnType<LrSchedule['stateDict']>;
  /** The scale the next step uses (1 with scaling off); the full state is `gradScaler`. */
  lossScale: number;
  gradScaler: GradScalerState;
  optimizer: unknown;
  logWindow: LogWindow;
  pendingSkips: number;
  elapsed: number;
  callbacks: Record<string, unknown>;
  /** trainformer's metrics records (metrics.jsonl is rewritten from them on resume). */
  logHistory: MetricsRecord[];
}

/** An earlier checkpoint's names of the same fields. */
interface EarlierTrainerState { step?: number; totalSteps?: number }

/** The config fields trainer_state.json repeats, as Hugging Face's does. */
export interface StateConfigFields {
  loggingSteps: number; evalSteps: number; saveSteps: number; perDeviceTrainBatchSize: number; numTrainEpochs: number;
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
 * @throws TrainingDivergedError (nothing written) when a parameter or an optimizer state entry holds NaN / ±Inf.
 */
export function writeCheckpoint(outputDir: string, p: TrainingParts, loop: LoopState, totalSteps: number,
  config: unknown, fields?: StateConfigFields): string {
  // Never write weights that cannot be trained from or used.
  const bad = firstNonFiniteParameter(p.params);
  if (bad) throw new TrainingDivergedError(`checkpoint-${loop.step} not written: ${bad.name}[${bad.index}] is ${bad.value}`, loop.step);
  const opt = optimizerToCheckpoint(p.optimizer);
  // Nor an optimizer state that would make the first update after a resume NaN.
  const badState = firstNonFiniteTensor(opt.tensors);
  if (badState) {
    // Said as the state of the parameter (its name in the model), as a bad weight is said by its name.
    const of = stateEntryParameter(p.optimizer, p.params, badState.name);
    const what = of ? `optimizer state ${of.buffer}[${badState.index}] of ${of.parameter}` : `optimizer state ${badState.name}[${badState.index}]`;
    throw new TrainingDivergedError(`checkpoint-${loop.step} not written: ${what} is ${badState.value}`, loop.step);
  }
  const model: Record<string, ReturnType<typeof toSafe>> = {};
  for (const [k, t] of Object.entries(modelState(p))) model[k] = toSafe(t.contiguous());
  const state: TrainerState = {
    global_step: loop.step,
    max_steps: totalSteps,
    epoch: p.task.epoch(),
    log_history: toHfLogHistory(loop.logHistory),
    best_metric: loop.bestMetric,
    best_model_checkpoint: loop.bestModelCheckpoint,
    ...(fields ? {
      logging_steps: fields.loggingSteps, eval_steps: fields.evalSteps, save_steps: fields.saveSteps,
      train_batch_size: fields.perDeviceTrainBatchSize, num_train_epochs: fields.numTrainEpochs,
    } : {}),
    is_world_process_zero: true,
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
 * @throws FileFormatError naming the file of a missing or malformed part, or a trainer_state.json
 *   whose global_step is not the step in its `checkpoint-<step>` folder name.
 */
export function readCheckpoint(dir: string, p: TrainingParts): LoopState & { totalSteps: number } {
  const ck = loadCheckpoint(dir);
  const st = ck.trainerState as unknown as TrainerState & EarlierTrainerState;
  const statePath = join(dir, 'trainer_state.json');
  const step = st.global_step ?? st.step;
  if (!Number.isInteger(step)) throw new FileFormatError(`${statePath}: global_step is missing or not an integer`);
  // The folder's name is the step it was saved at: a disagreeing global_step is an edited or copied file.
  const named = /^checkpoint-(\d+)$/.exec(basename(dir));
  if (named && Number(named[1]) !== step) {
    throw new FileFormatError(`${statePath}: global_step ${step} disagrees with the folder name ${basename(dir)} (saved at step ${named[1]}); the file was edited or copied from another checkpoint — restore it or resume from another checkpoint`);
  }
  checkTrainerState(ck.trainerState, statePath);
  copyInto(Object.entries(modelState(p)), ck.model, `${dir}/model.safetensors`);
  // Every checkpoint is saved with one: without it the optimizer's state cannot be restored.
  if (!existsSync(join(dir, 'optimizer.safetensors'))) throw new FileFormatError(`${dir}/optimizer.safetensors: missing (the checkpoint is incomplete: it holds the optimizer's state that resuming needs)`);
  optimizerFromCheckpoint(p.optimizer, st.optimizer, ck.optimizer, `${dir}/optimizer.safetensors`, p.params);
  try {
    p.schedule.loadStateDict(st.scheduler);
    if (st.gradScaler) p.scaler.loadStateDict(scaleFromJson(st.gradScaler));
    p.task.setDataState(st.dataPosition);
    T.defaultGenerator.setState(st.rng.default);
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw new FileFormatError(`${statePath}: cannot resume from it (${(e as Error).message})`);
  }
  return {
    step: step!, totalSteps: st.max_steps ?? st.totalSteps ?? 0, logWindow: st.logWindow, pendingSkips: st.pendingSkips, elapsed: st.elapsed,
    callbacks: st.callbacks ?? {}, logHistory: st.logHistory, bestMetric: st.best_metric ?? null, bestModelCheckpoint: st.best_model_checkpoint ?? null,
  };
}

/**
 * Copies a checkpoint's model weights into the model (loadBestModelAtEnd); nothing else changes.
 * @throws FileFormatError naming the file when a tensor is missing or does not fit.
 */
export function loadModelWeights(dir: string, p: TrainingParts): void {
  const file = `${dir}/model.safetensors`;
  copyInto(Object.entries(modelState(p)), readSafetensorsFile(file).tensors, file);
}

/**
 * Writes the model's weights to `<outputDir>/model.safetensors` (atomically), beside the run's
 * config.json and tokenizer: the final model (Hugging Face's `trainer.save_model()`), which
 * `trainformer eval|generate|predict <run>` load.
 * @returns the file's path.
 */
export function saveFinalModel(outputDir: string, p: TrainingParts): string {
  const model: Record<string, ReturnType<typeof toSafe>> = {};
  for (const [k, t] of Object.entries(modelState(p))) model[k] = toSafe(t.contiguous());
  const file = `${outputDir}/model.safetensors`;
  writeSafetensorsFile(file, model, { format: 'pt' });
  return file;
}

/** The fields of trainer_state.json a resume reads, and what each must be. */
const REQUIRED_STATE: readonly [string, (v: unknown) => boolean, string][] = [
  ['rng', (v) => v !== null && typeof v === 'object' && 'default' in (v as object), 'an object with the generator state "default"'],
  ['scheduler', (v) => v !== null && typeof v === 'object', 'the schedule state (an object)'],
  ['dataPosition', (v) => v !== undefined, 'the data position'],
];

/**
 * @throws FileFormatError naming trainer_state.json and its first missing or mistyped field (issue 19:
 *   `{}` used to end in "Cannot read properties of undefined").
 */
export function checkTrainerState(json: unknown, path: string): void {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new FileFormatError(`${path}: must be a JSON object (the trainer state)`);
  const o = json as Record<string, unknown>;
  for (const [field, ok, what] of REQUIRED_STATE) {
    if (!(field in o)) throw new FileFormatError(`${path}: field "${field}" is missing (${what}); the checkpoint's trainer state is damaged or not trainformer's`);
    if (!ok(o[field])) throw new FileFormatError(`${path}: field "${field}" must be ${what} (got ${JSON.stringify(o[field])?.slice(0, 60)})`);
  }
}
