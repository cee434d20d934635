/**
 * Reads a run's metrics.jsonl into train / eval points, events and per-layer statistics, tolerating
 * missing fields and malformed lines (they are counted and the first ones described, never fatal).
 *
 * Line kinds (DESIGN.md "Training", issues 7 and 8):
 * - `{split: 'train', step, epoch?, loss, terms?, lr, gradNorm, tokensPerSecond, lossScale, skipped?,
 *   attribution?: {<term>: {gradNorm, cosine}}}`
 * - `{split: 'eval', step, epoch?, loss, perplexity?, accuracy?, macroF1?, bleu?, chrf?, exactMatch?, f1?, terms?}`
 * - `{event: 'rollback' | 'skip' | 'warning', step, message}`
 * - `{type: 'layers', step, layers: [{name, gradNorm, paramNorm, updateRatio}]}`
 * Optional on any line: `time` (ms since the Unix epoch, or an ISO 8601 string) and `elapsed`
 * (seconds since the run started), used for the wall time.
 */
import { access } from 'node:fs/promises';
import { isRecord, readJsonl, readNumber } from './jsonl.js';
import type { EvalPoint, LayerStats, LogIssue, ParsedMetrics, RunEvent, TrainPoint } from './types.js';

/** How many problems are described individually; the counts always cover all of them. */
export const MAX_LISTED_ISSUES = 50;

const TRAIN_FIELDS = ['epoch', 'loss', 'lr', 'gradNorm', 'tokensPerSecond', 'lossScale'] as const;
const EVAL_FIELDS = ['epoch', 'loss', 'perplexity', 'accuracy', 'macroF1', 'bleu', 'chrf', 'exactMatch', 'f1'] as const;

/** Counts, per field, in how many lines of one kind it was present. */
class Presence {
  lines = 0;
  present = new Map<string, number>();
  see(field: string): void {
    this.present.set(field, (this.present.get(field) ?? 0) + 1);
  }
  /** Fields present on some lines but not all (and `always` fields whenever they are missing). */
  missing(prefix: string, always: string[], out: Record<string, number>): void {
    const fields = new Set([...this.present.keys(), ...always]);
    for (const f of fields) {
      const p = this.present.get(f) ?? 0;
      if (this.lines > 0 && p < this.lines && (p > 0 || always.includes(f))) out[`${prefix}.${f}`] = this.lines - p;
    }
  }
}

function readTime(obj: Record<string, unknown>): number | null {
  const t = obj['time'];
  if (typeof t === 'number' && Number.isFinite(t)) return t;
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    return Number.isFinite(ms) ? ms : null;
  }
  return null;
}

/**
 * Parses `path` (a metrics.jsonl). A missing file gives `found: false` and no points.
 * @throws the fs error for anything other than a missing file (EACCES, EISDIR, …).
 */
