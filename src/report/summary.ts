/**
 * The run summary: a list of `[label, value]` rows (plain text; the HTML layer escapes them) with the
 * final and best losses, task metrics, throughput, steps, wall time and event counts.
 */
import { splitSuperseded } from './charts.js';
import type { EvalPoint, ParsedLrFind, ParsedMetrics, TrainPoint } from './types.js';

/** Formats a number for people: 5 significant digits, exponent notation when very large or small. */
export function fmtNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(3).replace(/\.?0+e/, 'e').replace('e+', 'e');
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(5)));
}

/** Formats seconds as `1 h 02 min 03 s` / `2 min 05 s` / `4.2 s`. */
export function fmtDuration(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toPrecision(3))} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h} h ${two(m)} min ${two(r)} s` : `${m} min ${two(r)} s`;
}

/** The median of the finite values, or null when there are none. */
export function median(values: (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/**
 * Wall time in seconds: the largest `elapsed` field when lines carry one, else the span between the
 * first and last `time` field; null when the log has neither.
 */
export function wallTimeSeconds(points: (TrainPoint | EvalPoint)[]): number | null {
  let maxElapsed: number | null = null;
  let first: number | null = null;
  let last: number | null = null;
  for (const p of points) {
    if (p.elapsedS !== null) maxElapsed = Math.max(maxElapsed ?? -Infinity, p.elapsedS);
    if (p.timeMs !== null) {
      first = first === null ? p.timeMs : Math.min(first, p.timeMs);
      last = last === null ? p.timeMs : Math.max(last, p.timeMs);
    }
  }
  if (maxElapsed !== null) return maxElapsed;
  if (first !== null && last !== null && last > first) return (last - first) / 1000;
  return null;
}

function lastWith<T>(xs: T[], f: (x: T) => number | null): T | undefined {
  for (let i = xs.length - 1; i >= 0; i--) {
    const v = f(xs[i]!);
    if (v !== null && Number.isFinite(v)) return xs[i];
  }
  return undefined;
}

/** Builds the summary rows. Rows whose data is absent say so rather than disappear, for the key ones. */
export function buildSummary(m: ParsedMetrics, lrFind: ParsedLrFind): [string, string][] {
  const rows: [string, string][] = [];
  const { kept } = splitSuperseded(m.train);
  const lastTrain = kept[kept.length - 1];
  rows.push(['Steps', lastTrain ? `${fmtNumber(lastTrain.step)} (${m.train.length} train log lines)` : 'no train lines']);
  const lastEpoch = lastWith(kept, (p) => p.epoch);
  if (lastEpoch) rows.push(['Epochs', fmtNumber(lastEpoch.epoch)]);

  const ft = lastWith(kept, (p) => p.loss);
  rows.push(['Final train loss', ft ? `${fmtNumber(ft.loss)} at step ${ft.step}` : '—']);
  const fe = lastWith(m.eval, (p) => p.loss);
  rows.push(['Final eval loss', fe ? `${fmtNumber(fe.loss)} at step ${fe.step}` : '—']);
  const best = m.eval.filter((p) => p.loss !== null && Number.isFinite(p.loss)).reduce<EvalPoint | undefined>((b, p) => (b === undefined || p.loss! < b.loss! ? p : b), undefined);
  if (best && fe && best.loss! < fe.loss!) rows.push(['Best eval loss', `${fmtNumber(best.loss)} at step ${best.step}`]);
  for (const [label, f] of [
    ['Eval perplexity', (p: EvalPoint) => p.perplexity],
    ['Eval accuracy', (p: EvalPoint) => p.accuracy],
    ['Eval macro-F1', (p: EvalPoint) => p.macroF1],
  ] as const) {
    const p = lastWith(m.eval, f);
    if (p) rows.push([label, `${fmtNumber(f(p))} at step ${p.step}`]);
  }
  if (ft && Object.keys(ft.terms).length > 0) {
    rows.push(['Final objective terms', Object.entries(ft.terms).map(([k, v]) => `${k} = ${fmtNumber(v)}`).join(', ')]);
  }
  const tps = median(kept.map((p) => p.tokensPerSecond));
  rows.push(['Tokens / s (median)', fmtNumber(tps)]);
  const wall = wallTimeSeconds([...m.train, ...m.eval]);
  rows.push(['Wall time', wall === null ? 'unknown (no time or elapsed field in the log)' : fmtDuration(wall)]);
  const count = (kind: string): number => m.events.filter((e) => e.kind === kind).length;
  const others = m.events.filter((e) => !['rollback', 'skip', 'warning'].includes(e.kind)).length;
  rows.push(['Events', `${count('rollback')} rollbacks, ${count('skip')} skipped steps, ${count('warning')} warnings${others ? `, ${others} other` : ''}`]);
  if (lrFind.found) {
    rows.push(['Suggested learning rate', lrFind.suggestedLr === null ? 'none in lr_find.jsonl' : `${fmtNumber(lrFind.suggestedLr)}${lrFind.rule ? ` (rule: ${lrFind.rule})` : ''}`]);
  }
  rows.push(['Malformed log lines', `${m.malformedCount + lrFind.malformedCount}`]);
  return rows;
}
