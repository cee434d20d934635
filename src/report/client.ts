/**
 * The page's drawing code. `drawReport` runs in the browser, not in Node: html.ts inlines its
 * compiled source (`drawReport.toString()`) next to uPlot's, so the function must stay
 * self-contained — no imports used at run time, no references to anything outside its body.
 */
import type uPlot from 'uplot';
import type { EmbeddedReportData } from './types.js';

/**
 * Draws every chart of `data` into `root` with uPlot: one `<section class="chart">` per chart,
 * vertical dashed markers for events, log axes where the spec asks, and a legend of marker kinds.
 * @param UPlot the uPlot constructor (the global `uPlot` of the inlined IIFE build)
 * @param data the JSON embedded in the page (see `EmbeddedReportData`)
 * @param root the element the charts are appended to (a two-column CSS grid)
 */
export function drawReport(UPlot: typeof uPlot, data: EmbeddedReportData, root: HTMLElement): void {
  // Legend values: '—' for no value. Axis ticks: '' for the ticks uPlot's log axes leave unlabelled (null).
  const fmt = (v: number | null | undefined): string => {
    if (v === null || v === undefined || !Number.isFinite(v)) return '—';
    if (v === 0) return '0';
    const a = Math.abs(v);
    if (Number.isInteger(v) && a < 1e7) return String(v);
    if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace(/\.?0+e/, 'e').replace('e+', 'e');
    return String(Number(v.toPrecision(4)));
  };
  const tick = (v: number | null): string => (v === null || v === undefined ? '' : fmt(v));
  const plots: { plot: uPlot; box: HTMLElement }[] = [];
  for (const c of data.charts) {
    const box = document.createElement('section');
    box.className = 'chart ' + c.width;
    box.id = 'chart-' + c.id;
    const h = document.createElement('h3');
    h.textContent = c.title;
    box.appendChild(h);
    const holder = document.createElement('div');
    box.appendChild(holder);
    root.appendChild(box);
    const kinds: { kind: string; color: string }[] = [];
    for (const m of c.markers) if (!kinds.some((k) => k.kind === m.kind)) kinds.push({ kind: m.kind, color: m.color });
    const opts: uPlot.Options = {
      width: Math.max(280, box.clientWidth - 8),
      height: c.width === 'wide' ? 320 : 230,
      scales: {
        x: { time: false, distr: c.xLogBase ? 3 : 1, log: c.xLogBase ?? 10 },
        y: { distr: c.yLogBase ? 3 : 1, log: c.yLogBase ?? 10 },
      },
      axes: [
        { label: c.xLabel, values: (_u, splits) => splits.map(tick) },
        { label: c.yLabel, size: 64, values: (_u, splits) => splits.map(tick) },
      ],
      series: [
        { label: c.xLabel, value: (_u, v) => fmt(v) },
        ...c.series.map((s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          spanGaps: s.spanGaps,
          dash: s.dash ?? undefined,
          value: (_u, v) => fmt(v),
          ...(s.style === 'points'
            ? { paths: () => null, points: { show: true, size: 5, stroke: s.color, fill: s.color } }
            : s.spanGaps ? { points: { show: true, size: 5 } } : {}),
        })),
      ],
      hooks: {
        draw: [
          (u: uPlot) => {
            const ctx = u.ctx;
            const dpr = window.devicePixelRatio || 1;
            for (const m of c.markers) {
              const px = u.valToPos(m.x, 'x', true);
              if (!Number.isFinite(px) || px < u.bbox.left || px > u.bbox.left + u.bbox.width) continue;
              ctx.save();
              ctx.strokeStyle = m.color;
              ctx.lineWidth = 1.5 * dpr;
              ctx.setLineDash([5 * dpr, 3 * dpr]);
              ctx.beginPath();
              ctx.moveTo(px, u.bbox.top);
              ctx.lineTo(px, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.restore();
            }
          },
        ],
      },
    };
    const plot = new UPlot(opts, [c.x, ...c.series.map((s) => s.values)] as uPlot.AlignedData, holder);
    plots.push({ plot, box });
    if (kinds.length > 0) {
      const legend = document.createElement('p');
      legend.className = 'markers';
      legend.appendChild(document.createTextNode('Markers: '));
      for (const k of kinds) {
        const sw = document.createElement('span');
        sw.className = 'swatch';
        sw.style.borderColor = k.color;
        legend.appendChild(sw);
        legend.appendChild(document.createTextNode(k.kind + '  '));
      }
      box.appendChild(legend);
    }
  }
  window.addEventListener('resize', () => {
    for (const p of plots) p.plot.setSize({ width: Math.max(280, p.box.clientWidth - 8), height: p.plot.height });
  });
}
