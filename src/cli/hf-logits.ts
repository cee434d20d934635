#!/usr/bin/env node
/**
 * `npm run hf-logits -- <gpt2-folder> <expected.json> [--tol X]`: loads a Hugging Face GPT-2 folder
 * (config.json + model.safetensors), runs it on `input_ids` from the JSON file and prints the
 * maximum absolute difference between its logits and the file's `logits`:
 *
 *   max_abs_diff: 3.1e-7 (logits [1, 8, 1000])
 *
 * JSON: `{"input_ids": [[...], ...] | [...], "logits": [B][T][V] | [T][V] (nested or flat)}`.
 * Exit code: 0 computed (and ≤ tol when --tol is given), 1 above tol, 2 bad usage or input.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { FileFormatError, TrainformerError } from '../errors.js';
import { loadHFGPT2 } from '../models/hf-gpt2.js';
import * as T from '../tensor/index.js';

const USAGE = 'usage: hf-logits <gpt2-folder> <expected.json> [--tol X]';

/** Flattens a nested numeric array; returns values and shape. @throws FileFormatError when ragged. */
export function flattenNested(v: unknown, what: string): { data: number[]; shape: number[] } {
  const data: number[] = [];
  const walk = (x: unknown, depth: number, shape: number[]): void => {
    if (Array.isArray(x)) {
      if (shape.length === depth) shape.push(x.length);
      else if (shape[depth] !== x.length) throw new FileFormatError(`${what}: ragged nested array at depth ${depth}`);
      for (const e of x) walk(e, depth + 1, shape);
    } else {
      if (depth !== shape.length) throw new FileFormatError(`${what}: ragged nested array (a number at depth ${depth})`);
      const n = typeof x === 'string' ? Number(x) : x;
      if (typeof n !== 'number' || (typeof x === 'string' && !['NaN', 'Infinity', '-Infinity'].includes(x))) {
        throw new FileFormatError(`${what}: expected numbers, got ${JSON.stringify(x)}`);
      }
      data.push(n);
    }
  };
  const shape: number[] = [];
  walk(v, 0, shape);
  return { data, shape };
}

/**
 * Max |ours - expected| over all logits (NaN when any difference is NaN).
 * @throws FileFormatError / ConfigError / StateDictError for bad inputs.
 */
export function hfLogitsDiff(folder: string, jsonPath: string): { maxAbsDiff: number; shape: number[] } {
  let j: { input_ids?: unknown; logits?: unknown };
  try {
    j = JSON.parse(readFileSync(jsonPath, 'utf8')) as typeof j;
  } catch (e) {
    throw new FileFormatError(`${jsonPath}: cannot read JSON (${(e as Error).message})`);
  }
  if (j.input_ids === undefined || j.logits === undefined) throw new FileFormatError(`${jsonPath}: needs "input_ids" and "logits"`);
  const ids = flattenNested(j.input_ids, `${jsonPath} input_ids`);
  if (ids.shape.length === 1) ids.shape.unshift(1);
  if (ids.shape.length !== 2) throw new FileFormatError(`${jsonPath}: input_ids must be [T] or [B, T], got shape [${ids.shape.join(', ')}]`);
  const [B, Tn] = ids.shape;
  const model = loadHFGPT2(folder);
  const V = model.config.vocabSize;
  const want = flattenNested(j.logits, `${jsonPath} logits`);
  if (want.data.length !== B * Tn * V) {
    throw new FileFormatError(`${jsonPath}: logits have ${want.data.length} values (shape [${want.shape.join(', ')}]); expected [${B}, ${Tn}, ${V}]`);
  }
  const got = T.noGrad(() => model.forward(T.tensor(Int32Array.from(ids.data), [B, Tn], 'int32'))).data();
  let m = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want.data[i]);
    if (Number.isNaN(d) && !(Number.isNaN(got[i]) && Number.isNaN(want.data[i]))) { m = NaN; break; }
    if (d > m) m = d;
  }
  return { maxAbsDiff: m, shape: [B, Tn, V] };
}

/** CLI entry; returns the exit code. */
export function hfLogitsMain(argv: readonly string[], out: (s: string) => void = (s) => { process.stdout.write(`${s}\n`); },
  err: (s: string) => void = (s) => { process.stderr.write(`${s}\n`); }): number {
  const pos: string[] = [];
  let tol: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { out(USAGE); return 0; }
    if (a === '--tol') {
      tol = Number(argv[++i]);
      if (!Number.isFinite(tol)) { err(`hf-logits: --tol needs a number; ${USAGE}`); return 2; }
    } else pos.push(a);
  }
  if (pos.length !== 2) { err(USAGE); return 2; }
  try {
    const { maxAbsDiff, shape } = hfLogitsDiff(pos[0], pos[1]);
    out(`max_abs_diff: ${maxAbsDiff} (logits [${shape.join(', ')}])`);
    return tol !== undefined && !(maxAbsDiff <= tol) ? 1 : 0;
  } catch (e) {
    if (e instanceof TrainformerError) { err(`hf-logits: ${e.message}`); return 2; }
    throw e;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = hfLogitsMain(process.argv.slice(2));
}
