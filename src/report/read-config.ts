/**
 * Reads a run's config.json for the report's summary: flattened to dotted keys (`optimizer.lr`),
 * values shown as JSON text. A missing or unreadable file is reported on the page, never fatal.
 */
import { readFile } from 'node:fs/promises';
import { isRecord } from './jsonl.js';
import type { ParsedConfig } from './types.js';

/** Longest value shown in the summary table; longer ones are cut with an ellipsis. */
const MAX_VALUE_CHARS = 200;

/** Flattens nested objects into `[dotted key, JSON text]` rows; arrays stay whole. */
export function flattenConfig(value: Record<string, unknown>, prefix = '', rows: [string, string][] = []): [string, string][] {
  for (const [k, v] of Object.entries(value)) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (isRecord(v) && Object.keys(v).length > 0) {
      flattenConfig(v, key, rows);
    } else {
      let text = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
      if (text.length > MAX_VALUE_CHARS) text = text.slice(0, MAX_VALUE_CHARS - 1) + '…';
      rows.push([key, text]);
    }
  }
  return rows;
}

/** Reads and flattens `path`; `found: false` when absent, `error` set when it is not a JSON object. */
export async function readConfig(path: string): Promise<ParsedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path, found: false, rows: [], error: null };
    return { path, found: false, rows: [], error: `cannot read ${path}: ${(e as Error).message}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { path, found: true, rows: [], error: `${path} is not valid JSON (${(e as Error).message})` };
  }
  if (!isRecord(value)) return { path, found: true, rows: [], error: `${path} is not a JSON object` };
  return { path, found: true, rows: flattenConfig(value), error: null };
}
