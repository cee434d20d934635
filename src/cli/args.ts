/**
 * Command-line overrides of config fields: `--maxSteps 100 --learningRate 3e-4 --data.blockSize=32
 * --bf16` → `{ maxSteps: 100, learningRate: 3e-4, data: { blockSize: 32 }, bf16: true }`, applied
 * on top of the config file before validation (so an override is checked like the file's value).
 */
import { ConfigError } from '../errors.js';
import { parseOverrideValue, setField, TrainConfigSchema } from '../train/config.js';
import { canonicalPath, normalizeFieldNames } from '../train/config-names.js';

/**
 * A value is the next token unless that token is another `--option`; a lone flag means true.
 * @throws ConfigError for a stray argument, or a number that JSON reads as ±Infinity (`1e400`),
 *   named with the text given: `--learningRate: 1e400 is not a finite number`.
 */
export function parseOverrides(args: readonly string[]): [string, unknown][] {
  const out: [string, unknown][] = [];
  const push = (name: string, text: string): void => {
    const v = parseOverrideValue(text);
    if (typeof v === 'number' && !Number.isFinite(v)) throw new ConfigError(`--${name}: ${text} is not a finite number (it overflows to ${v})`);
    out.push([name, v]);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--') || a.length === 2) throw new ConfigError(`${a}: unexpected argument (config overrides look like --field value)`);
    const body = a.slice(2);
    const eq = body.indexOf('=');
    if (eq >= 0) {
      push(body.slice(0, eq), body.slice(eq + 1));
    } else if (i + 1 < args.length && !args[i + 1].startsWith('--')) {
      push(body, args[++i]);
    } else {
      const entry: [string, unknown] = [body, true];
      loneFlags.add(entry);
      out.push(entry);
    }
  }
  return out;
}

/** The entries of {@link parseOverrides} for a flag given with no value (`--learningRate` at the end, or before another flag). */
const loneFlags = new WeakSet<readonly [string, unknown]>();

/** Whether `entry` (of {@link parseOverrides}) is a flag given with no value: its `true` was not typed. */
export function isLoneFlag(entry: readonly [string, unknown]): boolean {
  return loneFlags.has(entry);
}

/**
 * Applies overrides to a raw config (in place). A flag in snake_case or kebab-case
 * (`--per_device_train_batch_size`, `--max-steps`) sets the camelCase field, and the file's own
 * spellings are made camelCase first, so the flag replaces the file's value whichever way each is spelled.
 */
export function applyOverrides(raw: Record<string, unknown>, overrides: readonly [string, unknown][]): Record<string, unknown> {
  if (overrides.length > 0) normalizeFieldNames(raw, TrainConfigSchema);
  const given = new Map<string, string>();
  for (const [k, v] of overrides) {
    const field = canonicalPath(k, TrainConfigSchema);
    // Two flags for one field (`--learning_rate 0.1 --learningRate 0.2`): which one was meant is a
    // guess, as for a config file that spells a field twice (refused too).
    const earlier = given.get(field);
    if (earlier !== undefined) throw new ConfigError(`--${field}: given twice (--${earlier} and --${k}); give it once`);
    given.set(field, k);
    setField(raw, field, v);
  }
  return raw;
}
