/**
 * The metrics log: `<outputDir>/metrics.jsonl`, one JSON object per line, in the format the run
 * report reads (src/report/parse-metrics.ts):
 * - train: `{split: 'train', step, epoch, loss, terms: {ce, zLoss, …}, lr, gradNorm, tokensPerSecond,
 *   lossScale, skipped?, time, elapsed}`
 * - eval: `{split: 'eval', step, epoch, loss, perplexity?, accuracy?, macroF1?, time, elapsed}`
 * - events: `{event: 'warning' | 'skip' | 'rollback' | 'early_stop' | 'resume', step, message}`
 * Each line is appended and flushed at once, so a killed run keeps every line logged before the kill.
 */
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { ensureDir } from '../io/ensure-dir.js';

export type MetricsRecord = Record<string, unknown>;

/** Fields that depend on the wall clock, not on the computation (left out when comparing runs). */
export const TIMING_FIELDS = ['time', 'elapsed', 'tokensPerSecond'] as const;

export class MetricsLogger {
  /** Every record written in this run (and the ones restored on resume): the log history. */
  readonly history: MetricsRecord[] = [];

  /** @param write false: keep the history in memory only (data-parallel ranks other than 0). */
  constructor(readonly path: string, readonly write = true) {
    if (write) ensureDir(dirname(path), 'outputDir');
  }

  /** Starts a fresh log (truncates the file). */
  reset(history: MetricsRecord[] = []): void {
    this.history.length = 0;
    this.history.push(...history);
    if (this.write) fs.writeFileSync(this.path, history.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  /** Appends one record. Non-finite numbers are written as null (JSON has no NaN). */
  log(record: MetricsRecord): void {
    this.history.push(record);
    if (this.write) fs.appendFileSync(this.path, JSON.stringify(record, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)) + '\n');
  }
}

/** A record without its wall-clock fields (for comparing two runs). */
export function withoutTiming(r: MetricsRecord): MetricsRecord {
  const o = { ...r };
  for (const f of TIMING_FIELDS) delete o[f];
  return o;
}
