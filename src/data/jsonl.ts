import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { FileFormatError } from '../errors.js';
import { type Bytes, binaryEvidence, evidentEncoding, firstInvalidUtf8, lineAt, notText, notUtf8 } from './encoding.js';
import { readFailure } from '../io/read-failure.js';

/**
 * The file's text in chunks, decoded strictly as UTF-8 (a file in UTF-16 or Latin-1 is an error
 * naming its likely encoding and line, never U+FFFD in the records).
 */
async function* utf8Chunks(path: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let first = true;
  const fail = (head: Bytes): FileFormatError => {
    let bytes: Bytes = head;
    try { bytes = readFileSync(path); } catch { /* keep the head */ }
    const at = firstInvalidUtf8(bytes);
    return notUtf8(path, bytes, at < 0 ? undefined : lineAt(bytes, at));
  };
  let head: Bytes = new Uint8Array(0);
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    if (first) {
      first = false;
      head = chunk;
      if (evidentEncoding(chunk) !== null) throw notUtf8(path, chunk, 1);
      const binary = binaryEvidence(chunk);
      if (binary !== null) throw notText(path, binary);
    }
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw fail(head);
    }
    if (text !== '') yield text;
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw fail(head);
  }
  if (rest !== '') yield rest;
}

/** Thrown by a record parser for a field problem; `readJsonl` adds `file:line` to the message. */
export class RecordError extends Error {}

export interface JsonlOptions {
  /** Skip malformed lines (bad JSON, missing or mistyped field) and count them instead of throwing. */
  skipMalformed?: boolean;
  /** Stop after this many records (for quick runs and tests). */
  limit?: number;
}

/** One malformed line that was skipped. */
export interface SkippedLine {
  line: number;
  problem: string;
}

export interface JsonlResult<T> {
  path: string;
  /** The parsed records, in file order. */
  records: T[];
  /** 1-based line number of each record (same order as `records`). */
  lines: number[];
  /** Number of malformed lines skipped (0 unless `skipMalformed`). */
  skipped: number;
  /** The first 100 skipped lines with their problem, for a warning message. */
  skippedLines: SkippedLine[];
}

/**
 * Streams a JSON Lines file line by line (node:readline; memory holds the parsed records, never
 * the whole text) and parses each line with `parse`. Blank lines are ignored; a UTF-8 byte-order
 * mark on the first line is removed.
 *
 * @param parse turns one decoded JSON value into a record; throws `RecordError` (or any Error)
 *   whose message names the field and the problem.
 * @throws FileFormatError `"<path>:<line>: <problem>"` for the first malformed line (unless
 *   `skipMalformed`), or `"<path>: no such file"` (io/read-failure.ts) when the file cannot be opened.
 */
export async function readJsonl<T>(
  path: string,
  parse: (value: unknown) => T,
  options: JsonlOptions = {},
): Promise<JsonlResult<T>> {
  const result: JsonlResult<T> = { path, records: [], lines: [], skipped: 0, skippedLines: [] };
  const stream = Readable.from(utf8Chunks(path));
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (let text of rl) {
      lineNo++;
      if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.trim() === '') continue;
      let record: T;
      try {
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (e) {
          throw new RecordError(`invalid JSON (${(e as Error).message})`);
        }
        record = parse(value);
      } catch (e) {
        if (!(e instanceof Error) || e instanceof FileFormatError) throw e;
        if (!options.skipMalformed) throw new FileFormatError(`${path}:${lineNo}: ${e.message}`);
        result.skipped++;
        if (result.skippedLines.length < 100) result.skippedLines.push({ line: lineNo, problem: e.message });
        continue;
      }
      result.records.push(record);
      result.lines.push(lineNo);
      if (options.limit !== undefined && result.records.length >= options.limit) break;
    }
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw new FileFormatError(`${path}: ${readFailure(e)}`);
  } finally {
    rl.close();
    stream.destroy();
  }
  return result;
}

/** Checks that a parsed JSON line is an object. @throws RecordError */
export function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RecordError(`expected a JSON object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** @throws RecordError naming the field when it is missing or not a string. */
export function stringField(obj: Record<string, unknown>, field: string): string {
  const v = obj[field];
  if (typeof v !== 'string') throw new RecordError(missingOr(field, v, 'a string'));
  return v;
}

/** A label: a string or an integer. @throws RecordError naming the field otherwise. */
export function labelField(obj: Record<string, unknown>, field: string): string | number {
  const v = obj[field];
  if (typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))) return v;
  throw new RecordError(missingOr(field, v, 'a string or an integer'));
}

function missingOr(field: string, v: unknown, expected: string): string {
  return v === undefined ? `field "${field}" is missing` : `field "${field}" must be ${expected}, got ${describe(v)}`;
}

/**
 * Short description of a JSON value for messages: its type and a clipped rendering (`number 3`,
 * `string "a"`), the type alone for an object or array, and `null` once (it was "null null").
 */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  const type = Array.isArray(v) ? 'array' : typeof v;
  let s = JSON.stringify(v) ?? String(v);
  if (s.length > 40) s = `${s.slice(0, 37)}...`;
  return type === 'object' || type === 'array' ? type : `${type} ${s}`;
}
