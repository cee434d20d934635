/**
 * The training configuration: one zod schema with defaults. Field names follow Hugging Face
 * `TrainingArguments` in camelCase where one exists (learningRate, warmupSteps, lrSchedulerType,
 * maxSteps, numTrainEpochs, perDeviceTrainBatchSize, gradientAccumulationSteps, maxGradNorm,
 * weightDecay, adamBeta1/2, adamEpsilon, labelSmoothingFactor, bf16, evalSteps, saveSteps,
 * saveTotalLimit, loggingSteps, seed, outputDir, metricForBestModel, greaterIsBetter); trainformer's
 * own blocks are `task`, `model`, `data`, `objective` and `generation`.
 *
 * Every validation problem becomes a one-line `ConfigError` naming the field:
 * `learningRate: must be > 0 (got -1)`.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { SCHEDULE_TYPES } from '../optim/schedules.js';
import { StabilitySchema } from './stability/config.js';

const posInt = () => z.int().min(1);
const nonNegInt = () => z.int().min(0);
const prob = () => z.number().min(0).max(1);

/** Tokenizer block (the data layer's `TokenizerConfig`). */
export const TokenizerSchema = z.strictObject({
  type: z.enum(['char', 'gpt2', 'hf', 'word']).default('char'),
  path: z.string().optional(),
  configPath: z.string().optional(),
  specialTokens: z.boolean().optional(),
  minFrequency: posInt().optional(),
  maxVocabSize: posInt().optional(),
  lowercase: z.boolean().optional(),
  allowSpecial: z.boolean().optional(),
});

/** Where the examples come from and how they become token ids. */
export const DataSchema = z.strictObject({
  /** lm: a UTF-8 text file; classification / seq2seq / extractive-qa: a JSONL file. */
  train: z.string().min(1),
  /** JSONL validation file; for lm, omitted means "the last valFraction of `train`". */
  validation: z.string().min(1).optional(),
  tokenizer: TokenizerSchema.prefault({}),
  /** lm: context length T of a training block. */
  blockSize: posInt().default(64),
  /** lm: fraction of the text (its end) held out for validation when `validation` is absent. */
  valFraction: z.number().min(0).lt(1).default(0.1),
  /** Skip and count malformed JSONL lines instead of stopping with `file:line`. */
  skipMalformed: z.boolean().default(false),
  /** classification / seq2seq / QA: truncate sequences to this many tokens. */
  maxLength: posInt().default(128),
  /** seq2seq: cap on target length. */
  maxTargetLength: posInt().default(64),
  textField: z.string().default('text'),
  labelField: z.string().default('label'),
  /** Read at most this many examples per file (quick runs, tests). */
  limit: posInt().optional(),
});

/** Architecture and sizes. Extra keys pass through to the model constructor. */
export const ModelSchema = z.looseObject({
  /** Number of blocks (layers). */
  nLayer: posInt().default(4),
  /** Attention heads; must divide nEmbd. */
  nHead: posInt().default(4),
  /** Width C. */
  nEmbd: posInt().default(128),
  /** Feed-forward width; default 4·nEmbd. */
  nInner: posInt().optional(),
  dropout: prob().default(0),
  /** Linear / LayerNorm biases. */
  bias: z.boolean().default(true),
  /** Positions the model can see; default: data.blockSize (lm) or data.maxLength. */
  maxPositions: posInt().optional(),
  /** Tie the LM head to the token embedding (GPT). */
  tieWordEmbeddings: z.boolean().default(true),
  /** Encoder tasks: how the sequence is pooled for the classification head. */
  pooling: z.enum(['cls', 'mean']).default('mean'),
});

/** Text generation settings (end-of-training sample and `generate`). */
export const GenerationSchema = z.strictObject({
  prompt: z.string().default('\n'),
  maxNewTokens: posInt().default(200),
  /** 0 = greedy. */
  temperature: z.number().min(0).default(0.8),
  topK: posInt().optional(),
  topP: z.number().gt(0).max(1).optional(),
});

