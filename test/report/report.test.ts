/**
 * Tests of the run report (src/report): a synthetic run directory is written with known
 * series, and the page's embedded JSON, the inlined library, the SVG (parsed as XML by a small
 * independent parser below) and the counts of malformed lines are checked against what was written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildReport, writeReport, DATA_ELEMENT_ID } from '../../src/report/index.js';
import type { ChartSpec, EmbeddedReportData } from '../../src/report/index.js';
import { escapeHtml, jsonForScript } from '../../src/report/escape.js';
import { niceTicks, thin } from '../../src/report/svg.js';
import { FileFormatError } from '../../src/errors.js';

// ---------------------------------------------------------------- a minimal XML well-formedness parser
interface XmlElement { name: string; attrs: Record<string, string>; children: XmlElement[]; text: string }

/** Parses XML 1.0 (elements, attributes, text, comments, CDATA, PIs, the five entities and char refs). */
function parseXml(src: string): XmlElement {
  let i = 0;
  const fail = (msg: string): never => { throw new Error(`XML error at ${i}: ${msg}: ${JSON.stringify(src.slice(i, i + 40))}`); };
  const decode = (s: string): string => {
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(s)) fail('bad entity');
    if (s.includes('<')) fail('raw < in text');
    return s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) =>
      e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'"
        : String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)));
  };
  const skipMisc = (): void => {
    for (;;) {
      while (/\s/.test(src[i] ?? '')) i++;
      if (src.startsWith('<?', i)) { const e = src.indexOf('?>', i); if (e < 0) fail('open PI'); i = e + 2; }
      else if (src.startsWith('<!--', i)) { const e = src.indexOf('-->', i); if (e < 0) fail('open comment'); i = e + 3; }
      else if (src.startsWith('<!DOCTYPE', i)) { const e = src.indexOf('>', i); i = e + 1; }
      else return;
    }
  };
  const name = (): string => {
    const m = /^[A-Za-z_:][\w:.-]*/.exec(src.slice(i, i + 200));
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  const element = (): XmlElement => {
    if (src[i] !== '<') fail('expected <');
    i++;
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      while (/\s/.test(src[i] ?? '')) i++;
      if (src.startsWith('/>', i)) { i += 2; return el; }
      if (src[i] === '>') { i++; break; }
      const a = name();
      if (a in el.attrs) fail(`duplicate attribute ${a}`);
      while (/\s/.test(src[i] ?? '')) i++;
      if (src[i] !== '=') fail('expected =');
      i++;
      while (/\s/.test(src[i] ?? '')) i++;
      const q = src[i];
      if (q !== '"' && q !== "'") fail('unquoted attribute');
      const end = src.indexOf(q!, i + 1);
      if (end < 0) fail('open attribute');
      el.attrs[a] = decode(src.slice(i + 1, end));
      i = end + 1;
    }
    for (;;) {
      if (i >= src.length) fail(`unclosed <${el.name}>`);
      if (src.startsWith('</', i)) {
        i += 2;
        const n = name();
        if (n !== el.name) fail(`</${n}> closes <${el.name}>`);
        while (/\s/.test(src[i] ?? '')) i++;
        if (src[i] !== '>') fail('expected >');
        i++;
        return el;
      }
      if (src.startsWith('<!--', i)) { const e = src.indexOf('-->', i); if (e < 0) fail('open comment'); i = e + 3; continue; }
      if (src.startsWith('<![CDATA[', i)) { const e = src.indexOf(']]>', i); if (e < 0) fail('open CDATA'); el.text += src.slice(i + 9, e); i = e + 3; continue; }
      if (src[i] === '<') { el.children.push(element()); continue; }
      const next = src.indexOf('<', i);
      const end = next < 0 ? src.length : next;
      el.text += decode(src.slice(i, end));
      i = end;
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (i !== src.length) fail('content after the root element');
  return root;
}

function* walk(el: XmlElement): Generator<XmlElement> {
  yield el;
  for (const c of el.children) yield* walk(c);
}

test('the XML checker itself rejects what is not well-formed', () => {
  assert.equal(parseXml('<?xml version="1.0"?><a x="1"><b/>t &amp; u</a>').children.length, 1);
  for (const bad of ['<a><b></a></b>', '<a x=1></a>', '<a>&nbsp;</a>', '<a></a><b></b>', '<a>']) {
    assert.throws(() => parseXml(bad), /XML error/, bad);
  }
});

// ---------------------------------------------------------------- a synthetic run
/** A deterministic pseudo-random stream (LCG, Numerical Recipes constants) for the noise. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
}

interface Synthetic {
  lines: string[];
  /** step → the last logged train values (what the page must show). */
  train: Map<number, { loss: number | null; ce: number; zLoss: number; lr: number; gradNorm: number | null; tps: number; lossScale: number }>;
  /** Values logged for steps that a later line for the same step replaced. */
  rolledBack: Map<number, number>;
  eval: Map<number, { loss: number; perplexity: number; accuracy: number }>;
  layers: Map<number, Map<string, number>>;
  malformed: number;
}

