/**
 * Reads a folder of golden case files (`*.json` with a `cases` list; `index.json` and files without
 * `cases` are skipped) into {@link GoldenCase}s with their file and line.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { FileFormatError } from '../errors.js';
import { convertNonFinite } from './decode.js';
import { invalidJsonAt, lineCol } from '../io/json-error.js';
import type { GoldenCase } from './types.js';

/** A case plus where it came from. */
export interface LoadedCase {
  case: GoldenCase;
  file: string;
  /** 1-based line of the case's `"name"` in the file, when found. */
  line?: number;
}

const DEFAULT_TOLERANCE = { rtol: 1e-5, atol: 1e-6 };

/** Parses JSON, turning a syntax error into a FileFormatError naming the path and line. */
function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FileFormatError(`${file}:${invalidJsonAt(text, err)}`);
  }
}

function isTolerance(v: unknown): v is { rtol: number; atol: number } {
  return typeof v === 'object' && v !== null && typeof (v as { rtol?: unknown }).rtol === 'number' &&
    typeof (v as { atol?: unknown }).atol === 'number';
}

/**
 * Lists the case files of a folder: every `*.json` except `index.json`, sorted by name.
 * @throws FileFormatError if the folder does not exist or is not a directory.
 */
export function listCaseFiles(dir: string): string[] {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new FileFormatError(`golden folder ${dir}: no such file or directory`);
  }
  if (!st.isDirectory()) throw new FileFormatError(`golden folder ${dir}: not a directory`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'index.json')
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * Reads one case file. Returns null for a JSON file without a `cases` list (not a case file).
 * Each case gets the file's `kind` when it has none, the file's `default_tolerance` (or
 * rtol 1e-5, atol 1e-6) when it has no `tolerance`, and options with "NaN"/"Infinity" strings
 * converted to numbers.
 * @throws FileFormatError (path and line) for invalid JSON or a case without a name / kind.
 */
export function loadCaseFile(file: string): LoadedCase[] | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FileFormatError(`${file}: cannot read (${err instanceof Error ? err.message : String(err)})`);
  }
  const doc = parseJson(text, file);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  const { cases, kind: fileKind, default_tolerance: fileTol } = doc as Record<string, unknown>;
  if (!Array.isArray(cases)) return null;
  const tolerance = isTolerance(fileTol) ? fileTol : DEFAULT_TOLERANCE;
  const out: LoadedCase[] = [];
  let searchFrom = Math.max(0, text.indexOf('"cases"'));
  cases.forEach((raw: unknown, i: number) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new FileFormatError(`${file}: cases[${i}] is not an object`);
    }
    const r = raw as Record<string, unknown>;
    if (typeof r.name !== 'string' || r.name.length === 0) {
      throw new FileFormatError(`${file}: cases[${i}] has no "name"`);
    }
    const kind = typeof r.kind === 'string' ? r.kind : fileKind;
    if (typeof kind !== 'string' || kind.length === 0) {
      throw new FileFormatError(`${file}: case '${r.name}' has no "kind" (and the file none either)`);
    }
    // Locate the case by its name (one case per line in the format, but do not rely on it).
    const re = new RegExp(`"name"\\s*:\\s*${escapeRegExp(JSON.stringify(r.name))}`, 'g');
    re.lastIndex = searchFrom;
    const m = re.exec(text);
    let line: number | undefined;
    if (m) {
      line = lineCol(text, m.index).line;
      searchFrom = m.index + m[0].length;
    }
    const c: GoldenCase = {
      ...(r as object),
      name: r.name,
      kind,
      options: (convertNonFinite(r.options ?? {}) as Record<string, unknown>),
      inputs: (r.inputs ?? {}) as Record<string, unknown>,
      tolerance: isTolerance(r.tolerance) ? r.tolerance : tolerance,
    };
    out.push(line === undefined ? { case: c, file } : { case: c, file, line });
  });
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
