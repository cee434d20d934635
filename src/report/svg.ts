/**
 * loss.svg: a static picture of the loss curves (train, eval, and values a rollback replaced) with
 * event markers, written as SVG text in Node.
 *
 * Why no charting library here: report.html draws with uPlot, which renders into a browser canvas and
 * cannot produce SVG in Node; the libraries that can render static SVG headless are Vega (63 of
 * trainformer's 75 runtime packages, 16 MB) and ECharts' server-side renderer (64 MB with zrender).
 * One line chart with axes and a legend is a few dozen lines of markup, so it is written directly.
 */
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
 * Tick values at a "nice" spacing (1, 2 or 5 × 10^k) covering [lo, hi] with about `count` ticks.
 * @returns the spacing and the ticks (ascending); lo === hi gives the single tick lo.
 */
export function niceTicks(lo: number, hi: number, count = 6): { step: number; ticks: number[] } {
  if (!(hi > lo)) return { step: 0, ticks: [lo] };
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  const ticks: number[] = [];
  // Integer multiples of the step (not repeated addition) keep the drift to one rounding per tick.
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(k * step + 0); // + 0 turns -0 into 0
  return { step, ticks };
}

function tickLabel(v: number, step: number): string {
  const decimals = step > 0 ? Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9))) : 3;
  return v.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

const num = (v: number): string => String(Math.round(v * 100) / 100);
const FONT = 'font-family="sans-serif"';
/** Rough width of a label in px at 11 px sans-serif (for legend placement only). */
const textWidth = (s: string): number => s.length * 6.2;

/**
 * Renders loss.svg (720 × 340 plot area). Curve i is a `<g class="mark-line curve-<i>">` holding one
 * `<path>` with one `M` per unbroken run of points (a null loss is a gap); events with a step are
 * dashed vertical lines in `<g class="event">`; curves and event kinds are named in legends at the
 * right, outside the plot. When there is no loss value at all, a small SVG says so.
 * @param title shown above the plot (escaped)
 */
