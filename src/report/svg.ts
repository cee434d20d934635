/**
 * loss.svg: a static picture of the loss curves (train, eval, and values a rollback replaced) with
 * event markers, rendered in Node by Vega (`vega` 6.4.0, headless: its SVG renderer needs no DOM).
 */
import * as vega from 'vega';
import { COLORS, EVENT_COLORS, OTHER_EVENT_COLOR, splitSuperseded } from './charts.js';
import { escapeHtml } from './escape.js';
import type { ParsedMetrics } from './types.js';

/** Default cap on points per curve in the SVG (the HTML page keeps every point). */
export const DEFAULT_MAX_SVG_POINTS = 2000;

/** One point of the SVG's data: null loss is a gap in its curve. */
export interface SvgLossPoint {
  series: string;
  step: number;
  loss: number | null;
}

/**
 * Keeps every k-th point (and the last) so that at most `max` remain; order is kept.
 * @throws nothing; `max < 2` is treated as 2.
 */
export function thin<T>(points: T[], max: number): T[] {
  const cap = Math.max(2, Math.floor(max));
  if (points.length <= cap) return points;
  const stride = Math.ceil(points.length / (cap - 1));
  const out = points.filter((_, i) => i % stride === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]!);
  return out;
}

/** The curves drawn in loss.svg, in legend order, with their (thinned) points sorted by step. */
export function svgLossCurves(m: ParsedMetrics, maxPoints = DEFAULT_MAX_SVG_POINTS): { name: string; color: string; points: SvgLossPoint[] }[] {
  const { kept, superseded } = splitSuperseded(m.train);
  const fin = (v: number | null): number | null => (v !== null && Number.isFinite(v) ? v : null);
  const curves: { name: string; color: string; points: SvgLossPoint[] }[] = [];
  const add = (name: string, color: string, pts: { step: number; loss: number | null }[]): void => {
    const sorted = pts.map((p) => ({ series: name, step: p.step, loss: fin(p.loss) })).sort((a, b) => a.step - b.step);
    if (sorted.some((p) => p.loss !== null)) curves.push({ name, color, points: thin(sorted, maxPoints) });
  };
  add('train loss', COLORS.train, kept);
  add('eval loss', COLORS.eval, m.eval);
  add('train loss (rolled back)', COLORS.rolledBack, superseded);
  return curves;
}

/**
 * Renders loss.svg. Curve i is the Vega line mark named `curve-<i>` (so the SVG has one
 * `<g class="mark-line role-mark curve-<i>">` per curve); events with a step are dashed rules named
 * `event`. When there is no loss value at all, a small SVG says so.
 * @param title shown above the plot (escaped by Vega's SVG writer)
 */
export async function renderLossSvg(m: ParsedMetrics, title: string, maxPoints = DEFAULT_MAX_SVG_POINTS): Promise<string> {
  const curves = svgLossCurves(m, maxPoints);
  if (curves.length === 0) {
    return '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="60" viewBox="0 0 480 60">'
      + `<text x="10" y="35" font-family="sans-serif" font-size="14">${escapeHtml(title)}: no loss values in metrics.jsonl</text></svg>\n`;
  }
  const events = m.events.filter((e) => e.step !== null).map((e) => ({ step: e.step!, kind: e.kind }));
  const kinds = [...new Set(events.map((e) => e.kind))];
  const spec: vega.Spec = {
    width: 720,
    height: 340,
    padding: 8,
    background: 'white',
    title: { text: title, anchor: 'start', fontSize: 14 },
    data: [
      ...curves.map((c, i) => ({ name: `points${i}`, values: c.points })),
      { name: 'all', values: curves.flatMap((c) => c.points).filter((p) => p.loss !== null) },
      { name: 'events', values: events },
    ],
    scales: [
      { name: 'x', type: 'linear', domain: { data: 'all', field: 'step' }, range: 'width', zero: false, nice: false },
      { name: 'y', type: 'linear', domain: { data: 'all', field: 'loss' }, range: 'height', zero: false, nice: true },
      { name: 'color', type: 'ordinal', domain: curves.map((c) => c.name), range: curves.map((c) => c.color) },
      { name: 'eventColor', type: 'ordinal', domain: kinds.length ? kinds : ['none'], range: (kinds.length ? kinds : ['none']).map((k) => EVENT_COLORS[k] ?? OTHER_EVENT_COLOR) },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: 'step', grid: true, gridOpacity: 0.25 },
      { orient: 'left', scale: 'y', title: 'loss (nats)', grid: true, gridOpacity: 0.25 },
    ],
    legends: [
      // Outside the plot (orient 'right') so they never cover a curve.
      { stroke: 'color', title: 'curves', orient: 'right', symbolType: 'stroke', labelLimit: 240 },
      ...(kinds.length ? [{ stroke: 'eventColor', title: 'events', orient: 'right' as const, symbolType: 'stroke', symbolDash: [4, 3], labelLimit: 240 }] : []),
    ],
    marks: [
      {
        type: 'rule', name: 'event', from: { data: 'events' },
        encode: { enter: {
          x: { scale: 'x', field: 'step' }, y: { value: 0 }, y2: { signal: 'height' },
          stroke: { scale: 'eventColor', field: 'kind' }, strokeDash: { value: [4, 3] }, strokeWidth: { value: 1.2 },
        } },
      },
      ...curves.map((c, i) => ({
        type: 'line' as const, name: `curve-${i}`, from: { data: `points${i}` },
        encode: { enter: {
          x: { scale: 'x', field: 'step' }, y: { scale: 'y', field: 'loss' },
          defined: { signal: 'datum.loss !== null' },
          stroke: { value: c.color }, strokeWidth: { value: 1.6 },
          ...(c.name.includes('rolled back') ? { strokeDash: { value: [2, 2] } } : {}),
        } },
      })),
    ],
  };
  const view = new vega.View(vega.parse(spec), { renderer: 'none', logLevel: vega.Error });
  try {
    const svg = await view.toSVG();
    return svg.endsWith('\n') ? svg : svg + '\n';
  } finally {
    view.finalize();
  }
}
