/**
 * A training config as the CLI reads it: the `--config` file with its field names made camelCase and
 * its data paths resolved against the file's folder (so a config and its data move together), then
 * Hugging Face `--training-args` (training_args.json) fields, then `--<field>` flags, whose paths stay
 * relative to the working directory as any command-line path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { ConfigError, FileFormatError } from '../errors.js';
import { checkDuplicateKeys, readConfigFile, TrainConfigSchema } from '../train/config.js';
import { fromHfTrainingArgs, normalizeFieldNames } from '../train/config-names.js';
import { applyOverrides, isLoneFlag, parseOverrides } from './args.js';
import { lineOfField } from './config-locate.js';
import { canonicalPath } from '../train/config-names.js';
import { readFailure } from '../io/read-failure.js';
import { invalidJsonAt } from '../io/json-error.js';

/**
 * The fields of a config that name files or folders read (data, tokenizer, pretrained model, teacher run):
 * relative to the config file's folder. outputDir is a place to write, cwd-relative as in HF.
 */
const DATA_PATHS = [['data', 'train'], ['data', 'validation'], ['data', 'tokenizer', 'path'], ['data', 'tokenizer', 'configPath'], ['data', 'augment', 'backTranslation'], ['model', 'fromPretrained'], ['distillation', 'teacher'], ['distillation', 'transferData']] as const;

/** Makes the relative data paths of a (camelCase) raw config absolute against `dir`, in place. */
export function resolveDataPaths(raw: Record<string, unknown>, dir: string): Record<string, unknown> {
  for (const path of DATA_PATHS) {
    let o: unknown = raw;
    for (const k of path.slice(0, -1)) o = o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
    if (o === null || typeof o !== 'object') continue;
    const obj = o as Record<string, unknown>;
    const key = path[path.length - 1]!;
    const v = obj[key];
    if (typeof v === 'string' && v !== '' && !isAbsolute(v)) {
      obj[key] = resolve(dir, v);
      if (RUN_FOLDERS.has(path.join('.'))) checkRunFolderPath(path.join('.'), v, dir);
    }
  }
  return raw;
}

/** Fields naming an earlier run's folder: the ones a user may write relative to the working directory, as its outputDir was. */
const RUN_FOLDERS = new Set(['distillation.teacher', 'model.fromPretrained']);

/**
 * A run folder missing where the config file's folder puts it but present relative to the working
 * directory (where the earlier run's outputDir was taken): one line saying so and what to write.
 * @throws ConfigError naming the field.
 */
function checkRunFolderPath(field: string, given: string, dir: string): void {
  const asConfig = resolve(dir, given), asCwd = resolve(given);
  if (asConfig === asCwd || existsSync(asConfig) || !existsSync(asCwd)) return;
  throw new ConfigError(`${field}: ${asConfig}: no such folder (paths in a config file are relative to its folder, ${dir}); ${JSON.stringify(given)} is found relative to the working directory: write ${JSON.stringify(relative(dir, asCwd))} or an absolute path`, field.split('.'));
}

/**
 * Reads `--config` (and `--training-args`), applies the flag overrides in `rest`, and returns the raw
 * config for `parseConfig` plus warnings to print (the training_args.json fields trainformer lacks,
 * named in one line).
 * @throws ConfigError naming the file when one cannot be read or is not a JSON object.
 */
