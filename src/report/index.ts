/**
 * The run report (issues 7 and 8): reads a run directory's metrics.jsonl, lr_find.jsonl and
 * trainformer_config.json and writes `report.html` (one self-contained page, charts by an inlined uPlot) and
 * `loss.svg` (the loss curves, a static SVG written in Node).
 *
 * Usage:
 *   import { writeReport } from './report/index.js';   // from src/
 *   const { html, svg } = await writeReport('runs/shakespeare-char');   // paths of the files written
 */
import { stat } from 'node:fs/promises';
import { RUN_CONFIG_FILE, runFilePath } from '../train/run-files.js';
import { basename, join, resolve } from 'node:path';
import { FileFormatError, TrainformerError } from '../errors.js';
import { loadChartLibrary } from './assets.js';
import { writeFileAtomic } from '../io/atomic.js';
import { writeFailure } from '../io/write-failure.js';
import { buildCharts, splitSuperseded } from './charts.js';
import { renderPage } from './html.js';
import { parseLrFind } from './parse-lr-find.js';
import { parseMetrics } from './parse-metrics.js';
import { readConfig } from './read-config.js';
import { buildSummary } from './summary.js';
import { readSamples, samplesTable } from './samples.js';
import { DEFAULT_MAX_SVG_POINTS, renderLossSvg } from './svg.js';
import type { ChartSpec, ParsedConfig, ParsedLrFind, ParsedMetrics } from './types.js';

export { DATA_ELEMENT_ID } from './html.js';
export type { ChartSpec, EmbeddedReportData, SeriesSpec, MarkerSpec, ParsedMetrics, ParsedLrFind } from './types.js';

export interface ReportOptions {
  /** Folder the files are written to; default: the run directory. */
  outDir?: string;
  /** Page and SVG title; default `trainformer run: <run folder name>`. */
  title?: string;
  /** Most points per curve in loss.svg (thinned evenly above it); default 2000. The page keeps all. */
  maxSvgPoints?: number;
  /** Timestamp printed on the page; default now. */
  now?: Date;
}

/** A report built in memory (what `writeReport` writes), with the parsed inputs for callers and tests. */
export interface BuiltReport {
  html: string;
  svg: string;
  metrics: ParsedMetrics;
  lrFind: ParsedLrFind;
  config: ParsedConfig;
  charts: ChartSpec[];
  summary: [string, string][];
  notes: string[];
}

/** Plain-text notes about what in the logs was missing, malformed or replaced. */
function buildNotes(m: ParsedMetrics, lf: ParsedLrFind, c: ParsedConfig): string[] {
  const notes: string[] = [];
  if (!m.found) notes.push('No metrics.jsonl in the run directory.');
  if (m.malformedCount > 0) {
    notes.push(`${m.malformedCount} malformed line${m.malformedCount === 1 ? '' : 's'} in metrics.jsonl ${m.malformedCount === 1 ? 'was' : 'were'} skipped (of ${m.totalLines} lines).`);
  }
  if (m.invalidValueCount > 0) notes.push(`${m.invalidValueCount} field value${m.invalidValueCount === 1 ? ' was' : 's were'} not numbers; shown as gaps.`);
  const missing = Object.entries(m.missingFields);
  if (missing.length > 0) notes.push(`Fields missing on some lines: ${missing.map(([f, n]) => `${f} (${n} line${n === 1 ? '' : 's'})`).join(', ')}.`);
  const nonFinite = m.train.filter((p) => p.loss !== null && !Number.isFinite(p.loss)).length;
  if (nonFinite > 0) notes.push(`${nonFinite} train step${nonFinite === 1 ? ' has' : 's have'} a non-finite loss (gaps in the loss curve).`);
  const { superseded } = splitSuperseded(m.train);
  if (superseded.length > 0) {
    notes.push(`${superseded.length} train log line${superseded.length === 1 ? ' was' : 's were'} replaced by a later line for the same step (after a rollback); the earlier values are drawn as grey "rolled back" points.`);
  }
  if (lf.malformedCount > 0) notes.push(`${lf.malformedCount} malformed line${lf.malformedCount === 1 ? '' : 's'} in lr_find.jsonl ${lf.malformedCount === 1 ? 'was' : 'were'} skipped.`);
  if (c.error) notes.push(c.error);
  else if (!c.found) notes.push(`No ${RUN_CONFIG_FILE} in the run directory.`);
  return notes;
}

/**
 * Reads `runDir` and builds the page and the SVG in memory, writing nothing.
 * @throws FileFormatError when `runDir` is not a directory, or holds neither metrics.jsonl nor
 *   lr_find.jsonl (malformed lines, missing fields and a missing or bad config.json are not errors:
 *   they are counted and described on the page).
 */
export async function buildReport(runDir: string, opts: ReportOptions = {}): Promise<BuiltReport> {
  const dir = resolve(runDir);
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new FileFormatError(`report: run directory ${dir} does not exist or is not a directory`);
  const [metrics, lrFind, config, library] = await Promise.all([
    parseMetrics(join(dir, 'metrics.jsonl')),
    parseLrFind(join(dir, 'lr_find.jsonl')),
    readConfig(runFilePath(dir, RUN_CONFIG_FILE)),
    loadChartLibrary(),
  ]);
  if (!metrics.found && !lrFind.found) throw new FileFormatError(`report: ${dir} holds neither metrics.jsonl nor lr_find.jsonl`);
  const title = opts.title ?? `trainformer run: ${basename(dir)}`;
  const charts = buildCharts(metrics, lrFind, { fp16: config.rows.some(([k, v]) => k === 'fp16' && v === 'true') });
  const summary = buildSummary(metrics, lrFind);
  const notes = buildNotes(metrics, lrFind, config);
  const html = renderPage({
    title, runDir: dir, generatedAt: opts.now ?? new Date(), summary, config, notes,
    issues: [...metrics.issues, ...lrFind.issues], charts, events: metrics.events, library,
    afterCharts: samplesTable(readSamples(join(dir, 'eval_samples.json'))),
  });
  const svg = renderLossSvg(metrics, title, opts.maxSvgPoints ?? DEFAULT_MAX_SVG_POINTS);
  return { html, svg, metrics, lrFind, config, charts, summary, notes };
}

/**
 * Writes `report.html` and `loss.svg` for the run in `runDir` (into `opts.outDir`, default `runDir`),
 * each atomically with `src/io/atomic.ts` (temporary file in the same folder, fsync, rename).
 * @returns the absolute paths of the two files written: `{ html, svg }`
 * @throws FileFormatError as `buildReport`; TrainformerError `cannot write <file>: <reason> (<code>); …`
 *   when a file cannot be written (a full disk; the earlier file is kept).
 */
export async function writeReport(runDir: string, opts: ReportOptions = {}): Promise<{ html: string; svg: string }> {
  const built = await buildReport(runDir, opts);
  const outDir = resolve(opts.outDir ?? runDir);
  const html = join(outDir, 'report.html');
  const svg = join(outDir, 'loss.svg');
  for (const [file, text] of [[html, built.html], [svg, built.svg]] as const) {
    try {
      writeFileAtomic(file, text);
    } catch (e) {
      throw new TrainformerError(`cannot write ${file}: ${writeFailure(e)}; the file is left as it was`);
    }
  }
  return { html, svg };
}
