/**
 * Learning-rate schedules as pure float64 functions of the step.
 *
 * Step convention (PyTorch `LambdaLR`, Hugging Face, nanoGPT): `lrAt(k)` is the learning rate of the
 * optimizer step that follows k completed steps, so `lrAt(0)` is the rate of the very first step;
 * it equals PyTorch's lr after k `scheduler.step()` calls (`baseLr * lambda(k)`) and nanoGPT's
 * `get_lr(it = k)`.
 *
 * Types (Hugging Face `lr_scheduler_type` names first; w = warmupSteps, T = numTrainingSteps,
 * warm(k) = k / max(1, w) for k < w):
 * - `constant`: base.
 * - `constant_with_warmup`: warm(k), then 1.
 * - `linear`: warm(k), then max(0, (T - k) / max(1, T - w)).
 * - `cosine` (numCycles = 0.5): warm(k), then max(0, ½(1 + cos(π·numCycles·2·p))),
 *   p = (k - w) / max(1, T - w); not clamped after T (the cosine comes back up for k > T).
 * - `cosine_with_restarts` (numCycles = 1): warm(k); 0 for p >= 1; else ½(1 + cos(π·((numCycles·p) mod 1))).
 * - `cosine_with_min_lr` (numCycles = 0.5, exactly one of minLr / minLrRate): like `cosine` with the
 *   factor f mapped to f·(1 - r) + r, r = minLrRate or minLr / base.
 * - `polynomial` (lrEnd = 1e-7, power = 1): warm(k); lrEnd for k > T; else
 *   (base - lrEnd)·(1 - (k - w)/(T - w))^power + lrEnd (lrEnd when T = w, where HF divides by 0).
 * - `inverse_sqrt` (timescale = w, or 10000 when w = 0): warm(k), then 1/sqrt((k + timescale - w)/timescale).
 * - `warmup_stable_decay` (numDecaySteps; numStableSteps, or T - w - numDecaySteps; warmupType and
 *   decayType `linear | cosine | 1-sqrt`, defaults linear / cosine; minLrRatio = 0; numCycles = 0.5):
 *   warmup, stable at 1, decay, then minLrRatio — Hugging Face `get_wsd_schedule`.
 * - `step` (stepSize, gamma = 0.1): base·gamma^floor(k / stepSize) (PyTorch `StepLR`).
 * - `exponential` (gamma): base·gamma^k (PyTorch `ExponentialLR`).
 * - `nanogpt_cosine` (w = warmup_iters, lrDecayIters = T, minLr = 0, warmupFormula): k < w:
 *   base·(k+1)/(w+1) (current nanoGPT, `'(it+1)/(warmup_iters+1)'`) or base·k/w (original,
 *   `'it/warmup_iters'`); k > lrDecayIters: minLr; else minLr + ½(1 + cos(π(k-w)/(lrDecayIters-w)))·(base - minLr).
 * - `noam` (dModel, factor = 1, w = warmup): base·factor·dModel^-½·min(s^-½, s·w^-1.5), s = max(k, 1)
 *   (Vaswani et al. 2017, eq. 3; baseLr defaults to 1 so the formula is the learning rate itself).
 *
 * Sources: Hugging Face transformers `optimization.py`; PyTorch `torch.optim.lr_scheduler`;
 * Karpathy's nanoGPT `train.py`; "Attention Is All You Need" §5.3.
 */
import { ValueError } from '../errors.js';

/** Names accepted as `type`. */
export const SCHEDULE_TYPES = [
  'constant',
  'constant_with_warmup',
  'linear',
  'cosine',
  'cosine_with_restarts',
  'cosine_with_min_lr',
  'polynomial',
  'inverse_sqrt',
  'warmup_stable_decay',
  'step',
  'exponential',
  'nanogpt_cosine',
  'noam',
] as const;
export type ScheduleType = (typeof SCHEDULE_TYPES)[number];

/** Shapes of the warmup / decay phases of `warmup_stable_decay`. */
export type WsdShape = 'linear' | 'cosine' | '1-sqrt';
/** nanoGPT warmup: current `(it+1)/(warmup_iters+1)` or original `it/warmup_iters`. */
export type NanoGptWarmupFormula = '(it+1)/(warmup_iters+1)' | 'it/warmup_iters';