export function loadRawConfig(configPath: string, rest: readonly string[], trainingArgsPath?: string): { raw: Record<string, unknown>; warnings: string[] } {
  const raw = resolveDataPaths(normalizeFieldNames(readConfigFile(configPath), TrainConfigSchema), dirname(resolve(configPath)));
  const warnings: string[] = [];
  if (trainingArgsPath !== undefined) {
    let text: string;
    try {
      text = readFileSync(trainingArgsPath, 'utf8');
    } catch (e) {
      throw new ConfigError(`--training-args: ${trainingArgsPath}: ${readFailure(e, 'cannot read Hugging Face training arguments')}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`--training-args: ${trainingArgsPath}:${invalidJsonAt(text, e)}`);
    }
    try {
      checkDuplicateKeys(trainingArgsPath, text);
    } catch (e) {
      throw new ConfigError(`--training-args: ${(e as Error).message}`);
    }
    const { fields, unknown } = fromHfTrainingArgs(json, TrainConfigSchema, trainingArgsPath);
    Object.assign(raw, fields);
    if (unknown.length > 0) warnings.push(`${trainingArgsPath}: ${unknown.length} field${unknown.length > 1 ? 's' : ''} trainformer does not have, ignored: ${unknown.join(', ')}`);
  }
  return { raw: applyOverrides(raw, parseOverrides(rest)), warnings };
}

/**
 * A data file's problem found while reading it — not UTF-8, unreadable, a bad line: a
 * FileFormatError whose message starts with the file's path, as the readers write it — with the
 * config field that names the file in front, located as {@link locateConfigError} locates a field
 * (its line in the config file, or the flag that gave it): `cfg.json:5: data.train:
 * /abs/bad.txt:2: not UTF-8 (looks like Latin-1 …)`. It becomes a ConfigError (`config error:`), the
 * shape of a missing, empty or folder data file's (`cfg.json:5: data.train: /abs/x: no such file`):
 * binary and non-UTF-8 files said `error:` with that location (trial s9 F13). A file that two fields
 * name (data.train = data.validation) names both; a message that names its field already gets the
 * line alone. Any other error goes to {@link locateConfigError}.
 */
export function locateTaskError(e: unknown, config: object, configPath: string, rest: readonly string[], trainingArgsPath?: string): unknown {
  if (!(e instanceof FileFormatError)) return locateConfigError(e, configPath, rest, trainingArgsPath);
  const fields = DATA_PATHS.filter((path) => {
    const v = valueAt(config, path);
    return typeof v === 'string' && v !== '' && e.message.startsWith(`${v}:`);
  });
  if (fields.length === 0) return e;
  const [first] = fields;
  // A message that already names its field (`… no examples (data.train must hold …)`) gets the line only.
  const names = fields.map((f) => f.join('.')).filter((f) => !new RegExp(`(^|[^\\w.])${f.replace(/\./g, '\\.')}(?![\\w])`).test(e.message));
  const message = names.length > 0 ? `${names.join(' and ')}: ${e.message}` : e.message;
  return locateConfigError(new ConfigError(message, first), configPath, rest, trainingArgsPath);
}

/** The value at `path` in a nested object, or undefined. */
function valueAt(o: unknown, path: readonly string[]): unknown {
  for (const k of path) o = o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
  return o;
}

/**
 * A ConfigError about one field that the config file (not a `--flag`) set, with the file's name and
 * the field's line in front: `cfg.json:7: model.nLayers: unknown field (did you mean model.nLayer?)`.
 * A field that `--training-args` set (it overrides the config file) is located in that file instead:
 * `ta.json:3: learningRate: must be a number (got "abc")`. An error about a file's field that names a
 * field a flag set (a check of both) names the flag first: `--model.nEmbd 130, with cfg.json:15:
 * model.nHead: must divide model.nEmbd (130) (got 4)`. An error about a field a flag set names the
 * flag as typed instead of the field: `--learning-rate: must be > 0 (got -1)`. Anything else is
 * returned unchanged.
 */
export function locateConfigError(e: unknown, configPath: string, rest: readonly string[], trainingArgsPath?: string): unknown {
  if (!(e instanceof ConfigError) || !e.field || e.field.length === 0) return e;
  const field = e.field.map(String).join('.');
  let given: [string, unknown][];
  try {
    given = parseOverrides(rest);
  } catch {
    given = [];
  }
  const flags = given.map(([k]) => canonicalPath(k, TrainConfigSchema));
  if (flags.some((f) => field === f || field.startsWith(`${f}.`))) return flagOf(e, given);
  // A check of two fields, the file's and a flag's (model.nHead from the file must divide the
  // --model.nEmbd given): the flag is named first, as the value that broke it, then the file's line.
  const mentioned = flags.findIndex((f) => new RegExp(`(^|[^\\w.])${f.replace(/\./g, '\\.')}(?![\\w])`).test(e.message));
  if (mentioned >= 0) {
    const [name, value] = given[mentioned]!;
    const located = at(configPath, e.field, e);
    return new ConfigError(`--${name} ${typeof value === 'string' ? value : JSON.stringify(value)}, with ${located.message}`, e.field);
  }
  // A block that only flags created (--data.blockSizeWarmup.batches 10 without start): not the file's line.
  const parent = e.field.slice(0, -1).map(String).join('.');
  if (parent !== '' && flags.some((f) => f.startsWith(`${parent}.`)) && !fileHas(configPath, e.field.slice(0, -1))) return e;
  if (trainingArgsPath !== undefined) {
    const key = trainingArgsKey(trainingArgsPath, String(e.field[0]));
    if (key !== null) return at(trainingArgsPath, [key, ...e.field.slice(1)], e);
  }
  return at(configPath, e.field, e);
}

/**
 * A ConfigError about a field whose value a flag of `given` (parsed overrides, as typed) set, named
 * by that flag instead of the field: `learningRate: must be > 0 (got -1)` becomes `--learning-rate:
 * must be > 0 (got -1)`; a field inside a block the flag gave follows it: `--data: blockSize: …`.
 * The last flag setting the field counts (as in applyOverrides). Anything else is returned unchanged.
 */
export function flagOf(e: unknown, given: readonly [string, unknown][]): unknown {
  if (!(e instanceof ConfigError) || !e.field || e.field.length === 0) return e;
  const field = e.field.map(String).join('.');
  let own = -1, flagField = '';
  given.forEach(([k], i) => {
    const f = canonicalPath(k, TrainConfigSchema);
    if (field === f || field.startsWith(`${f}.`)) { own = i; flagField = f; }
  });
  if (own < 0) return e;
  const [typed] = given[own]!;
  // An unknown field is not a bad value: its message names the field and the nearest known one, both
  // as flags when the flag is the field (`--learningRat: unknown field (did you mean --learningRate?)`).
  if (e.message.startsWith(`${field}: unknown field`)) {
    if (field !== flagField) return e;
    const rest = e.message.slice(`${field}: unknown field`.length).replace(/^ \(did you mean ([^?]+)\?\)/, (_m, h: string) => ` (did you mean ${h.split(', ').map((x) => `--${x}`).join(', ')}?)`);
    return new ConfigError(`--${typed}: unknown field${rest}`, e.field);
  }
  // A flag given no value (`--learningRate` last, or before another flag) reads as true: a field
  // that wants something else says it needs a value, not `must be a number (got true)`.
  if (field === flagField && isLoneFlag(given[own]!) && / \(got true\)$/.test(e.message)) {
    const want = e.message.slice(field.length + 2).replace(/ \(got true\)$/, '').replace(/^must be /, '');
    return new ConfigError(`--${typed}: needs a value (${want})`, e.field);
  }
  const inner = field === flagField ? '' : `${field.slice(flagField.length + 1)}: `;
  const body = e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message;
  return new ConfigError(`--${given[own]![0]}: ${inner}${body}`, e.field);
}

/** Whether the JSON file `path` holds the object at `field` (every key of the path present). */
function fileHas(path: string, field: readonly (string | number)[]): boolean {
  try {
    return lineOfField(readFileSync(path, 'utf8'), field, true) !== null;
  } catch {
    return false;
  }
}

/** `e` with `path:line: ` in front, the line of `field` in the JSON file `path` (unchanged when not found). */
function at(path: string, field: readonly (string | number)[], e: ConfigError): ConfigError {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return e;
  }
  const line = lineOfField(text, field);
  return line === null ? e : new ConfigError(`${path}:${line}: ${e.message}`, e.field);
}

/** The key of a Hugging Face training_args.json that sets the top-level config field `name` (`learning_rate` for learningRate), or null. */
function trainingArgsKey(path: string, name: string): string | null {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return null;
  for (const [k, v] of Object.entries(json)) {
    if (name in fromHfTrainingArgs({ [k]: v }, TrainConfigSchema, path).fields) return k;
  }
  return null;
}
