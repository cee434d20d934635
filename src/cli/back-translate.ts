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
}

export interface BackTranslateResult {
  /** The cache's entries for the given texts, in their order (first occurrence). */
  entries: ParaphraseEntry[];
  reused: number;
  translated: number;
  seconds: number;
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
  for (let i = 0; i < missing.length; i += chunk) {
    const src = missing.slice(i, i + chunk);
    const pivots = noGrad(() => fwd.task.translateBatch(src, opts));
    const paras = noGrad(() => bwd.task.translateBatch(pivots, opts));
    src.forEach((text, k) => byText.set(text, { text, paraphrase: paras[k], pivot: pivots[k], models }));
    writeParaphraseCache(o.cache, [...byText.values()]);
    o.log?.(`back-translate: ${Math.min(i + chunk, missing.length)} / ${missing.length} texts (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  return { entries: unique.map((t) => byText.get(t)!), reused, translated: missing.length, seconds: (performance.now() - t0) / 1000 };
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
  const r = await backTranslate(texts, {
    forward: f.forward, backward: f.backward, cache: f.output, numBeams,
    log: (s) => process.stderr.write(`${s}\n`),
  });
  const same = r.entries.filter((e) => e.paraphrase === e.text).length;
  process.stdout.write(`${r.entries.length} texts: ${r.reused} from the cache, ${r.translated} translated in ${r.seconds.toFixed(1)} s; ${same} paraphrases equal their text → ${f.output}\n`);
}
