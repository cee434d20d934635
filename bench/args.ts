// Command-line flags of the bench scripts: node:util parseArgs plus --help and one-line errors.
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses `args` (default: the process's) against `options`. `--help` / `-h` prints `usage` and exits
 * 0; an unknown flag, a missing value or a stray positional prints one line naming it and exits 2
 * (instead of parseArgs' stack).
 */
export function benchArgs<const O extends Options>(usage: string, options: O, args: string[] = process.argv.slice(2)): { values: ReturnType<typeof parseArgs<{ options: O; args: string[] }>>['values'] } {
  const withHelp = { ...options, help: { type: 'boolean', short: 'h' } } as const;
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
  return { values: values as ReturnType<typeof parseArgs<{ options: O; args: string[] }>>['values'] };
}

/** A flag's value is unusable: prints `<script>: <message>` and exits 2. */
export function badFlag(message: string): never {
  process.stderr.write(`${path.basename(process.argv[1] ?? 'bench')}: ${message}\n`);
  process.exit(2);
}
