// Commands other than `train` declare their flags in camelCase (commander matches long flags
// literally); users of Hugging Face's tools type kebab-case or snake_case. This maps such a flag to
// the command's declared camelCase one before commander sees it, so `--max-new-tokens 20` and
// `--max_new_tokens 20` mean `--maxNewTokens 20`. `train` handles its own overrides (cli/args.ts).
import type { Command } from 'commander';

const toCamel = (s: string): string => s.replace(/[-_]([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/**
 * Rewrites `--kebab-case` / `--snake_case` flags of the subcommand named by argv[0] to the camelCase
 * long flag the command declares. Flags the command declares as written, and unknown flags, are
 * left as they are (commander then names an unknown one). Returns a new array.
 */
export function normaliseFlagNames(program: Command, argv: readonly string[]): string[] {
  const cmd = program.commands.find((c) => c.name() === argv[0]);
  if (!cmd || cmd.name() === 'train') return [...argv];
  const declared = new Set(cmd.options.map((o) => o.long).filter((l): l is string => !!l));
  return argv.map((a, i) => {
    if (i === 0 || !a.startsWith('--')) return a;
    const eq = a.indexOf('=');
    const name = eq < 0 ? a : a.slice(0, eq);
    if (declared.has(name)) return a;
    const camel = '--' + toCamel(name.slice(2));
    return declared.has(camel) ? camel + (eq < 0 ? '' : a.slice(eq)) : a;
  });
}
