/**
 * Command-line overrides of config fields: `--maxSteps 100 --learningRate 3e-4 --data.blockSize=32
 * --bf16` → `{ maxSteps: 100, learningRate: 3e-4, data: { blockSize: 32 }, bf16: true }`, applied
 * on top of the config file before validation (so an override is checked like the file's value).
 */
import { ConfigError } from '../errors.js';
import { parseOverrideValue, setField, TrainConfigSchema } from '../train/config.js';
import { canonicalPath, normalizeFieldNames } from '../train/config-names.js';

/** A value is the next token unless that token is another `--option`; a lone flag means true. */
export function parseOverrides(args: readonly string[]): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--') || a.length === 2) throw new ConfigError(`${a}: unexpected argument (config overrides look like --field value)`);
    const body = a.slice(2);
    const eq = body.indexOf('=');
    if (eq >= 0) {
      out.push([body.slice(0, eq), parseOverrideValue(body.slice(eq + 1))]);
    } else if (i + 1 < args.length && !args[i + 1].startsWith('--')) {
      out.push([body, parseOverrideValue(args[++i])]);
    } else {
      out.push([body, true]);
    }
  }
  return out;
}

/**
 * Applies overrides to a raw config (in place). A flag in snake_case or kebab-case
 * (`--per_device_train_batch_size`, `--max-steps`) sets the camelCase field, and the file's own
 * spellings are made camelCase first, so the flag replaces the file's value whichever way each is spelled.
 */
export function applyOverrides(raw: Record<string, unknown>, overrides: readonly [string, unknown][]): Record<string, unknown> {
  if (overrides.length > 0) normalizeFieldNames(raw, TrainConfigSchema);
  for (const [k, v] of overrides) setField(raw, canonicalPath(k, TrainConfigSchema), v);
  return raw;
}
