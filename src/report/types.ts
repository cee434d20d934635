/**
 * Data types shared by the run-report modules: what the metrics log parses into, and the chart
 * specifications embedded (as JSON) in report.html and drawn there by uPlot.
 */

/** One problem found while reading a log: 1-based line number and what was wrong. */
export interface LogIssue {
  file: string;
  line: number;
  reason: string;
}

/** A train logging step from metrics.jsonl (`split: 'train'`). Missing or invalid numbers are null. */
export interface TrainPoint {
  line: number;
  step: number;
  epoch: number | null;
  loss: number | null;
  /** Each objective term's value, e.g. `{ ce: 2.1, zLoss: 3e-4 }`. */
  terms: Record<string, number | null>;
  lr: number | null;
  gradNorm: number | null;
  tokensPerSecond: number | null;
  lossScale: number | null;
  skipped: boolean;
  /**
   * Objective attribution of the logging step (`objectiveAttribution: true`): each term's gradient
   * norm and its cosine with the total gradient; empty when not logged.
   */
  attribution: Record<string, { gradNorm: number | null; cosine: number | null }>;
  /** Wall-clock time of the line in ms since the Unix epoch, from a `time` field when present. */
  timeMs: number | null;
  /** Seconds since the run started, from an `elapsed` field when present. */
  elapsedS: number | null;
}

/** An evaluation step from metrics.jsonl (`split: 'eval'`). */
export interface EvalPoint {
  line: number;
  step: number;
  epoch: number | null;
  loss: number | null;
  perplexity: number | null;
  accuracy: number | null;
  macroF1: number | null;
  /** seq2seq: corpus BLEU and chrF2 of the decoded validation set, 0–100. */
  bleu: number | null;
  chrf: number | null;
  /** extractive-qa: SQuAD exact match and F1, percent. */
  exactMatch: number | null;
  f1: number | null;
  terms: Record<string, number | null>;
  timeMs: number | null;
  elapsedS: number | null;
}

/** A rollback / skip / warning event (kind is kept as logged, so unknown kinds still show). */
export interface RunEvent {
  line: number;
  kind: string;
  step: number | null;
  message: string;
  /** 'event' for an `{event: …}` line, 'skipped-flag' for a train line with `skipped: true`. */
  source: 'event' | 'skipped-flag';
}

/** Per-layer statistics of one logging step (`type: 'layers'`). */
export interface LayerStats {
  line: number;
  step: number;
  layers: { name: string; gradNorm: number | null; paramNorm: number | null; updateRatio: number | null }[];
}

/** Everything read from metrics.jsonl, plus the bookkeeping of what could not be used. */
export interface ParsedMetrics {
  path: string;
  found: boolean;
  totalLines: number;
  blankLines: number;
  train: TrainPoint[];
  eval: EvalPoint[];
  events: RunEvent[];
  layers: LayerStats[];
  /** Lines that could not be used at all (bad JSON, not an object, no step, unknown shape). */
  malformedCount: number;
  /** Field values present but of the wrong type (e.g. `"loss": "abc"`); the line is still used. */
  invalidValueCount: number;
  /** Fields that some lines of a kind carry and others lack: `'train.gradNorm' → count missing`. */
  missingFields: Record<string, number>;
  /** The first problems found (malformed lines and invalid values), for the page's notes. */
  issues: LogIssue[];
}

/** The learning-rate range test log (lr_find.jsonl). */
export interface ParsedLrFind {
  path: string;
  found: boolean;
  points: { lr: number; loss: number | null }[];
  suggestedLr: number | null;
  rule: string | null;
  malformedCount: number;
  issues: LogIssue[];
}

/** config.json as read: its flattened fields, or why it could not be read. */
export interface ParsedConfig {
  path: string;
  found: boolean;
  /** Dotted key → value rendered as text, in file order. */
  rows: [string, string][];
  error: string | null;
}

/** One curve of a chart; `values[i]` belongs to the chart's `x[i]`, null is a gap. */
export interface SeriesSpec {
  label: string;
  values: (number | null)[];
  color: string;
  /** 'line' joins points (bridging gaps when spanGaps), 'points' draws markers only. */
  style: 'line' | 'points';
  spanGaps: boolean;
  dash: number[] | null;
}

/** A vertical marker on a chart (events: rollback, skip, warning). */
export interface MarkerSpec {
  x: number;
  kind: string;
  color: string;
  label: string;
}

/** One uPlot chart as embedded in the page. `x` is sorted ascending with no repeats. */
export interface ChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  series: SeriesSpec[];
  /** Log scale base for the axis, or null for linear. */
  xLogBase: 10 | 2 | null;
  yLogBase: 10 | 2 | null;
  markers: MarkerSpec[];
  /** 'wide' takes the full width, 'half' shares a row with the next 'half' chart. */
  width: 'wide' | 'half';
}

/** The JSON embedded in report.html (`<script type="application/json" id="trainformer-report-data">`). */
export interface EmbeddedReportData {
  version: 1;
  title: string;
  charts: ChartSpec[];
}
