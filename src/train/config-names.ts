/**
 * Other spellings of config field names, and the field reference that `trainformer train --help`
 * prints — both read off the one zod schema, so they cannot drift from it.
 *
 * - Aliases: Hugging Face's snake_case (`learning_rate`, `per_device_train_batch_size`) and kebab-case
 *   (`max-steps`, `data.block-size`) name the camelCase field they spell, at every level of the
 *   schema (`model.n_embd` → `model.nEmbd`), plus the few `TrainingArguments` names whose camelCase
 *   differs from trainformer's (`evaluation_strategy` → `evalStrategy`). A name that spells no field
 *   is left alone, so the schema (and the unknown-field check) still sees it.
 * - Hugging Face's `training_args.json` ({@link fromHfTrainingArgs}): the fields trainformer has are
 *   taken, the others are returned by name so the caller can warn once.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';

/** `per_device_train_batch_size` / `max-steps` → `perDeviceTrainBatchSize` / `maxSteps`. */
export function camelCase(name: string): string {
  return name.replace(/[_-]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Hugging Face `TrainingArguments` names (camelCased) whose trainformer field is named differently. */
const HF_RENAMES: Readonly<Record<string, string>> = {
  evaluationStrategy: 'evalStrategy',
  perGpuTrainBatchSize: 'perDeviceTrainBatchSize',
  perGpuEvalBatchSize: 'perDeviceEvalBatchSize',
};

interface ZodDef {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  defaultValue?: unknown;
  entries?: Record<string, unknown>;
  catchall?: z.ZodType;
  format?: string;
  checks?: { _zod: { def: { check: string; value?: unknown; inclusive?: boolean } } }[];
  valueType?: z.ZodType;
}
const defOf = (s: z.ZodType): ZodDef => (s as unknown as { _zod: { def: ZodDef } })._zod.def;

/** What a field's schema says once its wrappers (default, prefault, optional, nullable) are opened. */
export interface FieldInfo {
  /** The innermost schema (object, number, enum, …). */
  core: z.ZodType;
  /** The default a missing value takes; undefined when there is none. */
  default: unknown;
  hasDefault: boolean;
  optional: boolean;
  nullable: boolean;
  /** The first `.describe()` text found from the outside in. */
  description: string | undefined;
}

/** Opens a field's wrappers. */
export function fieldInfo(schema: z.ZodType): FieldInfo {
  const info: FieldInfo = { core: schema, default: undefined, hasDefault: false, optional: false, nullable: false, description: undefined };
  let s: z.ZodType | undefined = schema;
  while (s) {
    info.description ??= s.description;
    const d = defOf(s);
    if (d.type === 'default' || d.type === 'prefault') {
      info.hasDefault = true;
      info.default = typeof d.defaultValue === 'function' ? (d.defaultValue as () => unknown)() : d.defaultValue;
    } else if (d.type === 'optional') info.optional = true;
    else if (d.type === 'nullable') info.nullable = true;
    else {
      info.core = s;
      break;
    }
    s = d.innerType;
  }
  return info;
}

/** The fields an object schema declares (empty for anything else). */
export function objectShape(schema: z.ZodType): Record<string, z.ZodType> {
  const core = fieldInfo(schema).core;
  return defOf(core).type === 'object' ? (defOf(core).shape ?? {}) : {};
}

/**
 * The field `name` spells in `valid`: itself, its camelCase, or a Hugging Face rename; null when none.
 */
export function canonicalName(name: string, valid: readonly string[]): string | null {
  if (valid.includes(name)) return name;
  const camel = camelCase(name);
  if (valid.includes(camel)) return camel;
  const renamed = HF_RENAMES[camel];
  return renamed !== undefined && valid.includes(renamed) ? renamed : null;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Renames aliased keys to their camelCase fields, in place, at every level the schema describes;
 * `lrSchedulerKwargs` keys (the schedules' options) are camelCased too. Returns `raw`.
 * @throws ConfigError when a field is given under two spellings (`learning_rate` and `learningRate`).
 */
export function normalizeFieldNames(raw: Record<string, unknown>, schema: z.ZodType, prefix = ''): Record<string, unknown> {
  const shape = objectShape(schema);
  const valid = Object.keys(shape);
  for (const key of Object.keys(raw)) {
    const name = canonicalName(key, valid);
    if (name === null || name === key) continue;
    if (name in raw) throw new ConfigError(`${prefix}${key}, ${prefix}${name}: the same field given twice (${key} is another spelling of ${name})`);
    raw[name] = raw[key];
    delete raw[key];
  }
  for (const [key, sub] of Object.entries(shape)) {
    const v = raw[key];
    if (!isPlainObject(v)) continue;
    if (key === 'lrSchedulerKwargs') {
      for (const k of Object.keys(v)) {
        const c = camelCase(k);
        if (c === k) continue;
        if (c in v) throw new ConfigError(`${prefix}${key}.${k}, ${prefix}${key}.${c}: the same option given twice`);
        v[c] = v[k];
        delete v[k];
      }
    } else if (valid.length > 0) normalizeFieldNames(v, sub, `${prefix}${key}.`);
  }
  return raw;
}

/**
 * A dotted field path from the command line (`data.block-size`, `per_device_train_batch_size`) in
 * the schema's spelling; parts that spell no field are kept as written (the schema reports them).
 */
export function canonicalPath(path: string, schema: z.ZodType): string {
  const parts = path.split('.');
  let s: z.ZodType | undefined = schema;
  return parts.map((p, i) => {
    if (s === undefined) return p;
    const shape = objectShape(s);
    const inKwargs = i > 0 && parts[i - 1] === 'lrSchedulerKwargs';
    const name = inKwargs ? camelCase(p) : (canonicalName(p, Object.keys(shape)) ?? p);
    s = shape[name];
    return name;
  }).join('.');
}

/** Hugging Face `optim` values → trainformer's optimizer. */
function hfOptim(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  if (/^adamw(_|$)/.test(v)) return 'adamw';
  return v;
}

/**
 * The trainer fields of a Hugging Face `training_args.json` (`TrainingArguments.to_dict()`):
 * names mapped to trainformer's, `null` (HF's "not set") dropped, `optim: "adamw_torch"` → `adamw`.
 * Only top-level training fields are taken (the blocks `model`, `data`, … are trainformer's own).
 * @returns `fields` to merge into a config, and `unknown`: the names trainformer has no field for.
 * @throws ConfigError when `json` is not an object.
 */
export function fromHfTrainingArgs(json: unknown, schema: z.ZodType, source = 'training_args.json'): { fields: Record<string, unknown>; unknown: string[] } {
  if (!isPlainObject(json)) throw new ConfigError(`${source}: Hugging Face training arguments must be a JSON object`);
  const shape = objectShape(schema);
  const trainerFields = Object.keys(shape).filter((k) => Object.keys(objectShape(shape[k]!)).length === 0);
  const fields: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (value === null) continue;
    const name = canonicalName(key, trainerFields);
    if (name === null || name === 'objective' || name === 'lrSchedulerKwargs' && !isPlainObject(value)) {
      unknown.push(key);
      continue;
    }
    fields[name] = name === 'optim' ? hfOptim(value) : value;
  }
  if (isPlainObject(fields.lrSchedulerKwargs)) normalizeFieldNames({ lrSchedulerKwargs: fields.lrSchedulerKwargs }, schema);
  return { fields, unknown };
}
