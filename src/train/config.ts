/**
 * The training configuration: one zod schema with defaults. Field names follow Hugging Face
 * `TrainingArguments` in camelCase where one exists (learningRate, warmupSteps, lrSchedulerType,
 * maxSteps, numTrainEpochs, perDeviceTrainBatchSize, gradientAccumulationSteps, maxGradNorm,
 * weightDecay, adamBeta1/2, adamEpsilon, labelSmoothingFactor, bf16, evalSteps, saveSteps,
 * saveTotalLimit, loggingSteps, seed, outputDir, metricForBestModel, greaterIsBetter); trainformer's
 * own blocks are `task`, `model`, `data`, `objective` and `generation`.
 *
 * Each layer owns its slice: `data` (data/config.ts), `model` (models/schema.ts), the task fields
 * (tasks/config.ts: task, seed, objective, batch sizes, labelSmoothingFactor, generation) and the
 * `stability` block (train/stability/config.ts); this file adds the trainer's own fields.
 *
 * Every validation problem becomes a one-line `ConfigError` naming the field:
 * `learningRate: must be > 0 (got -1)`.
 */
import { readFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { z } from 'zod';
import { ConfigError, withArticle } from '../errors.js';
import { decodeUtf8 } from '../data/encoding.js';
import { invalidJsonAt } from '../io/json-error.js';
import { firstDuplicateKey } from '../io/json-duplicate-keys.js';
import { normalizeFieldNames, objectShape } from './config-names.js';
import { suggestField, unknownName } from '../models/config-suggest.js';
import { SCHEDULE_TYPES, scheduleExtraOptions, schedulesTaking, type ScheduleType } from '../optim/schedules.js';
import { OBJECTIVE_TERMS } from '../tasks/objective.js';
import { checkTaskConfig, taskConfigShape } from '../tasks/config.js';
import { StabilitySchema } from './stability/config.js';
import { readFailure } from '../io/read-failure.js';

const posInt = () => z.int().min(1);
const nonNegInt = () => z.int().min(0);
const prob = () => z.number().min(0).max(1);

const t = taskConfigShape;

export const TrainConfigSchema = z.strictObject({
  task: t.task,
  outputDir: z.string().min(1).default('runs/run').describe('Folder of the run: metrics.jsonl, checkpoints, report (relative to the working directory)'),
  /** Start a new run in an outputDir that holds an earlier run's checkpoints (deleting them), as HF's overwrite_output_dir. */
  overwriteOutputDir: z.boolean().default(false).describe('Start a new run in an outputDir that holds an earlier run\'s checkpoints (deleting them), as HF\'s overwrite_output_dir'),
  seed: t.seed,
  model: t.model,
  data: t.data,
  objective: t.objective,
  distillation: t.distillation,
  objectiveAttribution: z.boolean().default(false).describe('On logging steps, back-propagate each objective term alone and log its gradient norm and its cosine with the total gradient (one extra backward per term)'),

  optim: z.enum(['adamw', 'adam', 'sgd']).default('adamw').describe('Optimizer: adamw (decoupled weight decay), adam or sgd'),
  learningRate: z.number().gt(0).default(5e-5).describe('Peak learning rate of the schedule'),
  weightDecay: z.number().min(0).default(0).describe('Weight decay on weight matrices (decoupled for adamw); biases and norm gains are left out'),
  adamBeta1: z.number().min(0).lt(1).default(0.9).describe('Adam beta1: decay rate of the running mean of gradients'),
  adamBeta2: z.number().min(0).lt(1).default(0.999).describe('Adam beta2: decay rate of the running mean of squared gradients'),
  adamEpsilon: z.number().gt(0).default(1e-8).describe('Adam epsilon added to the denominator'),
  /** SGD momentum. */
  momentum: z.number().min(0).lt(1).default(0).describe('SGD momentum'),
  /** Clip the global gradient norm to this; 0 turns clipping off. */
  maxGradNorm: z.number().min(0).default(1).describe('Clip the global gradient norm to this; 0 turns clipping off'),
  lrSchedulerType: z.enum(SCHEDULE_TYPES).default('linear').describe('Learning-rate schedule (Hugging Face\'s names)'),
  /** Extra options of the schedule (numCycles, minLr, …; see src/optim/schedules.ts). */
  lrSchedulerKwargs: z.record(z.string(), z.unknown()).default({}).describe('Extra options of the schedule (numCycles, minLr, …; see src/optim/schedules.ts)'),
  warmupSteps: nonNegInt().default(0).describe('Optimizer steps of linear warmup from 0 to learningRate'),
  /** Warmup as a fraction of the total steps (used when warmupSteps is 0). */
  warmupRatio: prob().default(0).describe('Warmup as a fraction of the total steps (used when warmupSteps is 0)'),

  /** Total optimizer steps; -1 means numTrainEpochs × steps per epoch. */
  // Hugging Face trains by epochs for any max_steps <= 0; 0 ("no steps"?) is refused rather than guessed.
  maxSteps: z.int().min(-1).refine((v) => v !== 0, { message: 'must be > 0, or -1 (the default) to train numTrainEpochs epochs (got 0; Hugging Face would train by epochs)' }).default(-1).describe('Total optimizer steps (> 0; overrides numTrainEpochs); -1 means numTrainEpochs × steps per epoch. 0 is an error'),
  numTrainEpochs: z.number().gt(0).default(3).describe('Passes over the training data (used when maxSteps is -1)'),
  perDeviceTrainBatchSize: t.perDeviceTrainBatchSize,
  perDeviceEvalBatchSize: t.perDeviceEvalBatchSize,
  groupByLength: t.groupByLength,
  gradientAccumulationSteps: posInt().default(1).describe('Micro-batches whose gradients make one optimizer step'),
  labelSmoothingFactor: t.labelSmoothingFactor,
  bf16: z.boolean().default(false).describe('bfloat16 mixed precision: matrix products and attention on bf16 operands with float32 sums, everything else and the master weights float32 (src/amp/autocast)'),
  gradientCheckpointing: t.gradientCheckpointing,
  fp16: z.boolean().default(false).describe('float16 mixed precision as bf16, with dynamic loss scaling (GradScaler: init 2^16, x2 every 2000 clean steps, x0.5 and skip on inf/NaN)'),

  evalStrategy: z.enum(['steps', 'epoch', 'no']).default('steps').describe('When to evaluate during training: every evalSteps (steps), at the end of each epoch (epoch) or not at all (no); the end of training is evaluated in every case'),
  evalSteps: posInt().default(500).describe('Evaluate every this many optimizer steps'),
  /** Evaluate on at most this many batches at intermediate evaluations (the final one sees all). */
  maxEvalBatches: posInt().optional().describe('Evaluate on at most this many batches at intermediate evaluations (the final one sees all)'),
  saveStrategy: z.enum(['steps', 'epoch', 'no']).default('steps').describe('When to write checkpoint-<step> folders: every saveSteps and at the last step (steps), at the end of each epoch (epoch), or never (no, as Hugging Face); the final model (<outputDir>/model.safetensors) is written in every case'),
  saveSteps: posInt().default(500).describe('Write a checkpoint every this many optimizer steps'),
  saveTotalLimit: posInt().nullable().default(null).describe('Keep at most this many checkpoints (the oldest are deleted); null keeps all'),
  loggingSteps: posInt().default(10).describe('Write a train line to metrics.jsonl every this many optimizer steps'),
  /** Integrations the metrics also go to (Hugging Face's report_to): "tensorboard", or "none"; a string is one entry. */
  reportTo: z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.enum(['tensorboard', 'none']))).default([]).describe('Where metrics also go besides metrics.jsonl (Hugging Face\'s report_to): ["tensorboard"] writes TensorBoard event files into loggingDir'),
  /** TensorBoard folder; default <outputDir>/runs/<date>_<host> as Hugging Face's logging_dir. */
  loggingDir: z.string().min(1).optional().describe('TensorBoard event folder (Hugging Face\'s logging_dir); default <outputDir>/runs/<date>_<host>'),
  metricForBestModel: z.string().default('loss').describe('Evaluation metric that picks the best checkpoint and that early stopping watches (loss, accuracy, …; Hugging Face\'s eval_ prefix is accepted)'),
  loadBestModelAtEnd: z.boolean().default(false).describe('At the end, load the weights of the checkpoint with the best metricForBestModel (needs saveStrategy = evalStrategy; with steps, saveSteps a multiple of evalSteps)'),
  /** Default: true for accuracy / f1 / exactMatch-like metrics, false for losses. */
  greaterIsBetter: z.boolean().optional().describe('Default: true for accuracy / f1 / exactMatch-like metrics, false for losses'),
  earlyStoppingPatience: posInt().nullable().default(null).describe('Stop after this many evaluations without improvement; null: never'),
  earlyStoppingThreshold: z.number().min(0).default(0).describe('Smallest change of the metric that counts as an improvement'),
  ddpTimeout: z.number().gt(0).default(300).describe('Data-parallel runs (mpirun): seconds a collective may wait for the other ranks before the job stops with one line naming it'),
  ddpBucketCapMb: z.number().gt(0).default(25).describe('Data-parallel runs: size in MB of the gradient buckets whose all-reduce overlaps backward'),
  zeroStage: z.union([z.literal(0), z.literal(1)]).default(0).describe('Data-parallel runs: 1 shards the optimizer state across ranks (ZeRO stage 1), 0 keeps a whole copy on every rank'),
  /** No progress bar even on a terminal. */
  disableTqdm: z.boolean().default(false).describe('No progress bar even on a terminal'),
  generation: t.generation,
  /** NaN / loss-spike guards and gradient diagnostics (issue 8; src/train/stability/config.ts). */
  stability: StabilitySchema.prefault({}).describe('NaN / loss-spike guards and gradient diagnostics (issue 8; src/train/stability/config.ts)'),
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
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v); // JSON.stringify says null
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The schema of the object at `path` inside `schema` (undefined past a non-object). */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (const k of path) s = s === undefined ? undefined : objectShape(s)[String(k)];
  return s;
}