const EVIL = '</script><img src=x onerror=alert(1)> & "quotes"';

function syntheticRun(): Synthetic {
  const rnd = lcg(7);
  const s: Synthetic = { lines: [], train: new Map(), rolledBack: new Map(), eval: new Map(), layers: new Map(), malformed: 0 };
  const trainLine = (step: number, bump = 0): void => {
    const ce = 2 + 3 * Math.exp(-step / 50) + 0.05 * (rnd() - 0.5) + bump;
    const zLoss = 1e-4 * (1 + rnd());
    const lr = step <= 20 ? 1e-3 * (step / 20) : 1e-3 * 0.5 * (1 + Math.cos((Math.PI * (step - 20)) / 180));
    const gradNorm = step === 33 ? null : 0.5 + rnd();
    const tps = 1000 + 100 * rnd();
    const lossScale = 2 ** (12 + (step > 100 ? 1 : 0));
    const obj: Record<string, unknown> = { step, epoch: step / 100, split: 'train', loss: ce + zLoss, terms: { ce, zLoss }, lr, tokensPerSecond: tps, lossScale, time: 1.7e12 + step * 500 };
    if (gradNorm !== null) obj['gradNorm'] = gradNorm;
    const prev = s.train.get(step);
    if (prev && prev.loss !== null) s.rolledBack.set(step, prev.loss);
    s.train.set(step, { loss: ce + zLoss, ce, zLoss, lr, gradNorm, tps, lossScale });
    s.lines.push(JSON.stringify(obj));
  };
  for (let step = 1; step <= 150; step++) {
    if (step === 90) {
      // A non-finite loss: the optimiser step is skipped; JSON cannot hold NaN, so loggers write a string.
      s.lines.push(JSON.stringify({ step, split: 'train', loss: 'NaN', terms: { ce: 'NaN', zLoss: 1e-4 }, lr: 1e-3, gradNorm: 'Infinity', tokensPerSecond: 1000, lossScale: 2048, skipped: true }));
      s.train.set(step, { loss: null, ce: NaN, zLoss: 1e-4, lr: 1e-3, gradNorm: null, tps: 1000, lossScale: 2048 });
      continue;
    }
    trainLine(step, step >= 118 && step <= 120 ? 4 : 0);
    if (step % 20 === 0) {
      const loss = 2.1 + 3 * Math.exp(-step / 50);
      const accuracy = Math.min(0.99, step / 160);
      s.eval.set(step, { loss, perplexity: Math.exp(loss), accuracy });
      s.lines.push(JSON.stringify({ step, split: 'eval', loss, perplexity: Math.exp(loss), accuracy }));
    }
    if (step % 50 === 0) {
      const layers = new Map([['blocks.0', 0.1 + rnd()], ['blocks.1', 0.2 + rnd()], ['lmHead', 1 + rnd()]]);
      s.layers.set(step, layers);
      s.lines.push(JSON.stringify({ type: 'layers', step, layers: [...layers].map(([name, gradNorm]) => ({ name, gradNorm, paramNorm: 10, updateRatio: 1e-3 * gradNorm })) }));
    }
    if (step === 60) s.lines.push(JSON.stringify({ event: 'warning', step, message: `exploding gradient in lmHead ${EVIL}` }));
    if (step === 90) s.lines.push(JSON.stringify({ event: 'skip', step, message: 'non-finite loss' }));
    if (step === 120) {
      // Loss spike: roll back to step 110 and log steps 111.. again.
      s.lines.push(JSON.stringify({ event: 'rollback', step, message: 'loss 9.1 above mean + 6 sd; back to step 110' }));
      for (let again = 111; again <= 120; again++) trainLine(again);
    }
    if (step === 10) { s.lines.push('{"step": 10, "split": "train", "loss": '); s.malformed++; }   // cut-off line
    if (step === 11) { s.lines.push('[1, 2, 3]'); s.malformed++; }                              // not an object
    if (step === 12) { s.lines.push('{"split": "train", "loss": 1.5}'); s.malformed++; }        // no step
    if (step === 13) { s.lines.push(''); }                                                       // blank: ignored
    if (step === 14) { s.lines.push('{"hello": "world"}'); s.malformed++; }                     // unknown shape
  }
  s.lines.push('{"step": 151, "split": "tra'); s.malformed++;                                     // crash mid-write
  return s;
}

