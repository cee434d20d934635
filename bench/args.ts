// Command-line flags of the bench scripts: node:util parseArgs plus --help and one-line errors.
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * What a string flag's value must be, checked before any work: `count` an integer >= 1 (steps,
 * repetitions, sizes, threads), `int` an integer >= 0 (warmup steps), `positive` a number > 0
 * (seconds, megabytes), `number` any finite number, `counts` / `ints` comma-separated lists of
 * counts (sequence lengths) / integers >= 0 (seeds).
 */
export type NumberKind = 'count' | 'int' | 'positive' | 'number' | 'counts' | 'ints';
type BenchOptions = Record<string, Options[string] & { number?: NumberKind }>;

const KIND_TEXT: Record<NumberKind, string> = {
  count: 'an integer >= 1', int: 'an integer >= 0', positive: 'a number > 0', number: 'a finite number', counts: 'a comma-separated list of integers >= 1', ints: 'a comma-separated list of integers >= 0',
};

/** Whether `text` is a value of `kind` (`Number('')` is 0 and `Number('0x10')` 16: only plain decimals pass). */
function isKind(text: string, kind: NumberKind): boolean {
  if (kind === 'counts' || kind === 'ints') return text.split(',').every((t) => isKind(t, kind === 'counts' ? 'count' : 'int'));
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim())) return false;
  const x = Number(text);
  if (!Number.isFinite(x)) return false;
  if (kind === 'count') return Number.isInteger(x) && x >= 1;
  if (kind === 'int') return Number.isInteger(x) && x >= 0;
  if (kind === 'positive') return x > 0;
  return true;
}

/**
 * Parses `args` (default: the process's) against `options`. `--help` / `-h` prints `usage` and exits
 * 0; an unknown flag, a missing value, a stray positional or a value that is not of its option's
 * `number` kind (`--steps abc`) prints one line naming it and exits 2 (instead of parseArgs' stack,
 * or a NaN that ran a benchmark of nothing).
 */
export function benchArgs<const O extends BenchOptions>(usage: string, options: O, args: string[] = process.argv.slice(2)): { values: ReturnType<typeof parseArgs<{ options: O; args: string[] }>>['values'] } {
  const plain: Options = {};
  for (const [name, { number: _kind, ...o }] of Object.entries(options)) plain[name] = o;
  const withHelp = { ...plain, help: { type: 'boolean', short: 'h' } } as const;
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args, options: withHelp }).values;
  } catch (e) {
    if (!String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')) throw e;
    const script = path.basename(process.argv[1] ?? 'bench');
    const first = (e as Error).message.split('\n')[0].split('. ')[0].replace(/\.$/, ''); // parseArgs' first sentence names the flag
    process.stderr.write(`${script}: ${first} (--help for usage)\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  for (const [name, o] of Object.entries(options)) {
    const v = values[name];
    if (o.number !== undefined && typeof v === 'string' && !isKind(v, o.number)) badFlag(`--${name} must be ${KIND_TEXT[o.number]}, got '${v}'`);
  }
  return { values: values as ReturnType<typeof parseArgs<{ options: O; args: string[] }>>['values'] };
}

/** A flag's value is unusable: prints `<script>: <message>` and exits 2. */
export function badFlag(message: string): never {
  process.stderr.write(`${path.basename(process.argv[1] ?? 'bench')}: ${message}\n`);
  process.exit(2);
}