export async function parseMetrics(path: string): Promise<ParsedMetrics> {
  const out: ParsedMetrics = {
    path, found: false, totalLines: 0, blankLines: 0, train: [], eval: [], events: [], layers: [],
    malformedCount: 0, invalidValueCount: 0, missingFields: {}, issues: [],
  };
  try {
    await access(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw e;
  }
  out.found = true;
  const file = 'metrics.jsonl';
  const note = (line: number, reason: string): void => {
    if (out.issues.length < MAX_LISTED_ISSUES) out.issues.push({ file, line, reason } satisfies LogIssue);
  };
  const malformed = (line: number, reason: string): void => {
    out.malformedCount++;
    note(line, reason);
  };
  const trainSeen = new Presence();
  const evalSeen = new Presence();

  /** Reads a number, recording presence and invalid values. */
  const num = (obj: Record<string, unknown>, field: string, line: number, seen: Presence | null, label = field): number | null => {
    const r = readNumber(obj, field);
    if (r.present && seen) seen.see(label);
    if (r.invalid) {
      out.invalidValueCount++;
      note(line, `field "${label}" is not a number: ${JSON.stringify(obj[field]).slice(0, 60)}`);
    }
    return r.value;
  };
  const terms = (obj: Record<string, unknown>, line: number, seen: Presence): Record<string, number | null> => {
    const t = obj['terms'];
    const res: Record<string, number | null> = {};
    if (t === undefined) return res;
    if (!isRecord(t)) {
      out.invalidValueCount++;
      note(line, 'field "terms" is not an object');
      return res;
    }
    for (const name of Object.keys(t)) res[name] = num(t, name, line, seen, `terms.${name}`);
    return res;
  };

  /** `attribution: {term: {gradNorm, cosine}}` of a train line (objectiveAttribution). */
  const attribution = (obj: Record<string, unknown>, line: number): TrainPoint['attribution'] => {
    const a = obj['attribution'];
    const res: TrainPoint['attribution'] = {};
    if (a === undefined) return res;
    if (!isRecord(a)) {
      out.invalidValueCount++;
      note(line, 'field "attribution" is not an object');
      return res;
    }
    for (const [name, v] of Object.entries(a)) {
      if (!isRecord(v)) { out.invalidValueCount++; note(line, `field "attribution.${name}" is not an object`); continue; }
      res[name] = { gradNorm: num(v, 'gradNorm', line, null, `attribution.${name}.gradNorm`), cosine: num(v, 'cosine', line, null, `attribution.${name}.cosine`) };
    }
    return res;
  };

  for await (const l of readJsonl(path)) {
    out.totalLines = l.line;
    if ('blank' in l) {
      out.blankLines++;
      continue;
    }
    if (!l.ok) {
      malformed(l.line, `not valid JSON (${l.error})`);
      continue;
    }
    const obj = l.value;
    if (!isRecord(obj)) {
      malformed(l.line, 'not a JSON object');
      continue;
    }
    if ('event' in obj) {
      const step = num(obj, 'step', l.line, null);
      const m = obj['message'];
      const message = typeof m === 'string' ? m : m === undefined ? '' : JSON.stringify(m);
      out.events.push({ line: l.line, kind: String(obj['event']), step: step !== null && Number.isFinite(step) ? step : null, message, source: 'event' });
      continue;
    }
    if (obj['type'] === 'layers') {
      const step = readNumber(obj, 'step').value;
      const layers = obj['layers'];
      if (step === null || !Number.isFinite(step)) {
        malformed(l.line, 'layers line without a numeric "step"');
        continue;
      }
      if (!Array.isArray(layers)) {
        malformed(l.line, 'layers line without a "layers" array');
        continue;
      }
      const entry: LayerStats = { line: l.line, step, layers: [] };
      layers.forEach((x, i) => {
        if (!isRecord(x) || typeof x['name'] !== 'string') {
          out.invalidValueCount++;
          note(l.line, `layers[${i}] has no "name"`);
          return;
        }
        entry.layers.push({
          name: x['name'],
          gradNorm: num(x, 'gradNorm', l.line, null),
          paramNorm: num(x, 'paramNorm', l.line, null),
          updateRatio: num(x, 'updateRatio', l.line, null),
        });
      });
      out.layers.push(entry);
      continue;
    }
    let split = obj['split'];
    if (split === undefined && 'loss' in obj && !('type' in obj)) {
      // An older or hand-written line: a loss without a split is a training step.
      split = 'train';
      out.missingFields['train.split'] = (out.missingFields['train.split'] ?? 0) + 1;
    }
    if (split !== 'train' && split !== 'eval') {
      malformed(l.line, split === undefined ? 'not a train/eval, event or layers line' : `unknown split ${JSON.stringify(split).slice(0, 40)}`);
      continue;
    }
    const step = readNumber(obj, 'step').value;
    if (step === null || !Number.isFinite(step)) {
      malformed(l.line, `${split} line without a numeric "step"`);
      continue;
    }
    const elapsedRaw = readNumber(obj, 'elapsed').value;
    const elapsedS = elapsedRaw !== null && Number.isFinite(elapsedRaw) ? elapsedRaw : null;
    if (split === 'train') {
      trainSeen.lines++;
      const p: TrainPoint = {
        line: l.line, step,
        epoch: num(obj, 'epoch', l.line, trainSeen),
        loss: num(obj, 'loss', l.line, trainSeen),
        terms: terms(obj, l.line, trainSeen),
        lr: num(obj, 'lr', l.line, trainSeen),
        gradNorm: num(obj, 'gradNorm', l.line, trainSeen),
        tokensPerSecond: num(obj, 'tokensPerSecond', l.line, trainSeen),
        lossScale: num(obj, 'lossScale', l.line, trainSeen),
        skipped: obj['skipped'] === true,
        attribution: attribution(obj, l.line),
        timeMs: readTime(obj), elapsedS,
      };
      out.train.push(p);
      if (p.skipped) out.events.push({ line: l.line, kind: 'skip', step, message: 'optimiser step skipped (skipped: true on the train line)', source: 'skipped-flag' });
    } else {
      evalSeen.lines++;
      const p: EvalPoint = {
        line: l.line, step,
        epoch: num(obj, 'epoch', l.line, evalSeen),
        loss: num(obj, 'loss', l.line, evalSeen),
        perplexity: num(obj, 'perplexity', l.line, evalSeen),
        accuracy: num(obj, 'accuracy', l.line, evalSeen),
        macroF1: num(obj, 'macroF1', l.line, evalSeen),
        bleu: num(obj, 'bleu', l.line, evalSeen),
        chrf: num(obj, 'chrf', l.line, evalSeen),
        exactMatch: num(obj, 'exactMatch', l.line, evalSeen),
        f1: num(obj, 'f1', l.line, evalSeen),
        terms: terms(obj, l.line, evalSeen),
        timeMs: readTime(obj), elapsedS,
      };
      out.eval.push(p);
    }
  }
  trainSeen.missing('train', ['loss'], out.missingFields);
  evalSeen.missing('eval', ['loss'], out.missingFields);
  // Keep only the fields the log format names (plus terms) in the missing list, in a stable order.
  const known = new Set([...TRAIN_FIELDS.map((f) => `train.${f}`), ...EVAL_FIELDS.map((f) => `eval.${f}`), 'train.split']);
  for (const k of Object.keys(out.missingFields)) if (!known.has(k) && !/^(train|eval)\.terms\./.test(k)) delete out.missingFields[k];
  out.events = dedupeSkips(out.events);
  return out;
}

/** Drops a `skipped: true` flag's event when an explicit skip event names the same step. */
function dedupeSkips(events: RunEvent[]): RunEvent[] {
  const explicit = new Set(events.filter((e) => e.source === 'event' && e.kind === 'skip').map((e) => e.step));
  return events.filter((e) => e.source === 'event' || !explicit.has(e.step));
}