async function makeRunDir(withLrFind = true): Promise<{ dir: string; syn: Synthetic; lrs: number[]; lrLoss: number[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'tf-report-'));
  const syn = syntheticRun();
  await writeFile(join(dir, 'metrics.jsonl'), syn.lines.join('\n') + '\n');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ task: 'lm', learningRate: 1e-3, model: { nLayer: 2, nEmbd: 64 }, runName: '<script>alert(1)</script>' }));
  const lrs: number[] = [];
  const lrLoss: number[] = [];
  if (withLrFind) {
    const lines: string[] = [];
    for (let k = 0; k < 40; k++) {
      const lr = 1e-6 * 10 ** (k / 8);
      const loss = 3 - Math.log10(lr) * 0.1 + (lr > 1e-2 ? (lr - 1e-2) * 50 : 0);
      lrs.push(lr); lrLoss.push(loss);
      lines.push(JSON.stringify({ lr, loss }));
    }
    lines.push('oops');
    lines.push(JSON.stringify({ suggestedLr: 3e-3, rule: 'steepest descent / 10' }));
    await writeFile(join(dir, 'lr_find.jsonl'), lines.join('\n') + '\n');
  }
  return { dir, syn, lrs, lrLoss };
}

function embedded(html: string): EmbeddedReportData {
  const m = new RegExp(`<script type="application/json" id="${DATA_ELEMENT_ID}">([\\s\\S]*?)</script>`).exec(html);
  assert.ok(m, 'the page embeds its data as a JSON script element');
  return JSON.parse(m[1]!) as EmbeddedReportData;
}

function chartById(data: EmbeddedReportData, id: string): ChartSpec {
  const c = data.charts.find((x) => x.id === id);
  assert.ok(c, `chart ${id} exists`);
  return c;
}

/** The value a chart holds for series `label` at x. */
function valueAt(c: ChartSpec, label: string, x: number): number | null | undefined {
  const s = c.series.find((q) => q.label === label);
  assert.ok(s, `series ${label} in chart ${c.id}`);
  const i = c.x.indexOf(x);
  return i < 0 ? undefined : s.values[i];
}

