/**
 * Assembles report.html: one self-contained page (no network) with the summary, the notes about the
 * logs, the config, the charts (uPlot inlined, data embedded as JSON, `drawReport` inlined) and the
 * events table. Every piece of text from the run directory is escaped here.
 */
import type { ChartLibrary } from './assets.js';
import { drawReport } from './client.js';
import { EVENT_COLORS, OTHER_EVENT_COLOR } from './charts.js';
import { escapeHtml, inlineScriptSource, inlineStyleSource, jsonForScript } from './escape.js';
import type { ChartSpec, EmbeddedReportData, LogIssue, ParsedConfig, RunEvent } from './types.js';

/** Id of the `<script type="application/json">` element that holds `EmbeddedReportData`. */
export const DATA_ELEMENT_ID = 'trainformer-report-data';
/** Events listed in the table at most (the counts in the summary cover all). */
export const MAX_EVENT_ROWS = 2000;

export interface PageInput {
  title: string;
  runDir: string;
  generatedAt: Date;
  summary: [string, string][];
  config: ParsedConfig;
  notes: string[];
  issues: LogIssue[];
  charts: ChartSpec[];
  events: RunEvent[];
  library: ChartLibrary;
  /** Extra HTML placed after the charts (the sample-predictions table); trusted, already escaped. */
  afterCharts?: string;
}

const PAGE_CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1240px; padding: 16px 20px 40px; color: #222; }
h1 { font-size: 22px; margin: 4px 0; } h2 { font-size: 17px; margin: 22px 0 8px; } h3 { font-size: 14px; margin: 0 0 4px; }
.meta { color: #666; margin: 0 0 8px; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #e4e4e4; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
th { font-weight: 600; } td.num { font-variant-numeric: tabular-nums; }
.summary th { width: 190px; }
.notes { background: #fff8e6; border: 1px solid #f0d890; padding: 6px 12px; border-radius: 4px; }
.notes ul { margin: 4px 0; padding-left: 20px; }
details summary { cursor: pointer; font-weight: 600; margin: 14px 0 6px; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 18px 20px; }
.chart { min-width: 0; } .chart.wide { grid-column: 1 / -1; }
.markers { margin: 2px 0 0; color: #555; font-size: 12px; }
.swatch { display: inline-block; width: 16px; height: 0; border-top: 2px dashed; margin: 0 4px 3px 8px; vertical-align: middle; }
.kind { font-weight: 600; }
footer { margin-top: 30px; color: #888; font-size: 12px; }
`;

function table(rows: [string, string][], cls: string): string {
  return `<table class="${cls}"><tbody>\n${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n')}\n</tbody></table>`;
}

function eventsTable(events: RunEvent[]): string {
  if (events.length === 0) return '<p>No rollbacks, skipped steps or warnings were logged.</p>';
  const shown = events.slice(0, MAX_EVENT_ROWS);
  const rows = shown.map((e) => {
    const color = EVENT_COLORS[e.kind] ?? OTHER_EVENT_COLOR;
    return `<tr><td class="num">${e.step === null ? '—' : escapeHtml(String(e.step))}</td>`
      + `<td class="kind" style="color:${color}">${escapeHtml(e.kind)}</td><td>${escapeHtml(e.message)}</td><td class="num">${e.line}</td></tr>`;
  });
  const more = events.length > shown.length ? `<p>…and ${events.length - shown.length} more events (see metrics.jsonl).</p>` : '';
  return `<table class="events"><thead><tr><th>step</th><th>event</th><th>message</th><th>log line</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>${more}`;
}

function notesSection(notes: string[], issues: LogIssue[]): string {
  if (notes.length === 0 && issues.length === 0) return '';
  const issueItems = issues.map((i) => `<li>${escapeHtml(`${i.file}:${i.line}: ${i.reason}`)}</li>`).join('');
  return `<section class="notes"><h2>Notes on the logs</h2><ul>${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`
    + (issues.length ? `<details><summary>First problems found (${issues.length})</summary><ul>${issueItems}</ul></details>` : '')
    + '</section>';
}

/** Renders the complete HTML page as a string. */
export function renderPage(p: PageInput): string {
  const data: EmbeddedReportData = { version: 1, title: p.title, charts: p.charts };
  const configPart = p.config.error
    ? `<p>${escapeHtml(p.config.error)}</p>`
    : !p.config.found
      ? '<p>No trainformer_config.json in the run directory.</p>'
      : table(p.config.rows, 'config');
  const drawCall = `(${drawReport.toString()})(uPlot, JSON.parse(document.getElementById(${JSON.stringify(DATA_ELEMENT_ID)}).textContent), document.getElementById("charts"));`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="trainformer report">
<title>${escapeHtml(p.title)}</title>
<style>/* ${escapeHtml(p.library.name)} ${escapeHtml(p.library.version)} (MIT licence) */
${inlineStyleSource(p.library.css)}</style>
<style>${PAGE_CSS}</style>
<script>${inlineScriptSource(p.library.js)}</script>
</head>
<body>
<header>
<h1>${escapeHtml(p.title)}</h1>
<p class="meta">Run directory <code>${escapeHtml(p.runDir)}</code> · report generated ${escapeHtml(p.generatedAt.toISOString())}</p>
</header>
${notesSection(p.notes, p.issues)}
<h2>Summary</h2>
${table(p.summary, 'summary')}
<details${p.config.rows.length <= 40 ? ' open' : ''}><summary>Configuration (trainformer_config.json)</summary>
${configPart}
</details>
<h2>Charts</h2>
${p.charts.length === 0 ? '<p>Nothing to plot: the logs hold no numeric series.</p>' : ''}
<noscript><p>The charts need JavaScript (it is inlined in this page; nothing is downloaded).</p></noscript>
<div id="charts" class="charts"></div>
${p.afterCharts ?? ''}
<h2>Events</h2>
${eventsTable(p.events)}
<footer>Charts drawn with ${escapeHtml(p.library.name)} ${escapeHtml(p.library.version)} (MIT licence), inlined in this page. Drag on a chart to zoom, double-click to reset.</footer>
<script type="application/json" id="${DATA_ELEMENT_ID}">${jsonForScript(data)}</script>
<script>${inlineScriptSource(drawCall)}</script>
</body>
</html>
`;
}