/**
 * One zod issue → `field: problem (got value)`; an unknown field names the nearest field of
 * `schema` at its level, when one is close (`model.nLayers: unknown field (did you mean model.nLayer?)`).
 */
export function formatIssue(issue: z.core.$ZodIssue, raw: unknown, schema: z.ZodType = TrainConfigSchema): string {
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
      // A JSON number too large for a double (1e400) parses to Infinity, which JSON shows as null.
      if (typeof got === 'number' && !Number.isFinite(got) && (i.expected === 'number' || i.expected === 'int')) return `${at(path)}must be a finite number (got ${show(got)})`;
      // zod calls a { name: value } map a "record": it is a JSON object to the user.
      const expected = withArticle(i.expected === 'int' ? 'integer' : i.expected === 'record' ? 'object' : i.expected);
      return `${at(path)}must be ${expected} (got ${show(got)})`;
    }
    case 'invalid_value': {
      const i = issue as z.core.$ZodIssueInvalidValue;
      return `${at(path)}must be one of ${i.values.map((x) => String(x)).join(', ')} (got ${show(got)})`;
    }
    case 'unrecognized_keys': {
      const i = issue as z.core.$ZodIssueUnrecognizedKeys;
      const keys = i.keys.map((k) => (path ? `${path}.${k}` : k));
      const at = schemaAt(schema, issue.path);
      const valid = at ? Object.keys(objectShape(at)) : [];
      const hints = i.keys.map((k) => suggestField(k, valid)).map((m) => (m === null ? null : path ? `${path}.${m}` : m));
      // Nothing close in a small block (data.blockSizeWarmup: start, batches): its fields are named instead.
      const hint = hints.some((h) => h !== null) ? ` (did you mean ${hints.filter((h): h is string => h !== null).join(', ')}?)`
        : path && valid.length > 0 && valid.length <= 6 ? ` (${path} has ${valid.join(', ')})` : '';
      return `${keys.join(', ')}: unknown field${keys.length > 1 ? 's' : ''}${hint}`;
    }
    default:
      return `${at(path)}${issue.message}`;
  }
}