/** Configuration of a schedule; see the module docs for which options each type reads. */
export interface ScheduleConfig {
  type: ScheduleType;
  /** Peak learning rate (the optimizer's lr); default 1, so that `lrAt` returns the multiplier. */
  baseLr?: number;
  /** Warmup steps w (nanoGPT `warmup_iters`, Noam `warmup`); default 0. */
  warmupSteps?: number;
  /** Total optimizer steps T. */
  numTrainingSteps?: number;
  numCycles?: number;
  minLr?: number;
  minLrRate?: number;
  lrEnd?: number;
  power?: number;
  timescale?: number | null;
  numDecaySteps?: number;
  numStableSteps?: number;
  warmupType?: WsdShape;
  decayType?: WsdShape;
  minLrRatio?: number;
  stepSize?: number;
  gamma?: number;
  lrDecayIters?: number;
  warmupFormula?: NanoGptWarmupFormula;
  dModel?: number;
  factor?: number;
}

/** Serializable scheduler state, for checkpoints (`trainer_state.json`). */
export interface ScheduleState {
  type: ScheduleType;
  /** Completed steps (PyTorch `last_epoch`). */
  lastEpoch: number;
}

/** A schedule: a pure function of the step plus a PyTorch-like step counter. */
export interface LrSchedule {
  /** The validated configuration (defaults filled in). */
  readonly config: Readonly<Required<Pick<ScheduleConfig, 'type' | 'baseLr' | 'warmupSteps'>> & ScheduleConfig>;
  /** Learning rate after `step` completed optimizer steps (float64). @throws ValueError if step is not an integer >= 0. */
  lrAt(step: number): number;
  /** Completed steps counted by {@link step} (PyTorch `last_epoch`), starts at 0. */
  readonly lastEpoch: number;
  /** Advances the counter by one completed optimizer step. */
  step(): void;
  /** `lrAt(lastEpoch)`: the rate for the next optimizer step. */
  getLastLr(): number;
  stateDict(): ScheduleState;
  /** Restores the step counter. @throws ValueError on a malformed state or a different schedule type. */
  loadStateDict(state: ScheduleState): void;
}

const COMMON = ['type', 'baseLr', 'warmupSteps', 'numTrainingSteps'] as const;
const EXTRA: Record<ScheduleType, readonly string[]> = {
  constant: [],
  constant_with_warmup: [],
  linear: [],
  cosine: ['numCycles'],
  cosine_with_restarts: ['numCycles'],
  cosine_with_min_lr: ['numCycles', 'minLr', 'minLrRate'],
  polynomial: ['lrEnd', 'power'],
  inverse_sqrt: ['timescale'],
  warmup_stable_decay: ['numDecaySteps', 'numStableSteps', 'warmupType', 'decayType', 'minLrRatio', 'numCycles'],
  step: ['stepSize', 'gamma'],
  exponential: ['gamma'],
  nanogpt_cosine: ['lrDecayIters', 'minLr', 'warmupFormula'],
  noam: ['dModel', 'factor'],
};

/** The options a schedule of `type` takes (the common ones first). */
export function scheduleOptions(type: ScheduleType): readonly string[] {
  return [...COMMON, ...EXTRA[type]];
}
/**
 * The options of `type` beyond the common ones (what a config's lrSchedulerKwargs may set; type,
 * baseLr, warmupSteps and numTrainingSteps come from lrSchedulerType, learningRate, warmupSteps /
 * warmupRatio and maxSteps).
 */
export function scheduleExtraOptions(type: ScheduleType): readonly string[] {
  return EXTRA[type];
}
/** The schedule types that take option `name` beyond the common ones (empty for none). */
export function schedulesTaking(name: string): ScheduleType[] {
  return (Object.keys(EXTRA) as ScheduleType[]).filter((t) => EXTRA[t].includes(name));
}
/** Option names `type` reads (including the common type, baseLr, warmupSteps, numTrainingSteps). */
export function scheduleOptionNames(type: ScheduleType): readonly string[] {
  return [...COMMON, ...EXTRA[type]];
}

