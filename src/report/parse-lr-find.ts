/**
 * Reads lr_find.jsonl, the learning-rate range test log (issue 8): `{lr, loss}` lines in sweep order
 * and one `{suggestedLr, rule}` line. Malformed lines are counted, never fatal.
 */
import { access } from 'node:fs/promises';
import { isRecord, readJsonl, readNumber } from './jsonl.js';
import { MAX_LISTED_ISSUES } from './parse-metrics.js';
import type { ParsedLrFind } from './types.js';

/**
 * Parses `path`. A missing file gives `found: false`. Points keep the sweep order; a point needs a
 * finite, positive `lr` (the curve is drawn on a log axis).
 * @throws the fs error for anything other than a missing file.
 */
export async function parseLrFind(path: string): Promise<ParsedLrFind> {
  const out: ParsedLrFind = { path, found: false, points: [], suggestedLr: null, rule: null, malformedCount: 0, issues: [] };
  try {
    await access(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw e;
  }
  out.found = true;
  const malformed = (line: number, reason: string): void => {
    out.malformedCount++;
    if (out.issues.length < MAX_LISTED_ISSUES) out.issues.push({ file: 'lr_find.jsonl', line, reason });
  };
  for await (const l of readJsonl(path)) {
    if ('blank' in l) continue;
    if (!l.ok) {
      malformed(l.line, `not valid JSON (${l.error})`);
      continue;
    }
    const obj = l.value;
    if (!isRecord(obj)) {
      malformed(l.line, 'not a JSON object');
      continue;
    }
    if ('suggestedLr' in obj) {
      const s = readNumber(obj, 'suggestedLr').value;
      if (s === null || !Number.isFinite(s) || s <= 0) {
        malformed(l.line, '"suggestedLr" is not a positive number');
        continue;
      }
      out.suggestedLr = s;
      const rule = obj['rule'];
      out.rule = typeof rule === 'string' ? rule : rule === undefined ? null : JSON.stringify(rule);
      continue;
    }
    const lr = readNumber(obj, 'lr').value;
    if (lr === null || !Number.isFinite(lr) || lr <= 0) {
      malformed(l.line, 'line without a positive numeric "lr"');
      continue;
    }
    const loss = readNumber(obj, 'loss');
    if (loss.invalid) malformed(l.line, '"loss" is not a number');
    out.points.push({ lr, loss: loss.value });
  }
  return out;
}
