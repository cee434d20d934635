/**
 * Line-by-line reading of JSONL logs, streamed so a long run's log never has to fit in one string.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** One non-blank line of a JSONL file: its 1-based number and the parsed value or the parse error. */
export type JsonlLine =
  | { line: number; ok: true; value: unknown }
  | { line: number; ok: false; error: string };

/**
 * Yields every line of `path` (1-based numbers; blank lines are reported with `blank`), parsing each
 * as JSON. A line that is not valid JSON yields `ok: false` with the parser's message — the caller
 * decides whether that is fatal. A trailing line cut short by a crash is just another bad line.
 * @throws the fs error when the file cannot be opened (ENOENT, EACCES).
 */
export async function* readJsonl(path: string): AsyncGenerator<JsonlLine | { line: number; blank: true }> {
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const raw of rl) {
    n++;
    const text = raw.trim();
    if (text === '') {
      yield { line: n, blank: true };
      continue;
    }
    try {
      yield { line: n, ok: true, value: JSON.parse(text) };
    } catch (e) {
      yield { line: n, ok: false, error: (e as Error).message };
    }
  }
}

/** True for a plain JSON object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads a numeric field leniently. Numbers are taken as they are; the strings `NaN`, `Infinity`,
 * `-Infinity` (and `inf`, `-inf`) become the non-finite numbers loggers write for them; null (what
 * `JSON.stringify(NaN)` writes) and an absent field give null. Anything else is `invalid`.
 */
export function readNumber(obj: Record<string, unknown>, field: string): { value: number | null; present: boolean; invalid: boolean } {
  if (!(field in obj)) return { value: null, present: false, invalid: false };
  const v = obj[field];
  if (typeof v === 'number') return { value: v, present: true, invalid: false };
  if (v === null) return { value: null, present: true, invalid: false };
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'nan') return { value: NaN, present: true, invalid: false };
    if (s === 'infinity' || s === 'inf' || s === '+infinity' || s === '+inf') return { value: Infinity, present: true, invalid: false };
    if (s === '-infinity' || s === '-inf') return { value: -Infinity, present: true, invalid: false };
  }
  return { value: null, present: true, invalid: true };
}