export const TrainConfigSchema = z.strictObject({
  task: z.enum(['lm', 'classification', 'seq2seq', 'extractive-qa']),
  outputDir: z.string().min(1).default('runs/run'),
  /** Start a new run in an outputDir that holds an earlier run's checkpoints (deleting them), as HF's overwrite_output_dir. */
  overwriteOutputDir: z.boolean().default(false),
  seed: z.int().default(42),
  model: ModelSchema.prefault({}),
  data: DataSchema,
  /** Objective terms and weights, e.g. `{ "ce": 1, "zLoss": 1e-4 }`. */
  objective: z.record(z.string(), z.number().min(0)).default({ ce: 1 }),

  optim: z.enum(['adamw', 'adam', 'sgd']).default('adamw'),
  learningRate: z.number().gt(0).default(5e-5),
  weightDecay: z.number().min(0).default(0),
  adamBeta1: z.number().min(0).lt(1).default(0.9),
  adamBeta2: z.number().min(0).lt(1).default(0.999),
  adamEpsilon: z.number().gt(0).default(1e-8),
  /** SGD momentum. */
  momentum: z.number().min(0).lt(1).default(0),
  /** Clip the global gradient norm to this; 0 turns clipping off. */
  maxGradNorm: z.number().min(0).default(1),
  lrSchedulerType: z.enum(SCHEDULE_TYPES).default('linear'),
  /** Extra options of the schedule (numCycles, minLr, …; see src/optim/schedules.ts). */
  lrSchedulerKwargs: z.record(z.string(), z.unknown()).default({}),
  warmupSteps: nonNegInt().default(0),
  /** Warmup as a fraction of the total steps (used when warmupSteps is 0). */
  warmupRatio: prob().default(0),

  /** Total optimizer steps; -1 means numTrainEpochs × steps per epoch. */
  maxSteps: z.int().min(-1).default(-1),
  numTrainEpochs: z.number().gt(0).default(3),
  perDeviceTrainBatchSize: posInt().default(8),
  perDeviceEvalBatchSize: posInt().default(8),
  gradientAccumulationSteps: posInt().default(1),
  labelSmoothingFactor: z.number().min(0).lt(1).default(0),
  bf16: z.boolean().default(false),

  evalStrategy: z.enum(['steps', 'no']).default('steps'),
  evalSteps: posInt().default(500),
  /** Evaluate on at most this many batches at intermediate evaluations (the final one sees all). */
  maxEvalBatches: posInt().optional(),
  saveStrategy: z.enum(['steps', 'no']).default('steps'),
  saveSteps: posInt().default(500),
  saveTotalLimit: posInt().nullable().default(null),
  loggingSteps: posInt().default(10),
  metricForBestModel: z.string().default('loss'),
  /** Default: true for accuracy / f1 / exactMatch-like metrics, false for losses. */
  greaterIsBetter: z.boolean().optional(),
  earlyStoppingPatience: posInt().nullable().default(null),
  earlyStoppingThreshold: z.number().min(0).default(0),
  /** No progress bar even on a terminal. */
  disableTqdm: z.boolean().default(false),
  generation: GenerationSchema.prefault({}),
  /** NaN / loss-spike guards and gradient diagnostics (issue 8; src/train/stability/config.ts). */
  stability: StabilitySchema.prefault({}),
});