/**
 * Validates a raw configuration (parsed JSON plus overrides) and fills in the defaults.
 * @throws ConfigError with one line, `field: problem (got value)`, for the first problem found
 *   (every unknown field: the others in its `more`).
 */
export function parseConfig(raw: unknown): TrainConfig {
  // Hugging Face snake_case / kebab-case spellings name the camelCase fields (config-names.ts).
  // The caller's object is kept (and not mutated) when it spells every field the schema's way.
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const renamed = normalizeFieldNames(structuredClone(raw as Record<string, unknown>), TrainConfigSchema);
    if (JSON.stringify(renamed) !== JSON.stringify(raw)) raw = renamed;
  }
  const r = TrainConfigSchema.safeParse(raw);
  if (!r.success) {
    // A misspelled field is often also a missing required one: name the misspelling (with its
    // did-you-mean) rather than "teacher: is required".
    // Unknown fields at several levels (`foo` and `model.nLayers`) are all named, one line each.
    const unknown = r.error.issues.filter((i) => i.code === 'unrecognized_keys');
    const errors = (unknown.length > 0 ? unknown : [r.error.issues[0]]).map((issue) => {
      const field = issue.path.map((k) => (typeof k === 'number' ? k : String(k)));
      if (issue.code === 'unrecognized_keys') field.push(issue.keys[0]);
      return new ConfigError(formatIssue(issue, raw), field);
    });
    errors[0].more = errors.slice(1);
    throw errors[0];
  }
  const c = r.data;
  // Keys the schema holds as records: did-you-mean as for unknown fields.
  for (const k of Object.keys(c.objective)) {
    if (!(OBJECTIVE_TERMS as readonly string[]).includes(k)) throw new ConfigError(unknownName('objective', k, OBJECTIVE_TERMS, 'term'), ['objective', k]);
  }
  for (const k of Object.keys(c.lrSchedulerKwargs)) {
    const message = scheduleKwargError(c.lrSchedulerType, k);
    if (message !== null) throw new ConfigError(message, ['lrSchedulerKwargs', k]);
  }
  checkTaskConfig(c);
  if (c.loadBestModelAtEnd) checkBestModelConfig(c);
  if (c.distillation) {
    // A teacher in the student's outputDir would be replaced (overwriteOutputDir) or mixed with the student's checkpoints.
    const teacher = resolve(c.distillation.teacher), out = resolve(c.outputDir);
    if (teacher === out || teacher.startsWith(out + sep)) {
      throw new ConfigError(`distillation.teacher: ${teacher} is this run's outputDir or inside it; the student would overwrite its teacher — give the student another outputDir`, ['distillation', 'teacher']);
    }
  }
  if (c.bf16 && c.fp16) {
    throw new ConfigError('bf16 and fp16 are both true: choose one mixed-precision mode (bf16 needs no loss scaling)', ['fp16']);
  }
  return c;
}