export function renderLossSvg(m: ParsedMetrics, title: string, maxPoints = DEFAULT_MAX_SVG_POINTS): string {
  const curves = svgLossCurves(m, maxPoints);
  if (curves.length === 0) {
    return '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="60" viewBox="0 0 480 60">'
      + `<text x="10" y="35" ${FONT} font-size="14">${escapeHtml(title)}: no loss values in metrics.jsonl</text></svg>\n`;
  }
  const events = m.events.filter((e) => e.step !== null).map((e) => ({ step: e.step!, kind: e.kind }));
  const kinds = [...new Set(events.map((e) => e.kind))];
  const defined = curves.flatMap((c) => c.points).filter((p) => p.loss !== null);
  let x0 = Math.min(...defined.map((p) => p.step));
  let x1 = Math.max(...defined.map((p) => p.step));
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  const ys = defined.map((p) => p.loss!);
  let { step: ys0, ticks: yt } = niceTicks(Math.min(...ys), Math.max(...ys));
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  if (ys0 === 0) { // one distinct value: a band around it
    const pad = Math.abs(y0) > 0 ? Math.abs(y0) * 0.1 : 1;
    ({ step: ys0, ticks: yt } = niceTicks(y0 - pad, y1 + pad));
    y0 -= pad; y1 += pad;
  }
  // Extend the y domain to whole tick spacings (a "nice" axis), as a plotting library would.
  y0 = Math.floor(y0 / ys0 + 1e-9) * ys0;
  y1 = Math.ceil(y1 / ys0 - 1e-9) * ys0;
  yt = niceTicks(y0, y1).ticks.filter((t) => t >= y0 - 1e-9 && t <= y1 + 1e-9);
  const { step: xs, ticks: xt } = niceTicks(x0, x1);

  const W = 720;
  const H = 340;
  const left = 64;
  const top = 36;
  const legendItems = [...curves.map((c) => c.name), ...kinds, 'curves', 'events'];
  const legendW = 40 + Math.min(240, Math.max(...legendItems.map(textWidth)));
  const width = left + W + 16 + legendW;
  const height = top + H + 48;
  const sx = (v: number): number => left + ((v - x0) / (x1 - x0)) * W;
  const sy = (v: number): number => top + H - ((v - y0) / (y1 - y0)) * H;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${left}" y="22" ${FONT} font-size="14" font-weight="bold">${escapeHtml(title)}</text>`);
  // Grid, axes and tick labels.
  out.push('<g class="axis" stroke="#ddd" stroke-width="1">');
  for (const t of xt) out.push(`<line x1="${num(sx(t))}" y1="${top}" x2="${num(sx(t))}" y2="${top + H}"/>`);
  for (const t of yt) out.push(`<line x1="${left}" y1="${num(sy(t))}" x2="${left + W}" y2="${num(sy(t))}"/>`);
  out.push(`<rect x="${left}" y="${top}" width="${W}" height="${H}" fill="none" stroke="#888"/>`);
  out.push('</g>');
  out.push(`<g class="tick-labels" ${FONT} font-size="11" fill="#333">`);
  for (const t of xt) out.push(`<text x="${num(sx(t))}" y="${top + H + 16}" text-anchor="middle">${tickLabel(t, xs)}</text>`);
  for (const t of yt) out.push(`<text x="${left - 6}" y="${num(sy(t) + 4)}" text-anchor="end">${tickLabel(t, ys0)}</text>`);
  out.push(`<text x="${left + W / 2}" y="${top + H + 36}" text-anchor="middle" font-size="12">step</text>`);
  out.push(`<text transform="translate(16 ${top + H / 2}) rotate(-90)" text-anchor="middle" font-size="12">loss (nats)</text>`);
  out.push('</g>');
  // Event markers under the curves.
  out.push('<g class="event" stroke-dasharray="4 3" stroke-width="1.2">');
  for (const e of events) {
    if (e.step < x0 || e.step > x1) continue;
    out.push(`<line x1="${num(sx(e.step))}" y1="${top}" x2="${num(sx(e.step))}" y2="${top + H}" stroke="${EVENT_COLORS[e.kind] ?? OTHER_EVENT_COLOR}"/>`);
  }
  out.push('</g>');
  curves.forEach((c, i) => {
    let d = '';
    let pen = false;
    for (const p of c.points) {
      if (p.loss === null) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${num(sx(p.step))},${num(sy(p.loss))}`;
      pen = true;
    }
    const dash = c.name.includes('rolled back') ? ' stroke-dasharray="2 2"' : '';
    out.push(`<g class="mark-line curve-${i}"><path d="${d}" fill="none" stroke="${c.color}" stroke-width="1.6"${dash}/></g>`);
  });
  // Legends outside the plot, so they never cover a curve.
  const lx = left + W + 16;
  let ly = top + 4;
  const legend = (heading: string, items: { label: string; color: string; dash: string }[]): void => {
    out.push(`<g class="legend" ${FONT} font-size="11"><text x="${lx}" y="${ly + 8}" font-weight="bold">${heading}</text>`);
    ly += 20;
    for (const it of items) {
      out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${it.color}" stroke-width="2"${it.dash}/>`);
      out.push(`<text x="${lx + 28}" y="${ly + 4}">${escapeHtml(it.label)}</text>`);
      ly += 16;
    }
    out.push('</g>');
    ly += 10;
  };
  legend('curves', curves.map((c) => ({ label: c.name, color: c.color, dash: c.name.includes('rolled back') ? ' stroke-dasharray="2 2"' : '' })));
  if (kinds.length) legend('events', kinds.map((k) => ({ label: k, color: EVENT_COLORS[k] ?? OTHER_EVENT_COLOR, dash: ' stroke-dasharray="4 3"' })));
  out.push('</svg>');
  return out.join('\n') + '\n';
}
