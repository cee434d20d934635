/**
 * Builds the optimiser and the learning-rate schedule a config asks for, and converts the
 * optimiser's state dict to and from a checkpoint (tensors → optimizer.safetensors, the rest → JSON
 * in trainer_state.json).
 */
import { ConfigError } from '../errors.js';
import type { SafeTensor } from '../io/safetensors.js';
import { Adam, AdamW } from '../optim/adam.js';
import type { Algorithm, Optimizer, OptimizerStateDict, ParamStateDict } from '../optim/optimizer.js';
import { SGD } from '../optim/sgd.js';
import { createSchedule, type LrSchedule, type ScheduleConfig } from '../optim/schedules.js';
import type { Tensor } from '../tensor/index.js';
import type { TrainConfig } from './config.js';

export type AnyOptimizer = Optimizer<{ lr: number }>;

/**
 * Parameter groups after Hugging Face / nanoGPT practice: weight decay on matrices (ndim >= 2:
 * linear and embedding weights), none on biases and norm gains.
 */
export function paramGroups(named: readonly [string, Tensor][], weightDecay: number): { params: Tensor[]; weightDecay: number; name: string }[] {
  const decay = named.filter(([, p]) => p.ndim >= 2).map(([, p]) => p);
  const noDecay = named.filter(([, p]) => p.ndim < 2).map(([, p]) => p);
  const groups = [];
  if (decay.length) groups.push({ params: decay, weightDecay, name: 'decay' });
  if (noDecay.length) groups.push({ params: noDecay, weightDecay: 0, name: 'no_decay' });
  return groups;
}

/** The optimiser of `config.optim` over the model's parameters. */
export function createOptimizer(config: TrainConfig, named: readonly [string, Tensor][]): AnyOptimizer {
  const groups = paramGroups(named, config.weightDecay);
  const lr = config.learningRate;
  switch (config.optim) {
    case 'sgd':
      return new SGD(groups, { lr, momentum: config.momentum }) as unknown as AnyOptimizer;
    case 'adam':
      return new Adam(groups, { lr, betas: [config.adamBeta1, config.adamBeta2], eps: config.adamEpsilon }) as unknown as AnyOptimizer;
    case 'adamw':
      return new AdamW(groups, { lr, betas: [config.adamBeta1, config.adamBeta2], eps: config.adamEpsilon }) as unknown as AnyOptimizer;
  }
}

/** Total optimizer steps of a run: maxSteps, or numTrainEpochs × steps per epoch. */
export function totalSteps(config: TrainConfig, batchesPerEpoch: number): number {
  if (config.maxSteps > 0) return config.maxSteps;
  return Math.max(1, Math.ceil((config.numTrainEpochs * batchesPerEpoch) / config.gradientAccumulationSteps));
}

/**
 * The schedule of `lrSchedulerType` with warmupSteps (or warmupRatio × total) and the extra
 * options of `lrSchedulerKwargs`.
 * @throws ConfigError naming lrSchedulerKwargs / lrSchedulerType when the schedule rejects an option.
 */
export function createLrSchedule(config: TrainConfig, total: number): LrSchedule {
  const warmup = config.warmupSteps > 0 ? config.warmupSteps : Math.ceil(config.warmupRatio * total);
  try {
    return createSchedule({
      type: config.lrSchedulerType,
      baseLr: config.learningRate,
      warmupSteps: warmup,
      numTrainingSteps: total,
      ...(config.lrSchedulerKwargs as Partial<ScheduleConfig>),
    } as ScheduleConfig);
  } catch (e) {
    throw new ConfigError(`lrSchedulerKwargs: ${(e as Error).message}`);
  }
}

/** An optimizer state dict split into float32 tensors (for safetensors) and JSON. */
export function optimizerToCheckpoint(opt: AnyOptimizer): { tensors: Record<string, SafeTensor>; json: unknown } {
  const sd = opt.stateDict();
  const tensors: Record<string, SafeTensor> = {};
  const state = sd.state.map((e, i) => {
    if (e === null) return null;
    for (const [k, b] of Object.entries(e.buffers)) tensors[`state.${i}.${k}`] = { dtype: 'F32', shape: e.shape, data: b };
    return { step: e.step, shape: e.shape, buffers: Object.keys(e.buffers) };
  });
  return { tensors, json: { algorithm: sd.algorithm, paramGroups: sd.paramGroups, state } };
}

/** Inverse of `optimizerToCheckpoint`. @throws ValueError (from the optimiser) when it does not fit. */
export function optimizerFromCheckpoint(opt: AnyOptimizer, json: unknown, tensors: Record<string, SafeTensor>): void {
  const j = json as { algorithm: Algorithm; paramGroups: OptimizerStateDict['paramGroups']; state: ({ step?: number; shape: number[]; buffers: string[] } | null)[] };
  const state = j.state.map((e, i) => {
    if (e === null) return null;
    const buffers: Record<string, Float32Array> = {};
    for (const k of e.buffers) {
      const t = tensors[`state.${i}.${k}`];
      buffers[k] = t ? (t.data as Float32Array) : new Float32Array(0);
    }
    const out: ParamStateDict = { shape: e.shape, buffers };
    if (e.step !== undefined && e.step !== null) out.step = e.step;
    return out;
  });
  opt.loadStateDict({ algorithm: j.algorithm, paramGroups: j.paramGroups, state });
}
