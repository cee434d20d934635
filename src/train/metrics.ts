/**
 * The metrics log: `<outputDir>/metrics.jsonl`, one JSON object per line, in the format the run
 * report reads (src/report/parse-metrics.ts):
 * - train: `{split: 'train', step, epoch, loss, terms: {ce, zLoss, …}, lr, gradNorm, tokensPerSecond,
 *   lossScale, skipped?, time, elapsed}`
 * - eval: `{split: 'eval', step, epoch, loss, perplexity?, accuracy?, macroF1?, time, elapsed}`
 * - events: `{event: 'warning' | 'skip' | 'rollback' | 'early_stop' | 'resume', step, message}`
 * Each line is appended and flushed at once, so a killed run keeps every line logged before the kill;
 * a write that fails (a full disk) never loses the lines already there.
 */
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { TrainformerError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ensureDir } from '../io/ensure-dir.js';
import { writeFailure } from '../io/write-failure.js';

export type MetricsRecord = Record<string, unknown>;

/** Fields that depend on the wall clock, not on the computation (left out when comparing runs). */
export const TIMING_FIELDS = ['time', 'elapsed', 'tokensPerSecond'] as const;

const line = (r: MetricsRecord): string => JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)) + '\n';

export class MetricsLogger {
  /** Every record written in this run (and the ones restored on resume): the log history. */
  readonly history: MetricsRecord[] = [];

  /** @param write false: keep the history in memory only (data-parallel ranks other than 0). */
  constructor(readonly path: string, readonly write = true) {
    if (write) ensureDir(dirname(path), 'outputDir');
  }

  /**
   * Starts a fresh log holding `history` (a resume: the lines up to its checkpoint). The file is
   * replaced atomically: a write that fails (a full disk) leaves the earlier file as it was — it used
   * to be truncated first, so a resume on a full disk left metrics.jsonl at 0 bytes.
   * @throws TrainformerError `cannot write <path>: <reason> (<code>); the file is left as it was`.
   */
  reset(history: MetricsRecord[] = []): void {
    this.history.length = 0;
    this.history.push(...history);
    if (!this.write) return;
    try {
      writeFileAtomic(this.path, history.map(line).join(''));
    } catch (e) {
      throw new TrainformerError(`cannot write ${this.path}: ${writeFailure(e)}; the file is left as it was`);
    }
  }

  /**
   * Appends one record. Non-finite numbers are written as null (JSON has no NaN). An append that
   * fails (a full disk) is undone: the file is cut back to its length before it, so no torn line is
   * left and every earlier line is kept.
   * @throws TrainformerError `cannot append to <path>: <reason> (<code>); its earlier lines are kept`.
   */
  log(record: MetricsRecord): void {
    this.history.push(record);
    if (!this.write) return;
    let before: number | null = null;
    try {
      before = fs.statSync(this.path).size;
    } catch {
      // No file yet: a failed append removes the file it created.
    }
    try {
      fs.appendFileSync(this.path, line(record));
    } catch (e) {
      try {
        if (before === null) fs.rmSync(this.path, { force: true });
        else if (fs.statSync(this.path).size !== before) fs.truncateSync(this.path, before);
      } catch {
        // Cutting a file back needs no space; if even that fails, the append's error is the one to report.
      }
      throw new TrainformerError(`cannot append to ${this.path}: ${writeFailure(e)}; its earlier lines are kept`);
    }
  }
}

/** A record without its wall-clock fields (for comparing two runs). */
export function withoutTiming(r: MetricsRecord): MetricsRecord {
  const o = { ...r };
  for (const f of TIMING_FIELDS) delete o[f];
  return o;
}