/** A validated configuration with every default filled in. */
export type TrainConfig = z.infer<typeof TrainConfigSchema>;
/** What a user writes (defaults optional). */
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** One zod issue → `field: problem (got value)`. */
export function formatIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const path = issue.path.map(String).join('.');
  const got = valueAt(raw, issue.path);
  const at = (p: string) => (p === '' ? '' : `${p}: `);
  switch (issue.code) {
    case 'too_small': {
      const i = issue as z.core.$ZodIssueTooSmall;
      const what = i.origin === 'string' ? 'length' : i.origin === 'array' ? 'size' : '';
      return `${at(path)}must be ${what ? what + ' ' : ''}${i.inclusive ? '>=' : '>'} ${String(i.minimum)} (got ${show(got)})`;
    }
    case 'too_big': {
      const i = issue as z.core.$ZodIssueTooBig;
      return `${at(path)}must be ${i.inclusive ? '<=' : '<'} ${String(i.maximum)} (got ${show(got)})`;
    }
    case 'invalid_type': {
      const i = issue as z.core.$ZodIssueInvalidType;
      if (got === undefined) return `${at(path)}is required (${i.expected})`;
      const expected = i.expected === 'int' ? 'an integer' : i.expected === 'object' ? 'an object' : `a ${i.expected}`;
      return `${at(path)}must be ${expected} (got ${show(got)})`;
    }
    case 'invalid_value': {
      const i = issue as z.core.$ZodIssueInvalidValue;
      return `${at(path)}must be one of ${i.values.map((x) => String(x)).join(', ')} (got ${show(got)})`;
    }
    case 'unrecognized_keys': {
      const i = issue as z.core.$ZodIssueUnrecognizedKeys;
      const keys = i.keys.map((k) => (path ? `${path}.${k}` : k));
      return `${keys.join(', ')}: unknown field${keys.length > 1 ? 's' : ''}`;
    }
    default:
      return `${at(path)}${issue.message}`;
  }
}

/**
 * Validates a raw configuration (parsed JSON plus overrides) and fills in the defaults.
 * @throws ConfigError with one line, `field: problem (got value)`, for the first problem found.
 */
export function parseConfig(raw: unknown): TrainConfig {
  const r = TrainConfigSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(formatIssue(r.error.issues[0], raw));
  const c = r.data;
  if (c.model.nEmbd % c.model.nHead !== 0) {
    throw new ConfigError(`model.nHead: must divide model.nEmbd (${c.model.nEmbd}) (got ${c.model.nHead})`);
  }
  if (c.bf16) {
    // src/amp has bf16 storage and rounding but no autocast policy the trainer could apply yet.
    throw new ConfigError('bf16: mixed precision training is not available yet (got true); use false');
  }
  if (c.data.tokenizer.type === 'hf' && !c.data.tokenizer.path) {
    throw new ConfigError('data.tokenizer.path: is required for an hf tokenizer');
  }
  return c;
}

/**
 * Reads a JSON config file.
 * @throws ConfigError naming the path when it cannot be read or is not a JSON object.
 */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}: invalid JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${path}: a config must be a JSON object`);
  return v as Record<string, unknown>;
}

/**
 * Parses an override value from the command line: JSON when it parses (numbers, booleans, null,
 * objects), otherwise the literal string.
 */
export function parseOverrideValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Sets `field` (dotted path, e.g. `data.blockSize`) to `value` in a raw config object, creating
 * intermediate objects. Returns the same object.
 * @throws ConfigError when an intermediate field holds a non-object.
 */
export function setField(raw: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  const parts = field.split('.');
  if (parts.some((p) => p === '')) throw new ConfigError(`--${field}: not a field name`);
  let o = raw;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i];
    const next = o[k];
    if (next === undefined) o[k] = {};
    else if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      throw new ConfigError(`${parts.slice(0, i + 1).join('.')}: is not an object, cannot set ${field}`);
    }
    o = o[k] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]] = value;
  return raw;
}

/** Whether larger values of `metric` are better (accuracy, F1, exact match) unless the config says. */
export function greaterIsBetter(config: Pick<TrainConfig, 'metricForBestModel' | 'greaterIsBetter'>): boolean {
  if (config.greaterIsBetter !== undefined) return config.greaterIsBetter;
  return !/loss|perplexity/i.test(config.metricForBestModel);
}
