/**
 * Back-translation (Sennrich et al. 2016; as text augmentation, e.g. Xie et al. 2020 UDA): each text
 * is translated by a `forward` seq2seq run (e.g. English→French) and the result back by a
 * `backward` run (French→English); the round trip is a paraphrase. Paraphrases go to a JSONL cache
 * (data/paraphrase-cache.ts) that `data.augment.backTranslation` reads; texts already in the cache
 * from the same two checkpoints and decoding settings are not translated again. The cache is
 * rewritten atomically after every chunk, so an interrupted run keeps what it finished.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, TrainformerError } from '../errors.js';
import { readJsonl, asObject, stringField } from '../data/jsonl.js';
import { readParaphraseCache, writeParaphraseCache, type ParaphraseEntry } from '../data/paraphrase-cache.js';
import type { Seq2SeqTask } from '../tasks/seq2seq.js';
import { noGrad } from '../tensor/index.js';
import { taskFromCheckpoint } from './checkpoint-task.js';
import { numFlag } from './predict.js';
import { runUnlessAborted } from '../tasks/types.js';
import { abortedMeanwhile, TrainingInterrupted, withInterrupt } from './interrupt.js';

export interface BackTranslateOptions {
  /** Run or checkpoint folder of the source→pivot seq2seq model. */
  forward: string;
  /** Run or checkpoint folder of the pivot→source seq2seq model. */
  backward: string;
  /** The JSONL cache to read and (re)write. */
  cache: string;
  /** Beam width of both translations (default: each run's generation.numBeams). */
  numBeams?: number;
  /** Texts translated between two writes of the cache (default 256). */
  chunkSize?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /**
   * Stops at the next batch of translations when aborted (Ctrl-C): the chunk under way is dropped,
   * the cache keeps the chunks written before it, `interrupted` is set.
   */
  signal?: AbortSignal;
}

export interface BackTranslateResult {
  /** The cache's entries for the given texts, in their order (first occurrence). */
  entries: ParaphraseEntry[];
  reused: number;
  translated: number;
  seconds: number;
  /** Stopped by `signal`: `translated` texts of `toTranslate` were translated (and are in the cache). */
  interrupted: boolean;
  /** The texts the cache did not have. */
  toTranslate: number;
}

/** `f()`, with a failure on bad input named with the flag that gave it: `--data: <file>: no such file`. */
async function flagged<T>(flag: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof TrainformerError && !e.message.startsWith(`${flag}: `)) throw new ConfigError(`${flag}: ${e.message}`);
    throw e;
  }
}

async function seq2seqRun(path: string, flag: string): Promise<{ task: Seq2SeqTask; dir: string }> {
  const { task, config, dir } = await flagged(flag, () => taskFromCheckpoint(path, [], { noData: true, noTrainData: true }));
  if (config.task !== 'seq2seq') throw new ConfigError(`${flag}: ${path} is a run of task ${config.task}, not seq2seq`);
  return { task: task as Seq2SeqTask, dir };
}

/**
 * Paraphrases of `texts` through the two runs, from the cache where it has them.
 * @throws ConfigError / FileFormatError naming a run that is missing or not seq2seq, or a malformed cache line.
 */
export async function backTranslate(texts: readonly string[], o: BackTranslateOptions): Promise<BackTranslateResult> {
  const t0 = performance.now();
  const signal = o.signal ?? new AbortController().signal;
  const fwd = await seq2seqRun(o.forward, '--forward');
  const bwd = await seq2seqRun(o.backward, '--backward');
  const hash = createHash('sha256');
  for (const dir of [fwd.dir, bwd.dir]) hash.update(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  const models = `${hash.digest('hex').slice(0, 16)}:beams${o.numBeams ?? 'cfg'}`;
  const kept = (await readParaphraseCache(o.cache)).filter((e) => e.models === models);
  const byText = new Map(kept.map((e) => [e.text, e]));
  const unique = [...new Set(texts)];
  const missing = unique.filter((t) => !byText.has(t));
  const reused = unique.length - missing.length;
  const chunk = o.chunkSize ?? 256;
  const opts = o.numBeams !== undefined ? { numBeams: o.numBeams } : {};
  const result = (translated: number, interrupted: boolean): BackTranslateResult => ({
    entries: unique.flatMap((t) => byText.get(t) ?? []), reused, translated, seconds: (performance.now() - t0) / 1000,
    interrupted, toTranslate: missing.length,
  });
  // Loading the two runs and hashing their weights run without a turn of the event loop.
  if (await abortedMeanwhile(signal)) return result(0, true);
  for (let i = 0; i < missing.length; i += chunk) {
    const src = missing.slice(i, i + chunk);
    const pivots = await runUnlessAborted(fwd.task.translateBatchSteps(src, opts), signal, (next) => noGrad(next));
    const paras = pivots && await runUnlessAborted(bwd.task.translateBatchSteps(pivots, opts), signal, (next) => noGrad(next));
    if (pivots === null || paras === null) return result(i, true);
    src.forEach((text, k) => byText.set(text, { text, paraphrase: paras[k], pivot: pivots[k], models }));
    writeParaphraseCache(o.cache, [...byText.values()]);
    o.log?.(`back-translate: ${Math.min(i + chunk, missing.length)} / ${missing.length} texts (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  return result(missing.length, false);
}

export interface BackTranslateFlags {
  forward: string;
  backward: string;
  data: string;
  output: string;
  textField?: string;
  numBeams?: string;
}

/** `trainformer back-translate`: paraphrases of a JSONL file's texts into the cache; one summary line. */
export async function backTranslateCommand(f: BackTranslateFlags): Promise<void> {
  const field = f.textField ?? 'text';
  const numBeams = numFlag(f.numBeams, 'numBeams', true);
  if (numBeams !== undefined && numBeams < 1) throw new ConfigError(`--numBeams: must be at least 1 (got ${numBeams})`);
  const texts = await flagged('--data', async () => (await readJsonl(f.data, (v) => stringField(asObject(v), field))).records);
  // Ctrl-C is caught from the start (loading the runs included) and stops at the next batch of
  // translations; the cache keeps the chunks finished before it.
  const r = await withInterrupt((signal) => backTranslate(texts, {
    forward: f.forward, backward: f.backward, cache: f.output, numBeams, signal,
    log: (s) => process.stderr.write(`${s}\n`),
  }));
  if (r.interrupted) {
    throw new TrainingInterrupted(`back-translate interrupted (Ctrl-C) after ${r.translated} of ${r.toTranslate} texts to translate; `
      + (r.translated > 0 ? `${f.output} holds them — the same command translates the rest` : `${f.output} not changed`));
  }
  const same = r.entries.filter((e) => e.paraphrase === e.text).length;
  process.stdout.write(`${r.entries.length} texts: ${r.reused} from the cache, ${r.translated} translated in ${r.seconds.toFixed(1)} s; ${same} paraphrases equal their text → ${f.output}\n`);
}
