/**
 * The sample predictions of a run's last evaluation (eval_samples.json, written by `train` for
 * seq2seq and extractive-qa: source or question, prediction, reference) as an HTML table.
 */
import { existsSync, readFileSync } from 'node:fs';
import { escapeHtml } from './escape.js';

export interface EvalSample { source: string; prediction: string; reference: string }

/** The samples in `path`, or [] when the file is absent or not in that shape (a report never fails on it). */
export function readSamples(path: string): EvalSample[] {
  if (!existsSync(path)) return [];
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as { samples?: unknown };
    if (!Array.isArray(j.samples)) return [];
    return j.samples.filter((s): s is EvalSample => typeof s === 'object' && s !== null
      && ['source', 'prediction', 'reference'].every((k) => typeof (s as Record<string, unknown>)[k] === 'string'));
  } catch {
    return [];
  }
}

/** A table of samples: source, prediction, reference, and whether the prediction equals the reference. */
export function samplesTable(samples: readonly EvalSample[]): string {
  if (samples.length === 0) return '';
  const rows = samples.map((s) => `<tr><td>${escapeHtml(s.source)}</td><td>${escapeHtml(s.prediction)}</td><td>${escapeHtml(s.reference)}</td><td>${s.prediction.trim() === s.reference.trim() ? '=' : ''}</td></tr>`);
  return `<h2>Sample predictions (last evaluation)</h2>\n<table class="events samples"><thead><tr><th>source / question</th><th>prediction</th><th>reference</th><th>same</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}
