/**
 * The cache of back-translated paraphrases: a JSONL file, one
 * `{"text", "paraphrase", "pivot", "models"}` object per line (`pivot`: the intermediate translation;
 * `models`: a fingerprint of the two checkpoints that made it, so a cache made by other models is
 * recomputed rather than reused). Written whole and atomically (a crash leaves the old file).
 */
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.js';
import { asObject, readJsonl, stringField } from './jsonl.js';

/** One cached paraphrase. */
export interface ParaphraseEntry {
  text: string;
  paraphrase: string;
  pivot: string;
  models: string;
}

/**
 * Reads a cache file; a missing file is an empty cache.
 * @throws FileFormatError `path:line: …` for a malformed line (a field missing or not a string).
 */
export async function readParaphraseCache(path: string): Promise<ParaphraseEntry[]> {
  if (!existsSync(path)) return [];
  const r = await readJsonl(path, (v) => {
    const o = asObject(v);
    return { text: stringField(o, 'text'), paraphrase: stringField(o, 'paraphrase'), pivot: stringField(o, 'pivot'), models: stringField(o, 'models') };
  });
  return r.records;
}

/** Writes `entries` as the whole cache file, atomically. */
export function writeParaphraseCache(path: string, entries: readonly ParaphraseEntry[]): void {
  writeFileAtomic(path, entries.map((e) => JSON.stringify({ text: e.text, paraphrase: e.paraphrase, pivot: e.pivot, models: e.models })).join('\n') + (entries.length ? '\n' : ''));
}

/** text → paraphrase of a cache (the last line wins for a text seen twice); entries equal to their text are left out. */
export function paraphraseMap(entries: readonly ParaphraseEntry[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of entries) if (e.paraphrase.trim() !== '' && e.paraphrase !== e.text) m.set(e.text, e.paraphrase);
  return m;
}
