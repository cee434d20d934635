/**
 * Turns parsed logs into chart specifications (`ChartSpec`) for uPlot: one shared, ascending x array
 * per chart and one value array per curve, null where a curve has no value (uPlot's aligned-data
 * layout). Non-finite values (a NaN loss at a skipped step) become null: JSON cannot carry them and
 * the event markers show what happened there.
 */
import type { EvalPoint, ChartSpec, MarkerSpec, ParsedLrFind, ParsedMetrics, RunEvent, SeriesSpec, TrainPoint } from './types.js';

export const COLORS = {
  train: '#1f77b4',
  eval: '#ff7f0e',
  rolledBack: '#7a7a7a',
  other: '#2ca02c',
} as const;

/** Marker colour per event kind; unknown kinds are grey. */
export const EVENT_COLORS: Record<string, string> = {
  rollback: '#d62728',
  skip: '#9467bd',
  warning: '#17becf',
};
export const OTHER_EVENT_COLOR = '#7f7f7f';

/** A curve before alignment: its (x, y) points in any order; a repeated x keeps the last y. */
export interface RawSeries {
  label: string;
  points: { x: number; y: number | null }[];
  color: string;
  style?: 'line' | 'points';
  spanGaps?: boolean;
  dash?: number[] | null;
}

const finiteOrNull = (v: number | null): number | null => (v !== null && Number.isFinite(v) ? v : null);

/**
 * Aligns curves on the sorted union of their x values (uPlot needs one ascending x array per chart).
 * Non-finite y values become null (a gap).
 */
export function alignSeries(raw: RawSeries[]): { x: number[]; series: SeriesSpec[] } {
  const xs = new Set<number>();
  for (const s of raw) for (const p of s.points) if (Number.isFinite(p.x)) xs.add(p.x);
  const x = [...xs].sort((a, b) => a - b);
  const index = new Map(x.map((v, i) => [v, i]));
  const series = raw.map((s): SeriesSpec => {
    const values: (number | null)[] = new Array<number | null>(x.length).fill(null);
    for (const p of s.points) {
      const i = index.get(p.x);
      if (i !== undefined) values[i] = finiteOrNull(p.y);
    }
    return { label: s.label, values, color: s.color, style: s.style ?? 'line', spanGaps: s.spanGaps ?? false, dash: s.dash ?? null };
  });
  return { x, series };
}

/**
 * Splits train points into the curve (the last logged value of each step) and the values that a
 * later line for the same step replaced — what a rollback re-did. Both keep log order.
 */
export function splitSuperseded(train: TrainPoint[]): { kept: TrainPoint[]; superseded: TrainPoint[] } {
  const lastLine = new Map<number, number>();
  for (const p of train) lastLine.set(p.step, p.line);
  const kept: TrainPoint[] = [];
  const superseded: TrainPoint[] = [];
  for (const p of train) (lastLine.get(p.step) === p.line ? kept : superseded).push(p);
  return { kept, superseded };
}

/** Vertical markers for events that name a step. */
export function eventMarkers(events: RunEvent[]): MarkerSpec[] {
  return events
    .filter((e) => e.step !== null)
    .map((e) => ({ x: e.step!, kind: e.kind, color: EVENT_COLORS[e.kind] ?? OTHER_EVENT_COLOR, label: e.message }));
}

/** Log base 10 when every finite value is positive (and there is one), else linear. */
function logIfPositive(series: SeriesSpec[], base: 10 | 2 = 10): 10 | 2 | null {
  let any = false;
  for (const s of series) for (const v of s.values) if (v !== null) {
    if (v <= 0) return null;
    any = true;
  }
  return any ? base : null;
}

const hasValue = (series: SeriesSpec[]): boolean => series.some((s) => s.values.some((v) => v !== null));

/** Evenly spaced hues for many curves (per-layer plots). */
export function paletteColor(i: number, n: number): string {
  return `hsl(${Math.round((i * 360) / Math.max(n, 1))}, 65%, 42%)`;
}

function chart(id: string, title: string, yLabel: string, raw: RawSeries[], extra: Partial<ChartSpec> = {}): ChartSpec {
  const { x, series } = alignSeries(raw);
  return { id, title, xLabel: 'step', yLabel, x, series, xLogBase: null, yLogBase: null, markers: [], width: 'half', ...extra };
}