const WSD_SHAPES: readonly string[] = ['linear', 'cosine', '1-sqrt'];
const NANOGPT_FORMULAS: readonly string[] = ['(it+1)/(warmup_iters+1)', 'it/warmup_iters'];

function fail(type: string, msg: string): never {
  throw new ValueError(`lr schedule '${type}': ${msg}`);
}

function fmt(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** Reads an optional finite number option. */
function num(cfg: Record<string, unknown>, key: string, type: string, dflt?: number): number | undefined {
  const v = cfg[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(type, `${key} must be a finite number, got ${fmt(v)}`);
  return v;
}

function int(cfg: Record<string, unknown>, key: string, type: string, min: number, dflt?: number): number | undefined {
  const v = num(cfg, key, type, dflt);
  if (v !== undefined && (!Number.isInteger(v) || v < min)) fail(type, `${key} must be an integer >= ${min}, got ${v}`);
  return v;
}

function required<T>(v: T | undefined, key: string, type: string): T {
  if (v === undefined) fail(type, `${key} is required`);
  return v;
}

/**
 * Validates a schedule config: known type, no options foreign to the type, numbers finite,
 * step counts integers >= 0, required options present.
 * @returns the config with defaults filled in.
 * @throws ValueError naming the schedule type and the offending option.
 */
export function validateScheduleConfig(config: ScheduleConfig): LrSchedule['config'] {
  if (typeof config !== 'object' || config === null) {
    throw new ValueError(`lr schedule: config must be an object, got ${fmt(config)}`);
  }
  const raw = config as unknown as Record<string, unknown>;
  const type = raw.type;
  if (typeof type !== 'string' || !(SCHEDULE_TYPES as readonly string[]).includes(type)) {
    throw new ValueError(`lr schedule: type must be one of ${SCHEDULE_TYPES.join(', ')}; got ${fmt(type)}`);
  }
  const t = type as ScheduleType;
  const allowed = new Set<string>([...COMMON, ...EXTRA[t]]);
  for (const key of Object.keys(raw)) {
    if (!allowed.has(key) && raw[key] !== undefined) {
      fail(t, `option '${key}' does not apply (options: ${[...allowed].join(', ')})`);
    }
  }
  const out: Record<string, unknown> = { ...raw };
  out.baseLr = num(raw, 'baseLr', t, 1)!;
  if ((out.baseLr as number) < 0) fail(t, `baseLr must be >= 0, got ${out.baseLr}`);
  out.warmupSteps = int(raw, 'warmupSteps', t, 0, 0)!;
  const T = int(raw, 'numTrainingSteps', t, 0);
  const base = out.baseLr as number;
  const w = out.warmupSteps as number;
  switch (t) {
    case 'linear':
    case 'cosine':
    case 'cosine_with_restarts':
    case 'polynomial':
      required(T, 'numTrainingSteps', t);
      break;
    default:
  }
  switch (t) {
    case 'cosine':
      out.numCycles = num(raw, 'numCycles', t, 0.5);
      break;
    case 'cosine_with_restarts':
      out.numCycles = num(raw, 'numCycles', t, 1);
      if ((out.numCycles as number) <= 0) fail(t, `numCycles must be > 0, got ${out.numCycles}`);
      break;
    case 'cosine_with_min_lr': {
      required(T, 'numTrainingSteps', t);
      out.numCycles = num(raw, 'numCycles', t, 0.5);
      const minLr = num(raw, 'minLr', t);
      const rate = num(raw, 'minLrRate', t);
      if (minLr !== undefined && rate !== undefined) fail(t, 'set only one of minLr and minLrRate');
      if (minLr === undefined && rate === undefined) fail(t, 'one of minLr or minLrRate is required');
      if (minLr !== undefined && !(base > 0)) fail(t, `minLr needs baseLr > 0 (minLrRate = minLr / baseLr), got baseLr ${base}`);
      break;
    }
    case 'polynomial': {
      out.lrEnd = num(raw, 'lrEnd', t, 1e-7);
      out.power = num(raw, 'power', t, 1);
      if (!(base > (out.lrEnd as number))) fail(t, `lrEnd (${out.lrEnd}) must be smaller than baseLr (${base})`);
      break;
    }
    case 'inverse_sqrt': {
      const ts = num(raw, 'timescale', t);
      out.timescale = ts ?? (w || 10000);
      if (!((out.timescale as number) > 0)) fail(t, `timescale must be > 0, got ${out.timescale}`);
      break;
    }
    case 'warmup_stable_decay': {
      const d = required(int(raw, 'numDecaySteps', t, 0), 'numDecaySteps', t);
      let s = int(raw, 'numStableSteps', t, 0);
      if (s === undefined) {
        if (T === undefined) fail(t, 'numTrainingSteps or numStableSteps is required');
        s = T - w - d;
        if (s < 0) fail(t, `numTrainingSteps (${T}) must be >= warmupSteps + numDecaySteps (${w} + ${d})`);
      }
      out.numStableSteps = s;
      out.warmupType = raw.warmupType ?? 'linear';
      out.decayType = raw.decayType ?? 'cosine';
      for (const k of ['warmupType', 'decayType']) {
        if (!WSD_SHAPES.includes(out[k] as string)) fail(t, `${k} must be one of ${WSD_SHAPES.join(', ')}, got ${fmt(out[k])}`);
      }
      out.minLrRatio = num(raw, 'minLrRatio', t, 0);
      out.numCycles = num(raw, 'numCycles', t, 0.5);
      break;
    }
    case 'step':
      required(int(raw, 'stepSize', t, 1), 'stepSize', t);
      out.gamma = num(raw, 'gamma', t, 0.1);
      break;
    case 'exponential':
      required(num(raw, 'gamma', t), 'gamma', t);
      break;
    case 'nanogpt_cosine': {
      const L = int(raw, 'lrDecayIters', t, 0) ?? T;
      if (L === undefined) fail(t, 'lrDecayIters (or numTrainingSteps) is required');
      if (!(L > w)) fail(t, `lrDecayIters (${L}) must be greater than warmupSteps (${w}); nanoGPT divides by their difference`);
      out.lrDecayIters = L;
      out.minLr = num(raw, 'minLr', t, 0);
      out.warmupFormula = raw.warmupFormula ?? '(it+1)/(warmup_iters+1)';
      if (!NANOGPT_FORMULAS.includes(out.warmupFormula as string)) {
        fail(t, `warmupFormula must be one of ${NANOGPT_FORMULAS.map(fmt).join(', ')}, got ${fmt(out.warmupFormula)}`);
      }
      break;
    }
    case 'noam': {
      const d = required(num(raw, 'dModel', t), 'dModel', t);
      if (!(d > 0)) fail(t, `dModel must be > 0, got ${d}`);
      out.factor = num(raw, 'factor', t, 1);
      break;
    }
    default:
  }
  return out as LrSchedule['config'];
}

/** The multiplier-free lr function of a validated config. */
function lrFunction(c: LrSchedule['config']): (k: number) => number {
  const base = c.baseLr;
  const w = c.warmupSteps;
  const T = c.numTrainingSteps ?? 0;
  const warm = (k: number): number => k / Math.max(1, w);
  const progress = (k: number): number => (k - w) / Math.max(1, T - w);
  switch (c.type) {
    case 'constant':
      return () => base;
    case 'constant_with_warmup':
      return (k) => base * (k < w ? warm(k) : 1);
    case 'linear':
      return (k) => base * (k < w ? warm(k) : Math.max(0, (T - k) / Math.max(1, T - w)));
    case 'cosine': {
      const nc = c.numCycles!;
      return (k) => base * (k < w ? warm(k) : Math.max(0, 0.5 * (1 + Math.cos(Math.PI * nc * 2 * progress(k)))));
    }
    case 'cosine_with_restarts': {
      const nc = c.numCycles!;
      return (k) => {
        if (k < w) return base * warm(k);
        const p = progress(k);
        if (p >= 1) return 0;
        return base * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((nc * p) % 1))));
      };
    }
    case 'cosine_with_min_lr': {
      const nc = c.numCycles!;
      const r = c.minLrRate ?? c.minLr! / base;
      return (k) => {
        if (k < w) return base * warm(k);
        const f = 0.5 * (1 + Math.cos(Math.PI * nc * 2 * progress(k)));
        return base * Math.max(0, f * (1 - r) + r);
      };
    }
    case 'polynomial': {
      const end = c.lrEnd!;
      const power = c.power!;
      return (k) => {
        if (k < w) return base * warm(k);
        if (k > T || T === w) return end;
        return (base - end) * Math.pow(1 - (k - w) / (T - w), power) + end;
      };
    }
    case 'inverse_sqrt': {
      const ts = c.timescale!;
      return (k) => base * (k < w ? warm(k) : 1 / Math.sqrt((k + ts - w) / ts));
    }
    case 'warmup_stable_decay': {
      const s = c.numStableSteps!;
      const d = c.numDecaySteps!;
      const r = c.minLrRatio!;
      const nc = c.numCycles!;
      const shape = (kind: WsdShape, p: number, rising: boolean): number => {
        if (kind === 'linear') return rising ? p : 1 - p;
        if (kind === 'cosine') return rising ? 0.5 * (1 - Math.cos(Math.PI * p)) : 0.5 * (1 + Math.cos(Math.PI * nc * 2 * p));
        return rising ? 1 - Math.sqrt(1 - p) : 1 - Math.sqrt(p);
      };
      return (k) => {
        if (k < w) return base * Math.max(0, shape(c.warmupType!, k / Math.max(1, w), true) * (1 - r) + r);
        if (k < w + s) return base;
        if (k < w + s + d) return base * Math.max(0, shape(c.decayType!, (k - w - s) / Math.max(1, d), false) * (1 - r) + r);
        return base * r;
      };
    }
    case 'step': {
      const size = c.stepSize!;
      const g = c.gamma!;
      return (k) => base * Math.pow(g, Math.floor(k / size));
    }
    case 'exponential': {
      const g = c.gamma!;
      return (k) => base * Math.pow(g, k);
    }
    case 'nanogpt_cosine': {
      const L = c.lrDecayIters!;
      const minLr = c.minLr!;
      const current = c.warmupFormula === '(it+1)/(warmup_iters+1)';
      return (k) => {
        if (k < w) return current ? (base * (k + 1)) / (w + 1) : (base * k) / w;
        if (k > L) return minLr;
        const coeff = 0.5 * (1 + Math.cos(Math.PI * ((k - w) / (L - w))));
        return minLr + coeff * (base - minLr);
      };
    }
    case 'noam': {
      const scale = base * c.factor! * Math.pow(c.dModel!, -0.5);
      // w = 0 gives s * Infinity = Infinity, so min() picks s^-0.5 (pure inverse square root).
      const wPow = Math.pow(w, -1.5);
      return (k) => {
        const s = Math.max(k, 1);
        return scale * Math.min(Math.pow(s, -0.5), s * wPow);
      };
    }
  }
}

