/**
 * `trainformer score --metrics bleu,chrf --ref ref.txt [--ref ref2.txt …] [--input hyp.txt] < hyp.txt`:
 * corpus BLEU / chrF / chrF++ of a hypothesis file against reference files, one segment per line, as
 * sacreBLEU's command computes them by default. Prints one line per metric with a sacreBLEU-style
 * signature, or a JSON array with `--json`.
 */
import { readFileSync } from 'node:fs';
import { decodeUtf8 } from '../data/encoding.js';
import { ConfigError, FileFormatError } from '../errors.js';
import { corpusBleu, corpusChrf, type BleuTokenize } from '../metrics/index.js';
import { readFailure } from '../io/read-failure.js';

export interface ScoreFlags {
  metrics?: string;
  ref?: string[];
  input?: string;
  lowercase?: boolean;
  tokenize?: string;
  json?: boolean;
}

/** One metric's result as printed with --json. */
export interface ScoreEntry {
  name: string;
  score: number;
  signature: string;
  verboseScore: string;
}

const METRICS = ['bleu', 'chrf', 'chrf++'] as const;

/**
 * The lines of a UTF-8 text file (a final newline ends the last line; `\r\n` counts as `\n`).
 * @param bytes the content when it is not read from `path` (stdin).
 * @throws FileFormatError naming the file when it cannot be read or is not UTF-8 (never U+FFFD silently).
 */
export function readSegments(path: string, bytes?: ArrayLike<number>): string[] {
  let raw: ArrayLike<number>;
  try {
    raw = bytes ?? readFileSync(path);
  } catch (e) {
    throw new FileFormatError(`${path}: ${readFailure(e, 'cannot be read')}`);
  }
  const s = decodeUtf8(path, raw);
  if (s.length === 0) return [];
  const lines = s.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/**
 * Scores hypotheses against reference streams.
 * @throws ConfigError for an unknown metric or tokenizer; FileFormatError when line counts differ or there are no lines.
 */
export function score(hyps: string[], refs: Array<{ path: string; lines: string[] }>, f: ScoreFlags, hypName = 'stdin'): ScoreEntry[] {
  const names = (f.metrics ?? 'bleu').split(',').map((m) => m.trim().toLowerCase()).filter(Boolean);
  if (names.length === 0) throw new ConfigError(`--metrics: names no metric (choose from ${METRICS.join(', ')})`);
  for (const m of names) if (!(METRICS as readonly string[]).includes(m)) throw new ConfigError(`--metrics: unknown metric ${JSON.stringify(m)} (choose from ${METRICS.join(', ')})`);
  const tokenize = (f.tokenize ?? '13a') as BleuTokenize;
  if (tokenize !== '13a' && tokenize !== 'none') throw new ConfigError(`--tokenize: must be 13a or none (got ${JSON.stringify(f.tokenize)})`);
  if (refs.length === 0) throw new ConfigError('--ref: give at least one reference file');
  // sacreBLEU's ratio and precisions are 0/0 on an empty corpus: say so instead of printing NaN.
  if (hyps.length === 0) throw new FileFormatError(`${hypName}: no hypothesis lines to score`);
  for (const r of refs) {
    if (r.lines.length !== hyps.length) throw new FileFormatError(`${r.path}: ${r.lines.length} lines, but the hypotheses (${hypName}) have ${hyps.length}`);
  }
  const streams = refs.map((r) => r.lines);
  const lowercase = f.lowercase ?? false;
  const nrefs = `nrefs:${refs.length}|case:${lowercase ? 'lc' : 'mixed'}`;
  return names.map((m): ScoreEntry => {
    if (m === 'bleu') {
      const b = corpusBleu(hyps, streams, { tokenize, lowercase });
      const verbose = `${b.precisions.map((p) => p.toFixed(1)).join('/')} (BP = ${b.bp.toFixed(3)} ratio = ${(b.sysLen / b.refLen).toFixed(3)} hyp_len = ${b.sysLen} ref_len = ${b.refLen})`;
      return { name: 'BLEU', score: b.score, signature: `${nrefs}|eff:no|tok:${tokenize}|smooth:exp`, verboseScore: verbose };
    }
    const wordOrder = m === 'chrf++' ? 2 : 0;
    const c = corpusChrf(hyps, streams, { lowercase, wordOrder });
    return { name: c.name, score: c.score, signature: `${nrefs}|eff:yes|nc:6|nw:${wordOrder}|space:no`, verboseScore: '' };
  });
}

/** The `score` command. */
export function scoreCommand(f: ScoreFlags): void {
  let hyps: string[];
  if (f.input) hyps = readSegments(f.input);
  else {
    if (process.stdin.isTTY) throw new ConfigError('--input: give the hypotheses on stdin (score … < hyp.txt) or with --input <file>');
    hyps = readSegments('stdin', readFileSync(0));
  }
  const refs = (f.ref ?? []).map((path) => ({ path, lines: readSegments(path) }));
  const out = score(hyps, refs, f, f.input ?? 'stdin');
  if (f.json) {
    process.stdout.write(JSON.stringify(out.map((e) => ({ ...e, score: Number(e.score.toFixed(6)) })), null, 1) + '\n');
    return;
  }
  for (const e of out) process.stdout.write(`${e.name}|${e.signature} = ${e.score.toFixed(2)}${e.verboseScore ? ` ${e.verboseScore}` : ''}\n`);
}