/**
 * Builds every chart the data supports, in page order: loss (with event markers), each objective
 * term, objective attribution (per-term gradient norm and cosine), learning rate, gradient norm, tokens/s, loss scale (fp16 runs only), eval metrics, per-layer gradient norms and
 * update ratios, and the lr-finder curve. Charts without any value are left out.
 */
export function buildCharts(m: ParsedMetrics, lrFind: ParsedLrFind, opts: { fp16?: boolean } = {}): ChartSpec[] {
  const charts: ChartSpec[] = [];
  const { kept, superseded } = splitSuperseded(m.train);
  const markers = eventMarkers(m.events);
  const trainOf = (f: (p: TrainPoint) => number | null) => kept.map((p) => ({ x: p.step, y: f(p) }));

  // Loss: train, eval, and the values a rollback replaced.
  const lossRaw: RawSeries[] = [{ label: 'train loss', points: trainOf((p) => p.loss), color: COLORS.train }];
  if (m.eval.length > 0) lossRaw.push({ label: 'eval loss', points: m.eval.map((p) => ({ x: p.step, y: p.loss })), color: COLORS.eval, spanGaps: true });
  if (superseded.some((p) => p.loss !== null)) {
    lossRaw.push({ label: 'train loss (rolled back)', points: superseded.map((p) => ({ x: p.step, y: p.loss })), color: COLORS.rolledBack, style: 'points' });
  }
  const loss = chart('loss', 'Loss', 'loss (nats)', lossRaw, { width: 'wide', markers });
  if (hasValue(loss.series) || markers.length > 0) charts.push(loss);

  // One chart per objective term, train and eval together.
  const termNames: string[] = [];
  for (const p of [...m.train, ...m.eval]) for (const t of Object.keys(p.terms)) if (!termNames.includes(t)) termNames.push(t);
  for (const t of termNames) {
    const raw: RawSeries[] = [{ label: `train ${t}`, points: trainOf((p) => p.terms[t] ?? null), color: COLORS.train }];
    if (m.eval.some((p) => t in p.terms)) raw.push({ label: `eval ${t}`, points: m.eval.map((p) => ({ x: p.step, y: p.terms[t] ?? null })), color: COLORS.eval, spanGaps: true });
    const c = chart(`term-${t}`, `Objective term: ${t}`, t, raw);
    if (hasValue(c.series)) charts.push(c);
  }

  // Objective attribution: which term drives the update (each term's gradient norm, its cosine with the total).
  const attrNames: string[] = [];
  for (const p of m.train) for (const t of Object.keys(p.attribution)) if (!attrNames.includes(t)) attrNames.push(t);
  const perTerm = (field: 'gradNorm' | 'cosine'): RawSeries[] => attrNames.map((t, i) => ({
    label: t, color: paletteColor(i, attrNames.length), spanGaps: true,
    points: kept.filter((p) => t in p.attribution).map((p) => ({ x: p.step, y: p.attribution[t][field] })),
  }));
  const ag = chart('attributionGradNorm', 'Objective attribution: gradient norm of each term', 'L2 norm of weight · ∇term', perTerm('gradNorm'));
  ag.yLogBase = logIfPositive(ag.series);
  if (hasValue(ag.series)) charts.push(ag);
  const ac = chart('attributionCosine', 'Objective attribution: cosine of each term\'s gradient with the total', 'cosine', perTerm('cosine'));
  if (hasValue(ac.series)) charts.push(ac);

  const lr = chart('lr', 'Learning rate', 'lr', [{ label: 'lr', points: trainOf((p) => p.lr), color: COLORS.train }]);
  if (hasValue(lr.series)) charts.push(lr);

  const gn = chart('gradNorm', 'Gradient norm (before clipping)', 'global L2 norm', [{ label: 'grad norm', points: trainOf((p) => p.gradNorm), color: COLORS.train }], { markers });
  gn.yLogBase = logIfPositive(gn.series);
  if (hasValue(gn.series)) charts.push(gn);

  const tps = chart('tokensPerSecond', 'Throughput', 'tokens / s', [{ label: 'tokens/s', points: trainOf((p) => p.tokensPerSecond), color: COLORS.train }]);
  if (hasValue(tps.series)) charts.push(tps);

  const ls = chart('lossScale', 'Loss scale (mixed precision)', 'loss scale', [{ label: 'loss scale', points: trainOf((p) => p.lossScale), color: COLORS.train }]);
  ls.yLogBase = logIfPositive(ls.series, 2);
  // Only where a loss scaler ran (fp16): float32 and bf16 runs log a constant 1, which drew a flat
  // "mixed precision" line in every report (trial s9 follow-up). A scale other than 1 shows it too
  // (a run folder without its config).
  const scaled = opts.fp16 === true || kept.some((p) => p.lossScale !== null && p.lossScale !== 1);
  if (scaled && hasValue(ls.series)) charts.push(ls);

  const ppl = chart('perplexity', 'Eval perplexity', 'perplexity', [{ label: 'eval perplexity', points: m.eval.map((p) => ({ x: p.step, y: p.perplexity })), color: COLORS.eval, spanGaps: true }]);
  if (hasValue(ppl.series)) charts.push(ppl);
  const acc = chart('evalScores', 'Eval accuracy / macro-F1', 'score', [
    { label: 'eval accuracy', points: m.eval.map((p) => ({ x: p.step, y: p.accuracy })), color: COLORS.eval, spanGaps: true },
    { label: 'eval macro-F1', points: m.eval.map((p) => ({ x: p.step, y: p.macroF1 })), color: COLORS.other, spanGaps: true },
  ]);
  acc.series = acc.series.filter((s) => s.values.some((v) => v !== null));
  if (hasValue(acc.series)) charts.push(acc);
  const evalPair = (id: string, title: string, a: [string, (p: EvalPoint) => number | null], b: [string, (p: EvalPoint) => number | null]): void => {
    const c = chart(id, title, 'score (0–100)', [
      { label: a[0], points: m.eval.map((p) => ({ x: p.step, y: a[1](p) })), color: COLORS.eval, spanGaps: true },
      { label: b[0], points: m.eval.map((p) => ({ x: p.step, y: b[1](p) })), color: COLORS.other, spanGaps: true },
    ]);
    c.series = c.series.filter((s) => s.values.some((v) => v !== null));
    if (hasValue(c.series)) charts.push(c);
  };
  evalPair('evalTranslation', 'Eval BLEU / chrF', ['eval BLEU', (p) => p.bleu], ['eval chrF2', (p) => p.chrf]);
  evalPair('evalQa', 'Eval exact match / F1', ['eval exact match', (p) => p.exactMatch], ['eval F1', (p) => p.f1]);

  // Per-layer statistics: one curve per layer name, in order of first appearance.
  const names: string[] = [];
  for (const s of m.layers) for (const l of s.layers) if (!names.includes(l.name)) names.push(l.name);
  const perLayer = (field: 'gradNorm' | 'updateRatio'): RawSeries[] =>
    names.map((name, i) => ({
      label: name,
      color: paletteColor(i, names.length),
      points: m.layers.map((s) => ({ x: s.step, y: s.layers.find((l) => l.name === name)?.[field] ?? null })),
    }));
  const lg = chart('layerGradNorm', 'Per-layer gradient norm', 'L2 norm', perLayer('gradNorm'), { width: 'wide', markers });
  lg.yLogBase = logIfPositive(lg.series);
  if (hasValue(lg.series)) charts.push(lg);
  const lu = chart('layerUpdateRatio', 'Per-layer update / parameter norm ratio', 'ratio', perLayer('updateRatio'), { width: 'wide' });
  lu.yLogBase = logIfPositive(lu.series);
  if (hasValue(lu.series)) charts.push(lu);

  if (lrFind.points.length > 0) {
    const lf = chart('lrFind', 'Learning-rate range test', 'loss', [{ label: 'loss', points: lrFind.points.map((p) => ({ x: p.lr, y: p.loss })), color: COLORS.train }], {
      width: 'wide', xLabel: 'learning rate', xLogBase: 10,
    });
    if (lrFind.suggestedLr !== null) {
      lf.markers = [{ x: lrFind.suggestedLr, kind: 'suggested', color: COLORS.other, label: `suggested lr ${lrFind.suggestedLr}${lrFind.rule ? ` (${lrFind.rule})` : ''}` }];
    }
    charts.push(lf);
  }
  return charts;
}
