/**
 * The optimiser and learning-rate schedule a config asks for, built from the optim layer's parts:
 * parameter groups from `groupParameters` (nanoGPT policy: decay on matrices and embeddings, none on
 * biases and norm gains; tied weights once; frozen parameters left out), `SGD` / `Adam` / `AdamW`,
 * `createSchedule`; and the optimiser's state in a checkpoint through `splitStateDict` /
 * `joinStateDict` (tensors → optimizer.safetensors, the rest → JSON in trainer_state.json).
 */
import { ConfigError, FileFormatError } from '../errors.js';
import type { SafeTensor } from '../io/safetensors.js';
import { assertFiniteOptimizerState } from '../io/finite-weights.js';
import { Adam, AdamW } from '../optim/adam.js';
import type { Optimizer } from '../optim/optimizer.js';
import { groupParameters } from '../optim/param-groups.js';
import { SGD } from '../optim/sgd.js';
import { createSchedule, type LrSchedule, type ScheduleConfig } from '../optim/schedules.js';
import { joinStateDict, splitStateDict, type OptimizerStateJson } from '../optim/state-dict.js';
import type { Tensor } from '../tensor/index.js';
import type { TrainConfig } from './config.js';

export type AnyOptimizer = Optimizer<{ lr: number }>;

/**
 * The optimiser of `config.optim` over the model's parameters, with `config.weightDecay` on the
 * decay group of `groupParameters(named, { policy: 'nanogpt' })`.
 * @throws ConfigError when no parameter requires a gradient.
 */
export function createOptimizer(config: TrainConfig, named: Iterable<readonly [string, Tensor]>): AnyOptimizer {
  const groups = groupParameters(named, { policy: 'nanogpt', weightDecay: config.weightDecay }).filter((g) => g.params.length > 0);
  if (groups.length === 0) throw new ConfigError('model: no parameter requires a gradient; nothing to train');
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

/** An optimizer's state split into float32 tensors (for optimizer.safetensors) and JSON. */
export function optimizerToCheckpoint(opt: AnyOptimizer): { tensors: Record<string, SafeTensor>; json: OptimizerStateJson } {
  const { json, tensors } = splitStateDict(opt.stateDict());
  const safe: Record<string, SafeTensor> = {};
  for (const [k, t] of Object.entries(tensors)) safe[k] = { dtype: 'F32', shape: t.shape, data: t.data };
  return { tensors: safe, json };
}

/**
 * The parameter an optimizer state tensor belongs to, by its name in the model: `state.<i>.<buffer>`
 * (optimizerToCheckpoint's names) is the state of the optimizer's i-th parameter, counting through
 * its groups in order.
 * @param names the model's named parameters.
 * @returns `{ parameter: 'h.0.attn.c_attn.weight', buffer: 'expAvgSq' }`, or null when the entry is
 *   not of that form or its parameter is not among `names`.
 */
export function stateEntryParameter(opt: AnyOptimizer, names: readonly (readonly [string, Tensor])[], entry: string): { parameter: string; buffer: string } | null {
  const m = /^state\.(\d+)\.(.+)$/.exec(entry);
  const p = m ? opt.parameters()[Number(m[1])] : undefined;
  const parameter = p && names.find(([, t]) => t === p)?.[0];
  return parameter ? { parameter, buffer: m![2]! } : null;
}

/**
 * Inverse of `optimizerToCheckpoint`.
 * @param names the model's named parameters: a NaN / ±Inf is said as the state of the parameter it
 *   belongs to (`optimizer state expAvgSq of parameter "h.0.ln_1.bias" ("state.3.expAvgSq")`).
 * @throws FileFormatError naming `where` (the checkpoint) when a tensor is missing or does not fit,
 *   or naming the parameter whose state holds a NaN / ±Inf (the optimizer is untouched).
 */
export function optimizerFromCheckpoint(opt: AnyOptimizer, json: unknown, tensors: Record<string, SafeTensor>, where: string,
  names: readonly (readonly [string, Tensor])[] = []): void {
  assertFiniteOptimizerState(tensors, where, (entry) => stateEntryParameter(opt, names, entry));
  try {
    opt.loadStateDict(joinStateDict(fromEarlierLayout(json as OptimizerStateJson), tensors as Record<string, { shape: number[]; data: Float32Array }>));
  } catch (e) {
    throw new FileFormatError(`${where}: ${(e as Error).message}`);
  }
}

/**
 * Checkpoints written before the trainer used splitStateDict list each state's buffer names
 * (`buffers: ['expAvg', 'expAvgSq']`, tensors `state.<i>.<name>`); map them to the current layout
 * (`buffers: { expAvg: 'state.<i>.expAvg' }`) so those runs still resume.
 */
function fromEarlierLayout(json: OptimizerStateJson): OptimizerStateJson {
  if (json === null || typeof json !== 'object' || !Array.isArray(json.state)) return json;
  const state = json.state.map((e, i) => (e && Array.isArray(e.buffers)
    ? { ...e, buffers: Object.fromEntries((e.buffers as string[]).map((k) => [k, `state.${i}.${k}`])) }
    : e));
  return { ...json, state };
}