function checkStep(step: unknown, type: string): number {
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) {
    throw new ValueError(`lr schedule '${type}': step must be an integer >= 0 (completed optimizer steps), got ${fmt(step)}`);
  }
  return step;
}

/**
 * Builds a learning-rate schedule (see the module docs for the types and their formulas).
 * @example createSchedule({ type: 'cosine', baseLr: 6e-4, warmupSteps: 100, numTrainingSteps: 5000 }).lrAt(0) === 0
 * @throws ValueError naming the option when the config is invalid.
 */
export function createSchedule(config: ScheduleConfig): LrSchedule {
  const cfg = validateScheduleConfig(config);
  const fn = lrFunction(cfg);
  let lastEpoch = 0;
  return {
    config: Object.freeze(cfg),
    lrAt: (step: number) => fn(checkStep(step, cfg.type)),
    get lastEpoch() {
      return lastEpoch;
    },
    step() {
      lastEpoch++;
    },
    getLastLr: () => fn(lastEpoch),
    stateDict: () => ({ type: cfg.type, lastEpoch }),
    loadStateDict(state: ScheduleState) {
      if (typeof state !== 'object' || state === null) {
        throw new ValueError(`lr schedule '${cfg.type}': loadStateDict needs an object {type, lastEpoch}, got ${fmt(state)}`);
      }
      if (state.type !== cfg.type) {
        throw new ValueError(`lr schedule '${cfg.type}': loadStateDict got the state of a '${String(state.type)}' schedule`);
      }
      lastEpoch = checkStep(state.lastEpoch, cfg.type);
    },
  };
}