// ---------------------------------------------------------------- tests
test('report.html inlines uPlot and needs no network', async () => {
  const { dir } = await makeRunDir();
  try {
    const { html } = await buildReport(dir);
    const require = createRequire(import.meta.url);
    const lib = await readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
    const css = await readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    assert.ok(html.includes(lib.trim()), 'the whole uPlot build is in the page');
    assert.ok(html.includes(css.trim()), 'the uPlot stylesheet is in the page');
    assert.doesNotMatch(html, /<script[^>]+src=/i);
    assert.doesNotMatch(html, /<link[^>]+href=/i);
    assert.doesNotMatch(html, /(src|href)=["']?https?:/i);
    // The drawing script is valid JavaScript (compiled, not run).
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    assert.equal(scripts.length, 2);
    for (const s of scripts) assert.doesNotThrow(() => new Function(s));
    assert.match(scripts[1]!, /new UPlot\(/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the embedded series equal what metrics.jsonl holds', async () => {
  const { dir, syn } = await makeRunDir();
  try {
    const { html } = await buildReport(dir);
    const data = embedded(html);
    const loss = chartById(data, 'loss');
    const steps = [...syn.train.keys(), ...syn.eval.keys()];
    assert.deepEqual(loss.x, [...new Set(steps)].sort((a, b) => a - b));
    for (const [step, v] of syn.train) assert.equal(valueAt(loss, 'train loss', step), v.loss, `train loss at ${step}`);
    for (const [step, v] of syn.eval) assert.equal(valueAt(loss, 'eval loss', step), v.loss, `eval loss at ${step}`);
    assert.equal(syn.rolledBack.size, 10);
    for (const [step, v] of syn.rolledBack) assert.equal(valueAt(loss, 'train loss (rolled back)', step), v, `rolled back at ${step}`);

    const ce = chartById(data, 'term-ce');
    const z = chartById(data, 'term-zLoss');
    const lr = chartById(data, 'lr');
    const gn = chartById(data, 'gradNorm');
    const tps = chartById(data, 'tokensPerSecond');
    const ls = chartById(data, 'lossScale');
    for (const [step, v] of syn.train) {
      assert.equal(valueAt(ce, 'train ce', step), Number.isFinite(v.ce) ? v.ce : null);
      assert.equal(valueAt(z, 'train zLoss', step), v.zLoss);
      assert.equal(valueAt(lr, 'lr', step), v.lr);
      assert.equal(valueAt(gn, 'grad norm', step), v.gradNorm);
      assert.equal(valueAt(tps, 'tokens/s', step), v.tps);
      assert.equal(valueAt(ls, 'loss scale', step), v.lossScale);
    }
    assert.equal(ls.yLogBase, 2);
    const ppl = chartById(data, 'perplexity');
    const acc = chartById(data, 'evalScores');
    for (const [step, v] of syn.eval) {
      assert.equal(valueAt(ppl, 'eval perplexity', step), v.perplexity);
      assert.equal(valueAt(acc, 'eval accuracy', step), v.accuracy);
    }
    const layers = chartById(data, 'layerGradNorm');
    assert.deepEqual(layers.x, [...syn.layers.keys()]);
    for (const [step, m] of syn.layers) for (const [name, g] of m) assert.equal(valueAt(layers, name, step), g);

    // Events: marked on the loss plot at their steps, with their kinds.
    const marks = loss.markers.map((m) => `${m.kind}@${m.x}`).sort();
    assert.deepEqual(marks, ['rollback@120', 'skip@90', 'warning@60']);
    assert.equal(loss.markers.find((m) => m.kind === 'warning')!.label, `exploding gradient in lmHead ${EVIL}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('lr-finder curve and suggestion are on the page', async () => {
  const { dir, lrs, lrLoss } = await makeRunDir();
  try {
    const built = await buildReport(dir);
    const c = chartById(embedded(built.html), 'lrFind');
    assert.deepEqual(c.x, lrs);
    assert.deepEqual(c.series[0]!.values, lrLoss);
    assert.equal(c.xLogBase, 10);
    assert.deepEqual(c.markers.map((m) => m.x), [3e-3]);
    assert.equal(built.lrFind.malformedCount, 1);
    assert.match(built.html, /steepest descent \/ 10/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('malformed lines and missing fields are counted and mentioned', async () => {
  const { dir, syn } = await makeRunDir();
  try {
    const built = await buildReport(dir);
    assert.equal(syn.malformed, 5);
    assert.equal(built.metrics.malformedCount, syn.malformed);
    assert.equal(built.metrics.blankLines, 1);
    assert.equal(built.metrics.totalLines, syn.lines.length);
    assert.match(built.html, /5 malformed lines in metrics\.jsonl were skipped/);
    assert.match(built.html, /1 malformed line in lr_find\.jsonl was skipped/);
    // Step 33 lacks gradNorm; step 90's gradNorm is a string "Infinity" (present, non-finite).
    assert.equal(built.metrics.missingFields['train.gradNorm'], 1);
    assert.equal(built.metrics.invalidValueCount, 0);
    // Every malformed line is described with its line number (the blank line is not).
    const bad = syn.lines.map((l, i) => ({ l, n: i + 1 })).filter(({ l }) => l !== '' && !isUsable(l)).map(({ n }) => n);
    assert.deepEqual(built.metrics.issues.map((i) => i.line), bad);
    for (const n of bad) assert.ok(built.html.includes(`metrics.jsonl:${n}:`), `line ${n} named on the page`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Independent judgement of a log line: parses, is an object, and is a train/eval line with a step, an event or a layers line. */
function isUsable(line: string): boolean {
  let v: unknown;
  try { v = JSON.parse(line); } catch { return false; }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return 'event' in o || o['type'] === 'layers' || ((o['split'] === 'train' || o['split'] === 'eval') && typeof o['step'] === 'number');
}

test('summary shows final losses, metrics, tokens/s, steps and wall time', async () => {
  const { dir, syn } = await makeRunDir();
  try {
    const built = await buildReport(dir);
    const row = (k: string): string => built.summary.find(([label]) => label === k)?.[1] ?? '';
    assert.equal(row('Final train loss'), `${Number(syn.train.get(150)!.loss!.toPrecision(5))} at step 150`);
    assert.equal(row('Final eval loss'), `${Number(syn.eval.get(140)!.loss.toPrecision(5))} at step 140`);
    assert.match(row('Steps'), /^150 /);
    // time runs 500 ms per step from step 1 to step 150 → 74.5 s.
    assert.equal(row('Wall time'), '1 min 15 s');
    assert.equal(row('Events'), '1 rollbacks, 1 skipped steps, 1 warnings');
    const tps = [...syn.train.values()].map((v) => v.tps).sort((a, b) => a - b);
    const med = (tps[(tps.length >> 1) - 1]! + tps[tps.length >> 1]!) / 2;
    assert.equal(tps.length % 2, 0);
    assert.equal(row('Tokens / s (median)'), String(Number(med.toPrecision(5))));
    assert.match(built.html, /<th>Final eval loss<\/th>/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('text from the run directory is escaped in the page', async () => {
  const { dir } = await makeRunDir();
  try {
    const { html } = await buildReport(dir);
    assert.ok(!html.includes('<script>alert(1)'), 'config value not injected');
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!html.includes('<img src=x'), 'event message not injected');
    assert.ok(html.includes(escapeHtml(`exploding gradient in lmHead ${EVIL}`)));
    // Exactly the three script elements the page defines (uPlot, data, drawing).
    assert.equal((html.match(/<script[\s>]/gi) ?? []).length, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loss.svg parses as XML and draws one curve per loss series', async () => {
  const { dir, syn } = await makeRunDir();
  try {
    const { svg } = await buildReport(dir);
    const root = parseXml(svg);
    assert.equal(root.name, 'svg');
    const curves = [...walk(root)].filter((e) => e.name === 'g' && (e.attrs['class'] ?? '').split(/\s+/).includes('mark-line')
      && (e.attrs['class'] ?? '').split(/\s+/).some((c) => /^curve-\d+$/.test(c)));
    assert.equal(curves.length, 3, 'train, eval and rolled-back curves');
    for (const g of curves) {
      const paths = [...walk(g)].filter((e) => e.name === 'path');
      assert.equal(paths.length, 1);
      // A path with one "M" per unbroken run of points: train has a gap at the NaN step 90.
      assert.ok((paths[0]!.attrs['d'] ?? '').length > 10);
    }
    const moves = curves.map((g) => ([...walk(g)].find((e) => e.name === 'path')!.attrs['d']!.match(/M/g) ?? []).length);
    assert.deepEqual(moves, [2, 1, 1]);
    const events = [...walk(root)].filter((e) => e.name === 'g' && (e.attrs['class'] ?? '').split(/\s+/).includes('event'));
    assert.equal(events.length, 1);
    assert.equal([...walk(events[0]!)].filter((e) => e.name === 'line' || e.name === 'path').length, 3);
    assert.ok(syn.train.size > 100);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loss.svg places every point by one affine map of (step, loss), consistent with its tick labels', async () => {
  const { dir, syn } = await makeRunDir(false);
  try {
    const root = parseXml((await buildReport(dir)).svg);
    const d = [...walk(root)].find((e) => e.name === 'g' && /\bcurve-0\b/.test(e.attrs['class'] ?? ''))!;
    const path = [...walk(d)].find((e) => e.name === 'path')!.attrs['d']!;
    const pts = [...path.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    // The train curve's finite points in step order (the synthetic run's last value per step).
    const want = [...syn.train].filter(([, v]) => v.loss !== null).sort((a, b) => a[0] - b[0]).map(([s, v]) => [s, v.loss!] as const);
    assert.equal(pts.length, want.length);
    const fit = (i: 0 | 1) => {
      const [a, b] = [0, want.length - 1];
      const k = (pts[b]![i] - pts[a]![i]) / (want[b]![i] - want[a]![i]);
      return (v: number) => pts[a]![i] + k * (v - want[a]![i]);
    };
    const fx = fit(0);
    const fy = fit(1);
    for (let j = 0; j < want.length; j++) {
      assert.ok(Math.abs(fx(want[j]![0]) - pts[j]![0]) < 0.02, `x of step ${want[j]![0]}`);
      assert.ok(Math.abs(fy(want[j]![1]) - pts[j]![1]) < 0.02, `y of loss ${want[j]![1]}`);
    }
    assert.ok(fy(2) > fy(3), 'larger loss is higher on the page');
    // Each y tick label sits where the same map puts its value.
    const labels = [...walk(root)].filter((e) => e.name === 'text' && e.attrs['text-anchor'] === 'end');
    assert.ok(labels.length >= 3);
    for (const l of labels) assert.ok(Math.abs(fy(Number(l.text.replace(/,/g, ''))) - (Number(l.attrs['y']) - 4)) < 0.05, `tick ${l.text}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('niceTicks: equal 1/2/5×10^k spacing, inside and covering [lo, hi]', () => {
  assert.deepEqual(niceTicks(0, 10, 5).ticks, [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.1, 0.35, 5).ticks.map((t) => Number(t.toFixed(12))), [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
  fc.assert(fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 1e-6, max: 1e6, noNaN: true }), (lo, span) => {
    const hi = lo + span;
    fc.pre(hi > lo);
    const { step, ticks } = niceTicks(lo, hi);
    const eps = step * 1e-6 + 4 * Number.EPSILON * Math.max(Math.abs(lo), Math.abs(hi)); // float64 rounding of k·step
    const mant = step / 10 ** Math.floor(Math.log10(step) + 1e-12);
    assert.ok([1, 2, 5, 10].some((m) => Math.abs(mant - m) < 1e-9), `step ${step}`);
    assert.ok(ticks.length >= 2 && ticks.length <= 13, `${ticks.length} ticks`);
    for (const t of ticks) assert.ok(t >= lo - eps && t <= hi + eps);
    for (let i = 1; i < ticks.length; i++) assert.ok(Math.abs(ticks[i]! - ticks[i - 1]! - step) <= 2 * eps);
    assert.ok(ticks[0]! - lo < step + eps && hi - ticks[ticks.length - 1]! < step + eps);
  }), { numRuns: 300 });
});

test('writeReport writes both files atomically and returns their paths', async () => {
  const { dir } = await makeRunDir(false);
  const out = join(dir, 'out');
  await mkdir(out);
  try {
    const paths = await writeReport(dir, { outDir: out });
    assert.deepEqual(paths, { html: join(out, 'report.html'), svg: join(out, 'loss.svg') });
    assert.deepEqual((await readdir(out)).sort(), ['loss.svg', 'report.html'], 'no temporary files left');
    const html = await readFile(paths.html, 'utf8');
    assert.ok(html.startsWith('<!DOCTYPE html>'));
    assert.equal(embedded(html).charts.some((c) => c.id === 'lrFind'), false, 'no lr-finder chart without lr_find.jsonl');
    parseXml(await readFile(paths.svg, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a run directory without logs is a FileFormatError naming it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tf-report-empty-'));
  try {
    await assert.rejects(buildReport(dir), (e: unknown) => e instanceof FileFormatError && e.message.includes(dir));
    await assert.rejects(buildReport(join(dir, 'nope')), (e: unknown) => e instanceof FileFormatError && e.message.includes('nope'));
    // Only a config and an empty log: a page is still written, saying there is nothing to plot.
    await writeFile(join(dir, 'metrics.jsonl'), '');
    await writeFile(join(dir, 'config.json'), '{bad json');
    const built = await buildReport(dir);
    assert.match(built.html, /Nothing to plot/);
    assert.match(built.html, /config\.json is not valid JSON/);
    parseXml(built.svg);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('escapeHtml and jsonForScript: known answers and round trips', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  fc.assert(fc.property(fc.jsonValue(), (v) => {
    const s = jsonForScript(v);
    assert.ok(!/[<>&\u2028\u2029]/.test(s));
    assert.deepEqual(JSON.parse(s), JSON.parse(JSON.stringify(v)));
  }), { numRuns: 300 });
});

test('thin keeps at most max points, the first and the last, in order', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 2, max: 300 }), (n, max) => {
    const xs = Array.from({ length: n }, (_, i) => i);
    const t = thin(xs, max);
    assert.ok(t.length <= Math.max(max, 0) || n <= max);
    assert.ok(t.length <= max);
    if (n > 0) { assert.equal(t[0], 0); assert.equal(t[t.length - 1], n - 1); }
    for (let i = 1; i < t.length; i++) assert.ok(t[i]! > t[i - 1]!);
    if (n <= max) assert.equal(t.length, n);
  }), { numRuns: 200 });
});

test('an lr-find run (lr_find.jsonl only) gets a page with the curve and a placeholder SVG', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tf-report-lrfind-'));
  try {
    const lines = [1e-5, 1e-4, 1e-3].map((lr, i) => JSON.stringify({ lr, loss: 3 - i }));
    await writeFile(join(dir, 'lr_find.jsonl'), lines.join('\n') + '\n' + JSON.stringify({ suggestedLr: 1e-4, rule: 'min / 10' }) + '\n');
    const built = await buildReport(dir);
    const data = embedded(built.html);
    assert.deepEqual(data.charts.map((c) => c.id), ['lrFind']);
    assert.deepEqual(data.charts[0]!.series[0]!.values, [3, 2, 1]);
    assert.match(built.html, /No metrics\.jsonl in the run directory/);
    const svg = parseXml(built.svg);
    assert.match([...walk(svg)].map((e) => e.text).join(' '), /no loss values/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
