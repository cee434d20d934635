#!/usr/bin/env node
/**
 * `npm run golden -- <folder> [--kinds a,b] [--verbose]`: runs every golden case in a folder
 * (format: ../shared/golden/README.md) and prints one line per kind, the failing cases with their
 * first mismatch, and `N passed, N failed, N skipped`.
 * Exit code: 0 all run cases passed, 1 some failed, 2 bad usage or bad folder (one-line error).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TrainformerError } from '../errors.js';
import { formatGoldenSummary, runGoldenFolder } from '../golden/run.js';

const USAGE = 'usage: golden <folder> [--kinds kind1,kind2] [--verbose]';

/**
 * Runs the golden CLI on `argv` (arguments after the script name), writing to `out` / `err`.
 * @returns the exit code (0 passed, 1 failures, 2 usage or folder error).
 */
export function goldenMain(
  argv: readonly string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): number {
  let folder: string | undefined;
  let kinds: string[] | undefined;
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      out(USAGE);
      return 0;
    } else if (a === '--verbose' || a === '-v') {
      verbose = true;
    } else if (a === '--kinds' || a.startsWith('--kinds=')) {
      const v = a === '--kinds' ? argv[++i] : a.slice('--kinds='.length);
      if (!v) {
        err(`golden: --kinds needs a comma-separated list of kinds; ${USAGE}`);
        return 2;
      }
      kinds = v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    } else if (a.startsWith('-')) {
      err(`golden: unknown option '${a}'; ${USAGE}`);
      return 2;
    } else if (folder === undefined) {
      folder = a;
    } else {
      err(`golden: one folder expected, got '${folder}' and '${a}'; ${USAGE}`);
      return 2;
    }
  }
  if (folder === undefined) {
    err(`golden: no folder given; ${USAGE}`);
    return 2;
  }
  try {
    const opts = verbose
      ? {
          onCase: (lc: { case: { kind: string; name: string } }, verdict: string, message?: string) =>
            out(`  ${verdict.padEnd(7)} ${lc.case.kind}/${lc.case.name}${message && verdict !== 'failed' ? ` (${message})` : ''}`),
        }
      : {};
    const summary = runGoldenFolder(folder, kinds ? { ...opts, kinds } : opts);
    for (const line of formatGoldenSummary(summary)) out(line);
    return summary.failed > 0 ? 1 : 0;
  } catch (e) {
    if (e instanceof TrainformerError) {
      err(`golden: ${e.message.split('\n')[0]}`);
      return 2;
    }
    throw e;
  }
}

// Run when executed directly (node dist/src/cli/golden.js), not when imported by the main CLI.
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(path.resolve(entry)).href) {
  process.exitCode = goldenMain(process.argv.slice(2));
}