/**
 * Reads a JSON config file.
 * @throws ConfigError naming the path when it cannot be read or is not a JSON object.
 */
export function readConfigFile(path: string): Record<string, unknown> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new ConfigError(`${path}: ${readFailure(e, 'cannot read config file')}`);
  }
  let text: string;
  try {
    text = decodeUtf8(path, bytes); // drops a UTF-8 byte-order mark (Windows editors write one)
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path}:${invalidJsonAt(text, e)}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${path}: a config must be a JSON object`);
  checkDuplicateKeys(path, text);
  return v as Record<string, unknown>;
}

/**
 * @throws ConfigError naming the file, the line and the key of the first key given twice in one
 *   object (JSON.parse would keep the last value in silence): `cfg.json:44: maxSteps: given twice
 *   (also on line 43); remove one (JSON keeps only the last, silently)`.
 */
export function checkDuplicateKeys(path: string, text: string): void {
  const dup = firstDuplicateKey(text);
  if (dup) throw new ConfigError(`${path}:${dup.line}: ${dup.path}: given twice (also on line ${dup.firstLine}); remove one (JSON keeps only the last, silently)`);
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

/**
 * Hugging Face's rule for loadBestModelAtEnd: a checkpoint is a candidate only when it was written at
 * an evaluation, so checkpoints must follow the evaluations.
 * @throws ConfigError naming the field.
 */
function checkBestModelConfig(c: TrainConfig): void {
  if (c.evalStrategy === 'no') throw new ConfigError('loadBestModelAtEnd: needs evaluations (got evalStrategy "no")', ['loadBestModelAtEnd']);
  if (c.saveStrategy !== c.evalStrategy) {
    throw new ConfigError(`loadBestModelAtEnd: needs saveStrategy to equal evalStrategy (got saveStrategy "${c.saveStrategy}", evalStrategy "${c.evalStrategy}")`, ['loadBestModelAtEnd']);
  }
  if (c.saveStrategy === 'steps' && c.saveSteps % c.evalSteps !== 0) {
    throw new ConfigError(`loadBestModelAtEnd: saveSteps must be a multiple of evalSteps (got saveSteps ${c.saveSteps}, evalSteps ${c.evalSteps})`, ['loadBestModelAtEnd']);
  }
}

/** The key of `metricForBestModel` in an evaluation's metrics: Hugging Face's `eval_` prefix dropped. */
export function bestMetricKey(metricForBestModel: string): string {
  return metricForBestModel.startsWith('eval_') ? metricForBestModel.slice(5) : metricForBestModel;
}

/** Whether larger values of `metric` are better (accuracy, F1, exact match) unless the config says. */
export function greaterIsBetter(config: Pick<TrainConfig, 'metricForBestModel' | 'greaterIsBetter'>): boolean {
  if (config.greaterIsBetter !== undefined) return config.greaterIsBetter;
  return !/loss|perplexity/i.test(config.metricForBestModel);
}

/** Fields of the config that set the schedule's common options (not lrSchedulerKwargs). */
const SCHEDULE_FIELDS: Readonly<Record<string, string>> = {
  type: 'lrSchedulerType', baseLr: 'learningRate', warmupSteps: 'warmupSteps (or warmupRatio)', numTrainingSteps: 'maxSteps (or numTrainEpochs)',
};

/**
 * The message for an lrSchedulerKwargs key that `type` does not take, or null when it takes it: the
 * options it takes (or that it takes none), which field sets a common option, which schedules take
 * an option of another schedule; did-you-mean for a near miss.
 */
function scheduleKwargError(type: ScheduleType, key: string): string | null {
  const options = scheduleExtraOptions(type);
  if (options.includes(key)) return null;
  const field = SCHEDULE_FIELDS[key];
  if (field !== undefined) return `lrSchedulerKwargs.${key}: set by the config field ${field}, not by lrSchedulerKwargs`;
  if (suggestField(key, options) !== null) return unknownName('lrSchedulerKwargs', key, options, `option of the ${type} schedule`);
  const takers = schedulesTaking(key);
  const elsewhere = takers.length > 0 ? `; ${key} is an option of ${takers.join(', ')}` : '';
  if (options.length === 0) return `lrSchedulerKwargs.${key}: the ${type} schedule takes no lrSchedulerKwargs${elsewhere}`;
  if (takers.length > 0) return `lrSchedulerKwargs.${key}: not an option of the ${type} schedule (its options: ${options.join(', ')})${elsewhere}`;
  return unknownName('lrSchedulerKwargs', key, options, `option of the ${type} schedule`);
}
