/**
 * Runs every golden case of a folder with the registered handlers and summarises the outcome.
 * Importing this module registers every handler listed in `./kinds/index.ts`.
 *
 * Usage (tests, CLI):
 *   const s = runGoldenFolder('/path/to/shared/golden', { kinds: ['lr_schedule'] });
 *   s.failed === 0 && s.passed > 0
 */
import path from 'node:path';
import { FileFormatError } from '../errors.js';
import './kinds/index.js';
import { judgeCase } from './judge.js';
import { listCaseFiles, loadCaseFile, type LoadedCase } from './load.js';
import { getHandler } from './registry.js';
import type { GoldenFailure, GoldenRunSummary, KindSummary } from './types.js';

/** Options of {@link runGoldenFolder}. */
export interface RunGoldenOptions {
  /** Only run cases of these kinds (cases of other kinds are not counted at all). */
  kinds?: readonly string[];
  /** Called after each case (for verbose output). */
  onCase?: (lc: LoadedCase, verdict: 'passed' | 'failed' | 'skipped', message?: string) => void;
}

/**
 * Loads every case file in `dir` (`*.json` with a `cases` list, `index.json` excluded) and runs
 * each case of a registered kind; cases of kinds without a handler count as skipped (never passed).
 * @returns per-kind counts, totals and the failures (file, line, first mismatch).
 * @throws FileFormatError if `dir` is missing, not a folder, holds no case file, or a case file is
 *   not valid JSON (path and line in the message).
 */
export function runGoldenFolder(dir: string, options: RunGoldenOptions = {}): GoldenRunSummary {
  const abs = path.resolve(dir);
  const files = listCaseFiles(abs);
  const loaded: Array<{ file: string; cases: LoadedCase[] }> = [];
  for (const f of files) {
    const cases = loadCaseFile(f);
    if (cases !== null) loaded.push({ file: f, cases });
  }
  if (loaded.length === 0) {
    throw new FileFormatError(`golden folder ${abs}: no case files (*.json with a "cases" list)`);
  }
  const only = options.kinds ? new Set(options.kinds) : undefined;
  const perKind: Record<string, KindSummary> = {};
  const failures: GoldenFailure[] = [];
  for (const { cases } of loaded) {
    for (const lc of cases) {
      const c = lc.case;
      if (only && !only.has(c.kind)) continue;
      const counts = (perKind[c.kind] ??= { passed: 0, failed: 0, skipped: 0 });
      const handler = getHandler(c.kind);
      if (!handler) {
        counts.skipped++;
        options.onCase?.(lc, 'skipped', 'no handler registered');
        continue;
      }
      const v = judgeCase(c, handler);
      if (v.passed) {
        counts.passed++;
        options.onCase?.(lc, 'passed');
      } else {
        counts.failed++;
        const failure: GoldenFailure = { kind: c.kind, name: c.name, file: lc.file, message: v.message ?? 'failed' };
        if (lc.line !== undefined) failure.line = lc.line;
        failures.push(failure);
        options.onCase?.(lc, 'failed', failure.message);
      }
    }
  }
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const k of Object.values(perKind)) {
    passed += k.passed;
    failed += k.failed;
    skipped += k.skipped;
  }
  return { files: loaded.map((l) => l.file), perKind, passed, failed, skipped, failures };
}

/**
 * The report printed by `npm run golden`: one line per kind (sorted)
 * `kind: P passed, F failed, S skipped`, then `FAIL kind/name (file:line): first mismatch` per
 * failing case, and last `N passed, N failed, N skipped`.
 */
export function formatGoldenSummary(s: GoldenRunSummary): string[] {
  const lines: string[] = [];
  for (const kind of Object.keys(s.perKind).sort()) {
    const k = s.perKind[kind]!;
    lines.push(`${kind}: ${k.passed} passed, ${k.failed} failed, ${k.skipped} skipped`);
  }
  for (const f of s.failures) {
    const where = `${path.basename(f.file)}${f.line !== undefined ? `:${f.line}` : ''}`;
    lines.push(`FAIL ${f.kind}/${f.name} (${where}): ${f.message}`);
  }
  lines.push(`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`);
  return lines;
}
