/**
 * `trainformer predict <checkpoint> (--text <text…> | --file <file.jsonl>)` for every task, JSON
 * lines out: classification `{text, label, probability}`, lm `{text, continuation}`, seq2seq
 * `{src, translation}`, extractive-qa `{id?, question, answer, score, start, end}` (start/end:
 * character offsets of the answer in the context). Input lines name their fields: `text` (the
 * config's data.textField) for classification and lm, the run's data.srcField (`src` by default) for
 * seq2seq, `context` and `question` for extractive-qa; a line without them stops the command with
 * `file:line: field …`.
 */
import { ConfigError, ValueError } from '../errors.js';
import { checkSampling, type SamplingOptions } from '../models/sampling.js';
import { asObject, readJsonl, RecordError, stringField } from '../data/jsonl.js';
import type { ClassificationTask } from '../tasks/classification.js';
import type { ExtractiveQaTask, QaQuestion } from '../tasks/extractive-qa.js';
import type { LmTask } from '../tasks/lm.js';
import type { Seq2SeqTask } from '../tasks/seq2seq.js';
import { noGrad } from '../tensor/index.js';
import { taskFromCheckpoint } from './checkpoint-task.js';
import { requireDataFile } from '../tasks/data-file.js';
import { runUnlessAborted } from '../tasks/types.js';
import { abortedMeanwhile, rel, TrainingInterrupted, withInterrupt } from './interrupt.js';

export interface PredictFlags {
  text?: string[];
  file?: string;
  input?: string;
  question?: string;
  context?: string;
  maxNewTokens?: string;
  temperature?: string;
  numBeams?: string;
  lengthPenalty?: string;
}

/** A number flag. @throws ConfigError naming the flag. */
export function numFlag(v: string | undefined, name: string, int = false): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || (int && !Number.isInteger(x))) throw new ConfigError(`--${name}: must be ${int ? 'an integer' : 'a number'} (got ${JSON.stringify(v)})`);
  return x;
}

/**
 * The sampling options of `generate` / `predict` checked as flags: `--temperature: must be …`.
 * @throws ConfigError naming the flag (checkSampling's messages start with the option's name).
 */
export function checkSamplingFlags(o: SamplingOptions): void {
  try {
    checkSampling(o);
  } catch (e) {
    if (e instanceof ValueError) throw new ConfigError(`--${e.message}`);
    throw e;
  }
}

/**
 * The source text of a seq2seq input line: the run's data.srcField ("src" unless the config said
 * otherwise: "tgt" for examples/fra-eng.json), the field its training and `eval --data` read. A line
 * without it is refused, naming the field; one holding "text" instead (a classification or lm file)
 * says so (it used to be translated in silence: trial s9 F18).
 * @throws RecordError
 */
function srcField(o: Record<string, unknown>, name: string): string {
  try {
    return stringField(o, name);
  } catch (e) {
    const text = o[name] === undefined && name !== 'text' && typeof o.text === 'string'
      ? `; this line has "text" instead: rename it to "${name}"` : '';
    throw new RecordError(`${(e as Error).message} (a seq2seq run translates the "${name}" field, its data.srcField${text})`);
  }
}

/**
 * Why a question cannot be answered, or null: an answer is a span of a non-blank context (Hugging
 * Face's question-answering pipeline refuses an empty context or question too).
 */
function blankQaField(q: QaQuestion): 'context' | 'question' | null {
  return q.context.trim() === '' ? 'context' : q.question.trim() === '' ? 'question' : null;
}

/** One question of an extractive-qa input line. @throws RecordError */
function qaField(v: unknown): QaQuestion & { id?: string } {
  const o = asObject(v);
  const q: QaQuestion & { id?: string } = { context: stringField(o, 'context'), question: stringField(o, 'question') };
  const blank = blankQaField(q);
  if (blank) throw new RecordError(`field "${blank}" is empty (an answer is a span of a non-empty context)`);
  if (typeof o.id === 'string') q.id = o.id;
  return q;
}

const write = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

/**
 * Ctrl-C is caught from the start (checkpoint loading included) and stops the command at the next
 * batch (an lm text, a batch of classification texts, of seq2seq sources or of question windows):
 * the lines printed so far stay (seq2seq and extractive-qa print theirs once all are done) and one
 * line says how many: `prediction with runs/x interrupted (Ctrl-C): 3 of 10 lines printed`.
 */
export async function predictCommand(path: string, f: PredictFlags): Promise<void> {
  const file = f.file ?? f.input;
  // Before the model is loaded: a missing input names its flag.
  if (file !== undefined) requireDataFile(file, f.file !== undefined ? '--file' : '--input');
  await withInterrupt(async (signal) => {
    const { task, config, dir } = await taskFromCheckpoint(path, [], { noData: true, noTrainData: true });
    let printed = 0;
    const stopped = (n: number) => new TrainingInterrupted(`prediction with ${rel(dir)} interrupted (Ctrl-C): ${printed} of ${n} lines printed`);
    const out = (o: unknown): void => { write(o); printed++; };
    /** Runs a generator of batches under no-grad; @throws TrainingInterrupted on Ctrl-C. */
    const run = async <R>(steps: Generator<void, R, void>, n: number): Promise<R> => {
      const r = await runUnlessAborted(steps, signal, (next) => noGrad(next));
      if (r === null) throw stopped(n);
      return r;
    };
    // Loading the checkpoint runs without a turn of the event loop: a Ctrl-C then is seen here.
    const loaded = async (n: number): Promise<void> => {
      if (await abortedMeanwhile(signal)) throw new TrainingInterrupted(`prediction with ${rel(dir)} interrupted (Ctrl-C) before the first prediction: 0 of ${n} lines printed`);
    };
    if (config.task === 'extractive-qa') {
      const qs: Array<QaQuestion & { id?: string }> = [];
      if (f.question !== undefined || f.context !== undefined) {
        if (f.question === undefined || f.context === undefined) throw new ConfigError('--question: give both --question <text> and --context <text>');
        const q = { question: f.question, context: f.context };
        const blank = blankQaField(q);
        if (blank) throw new ConfigError(`--${blank}: is empty (an answer is a span of a non-empty context)`);
        qs.push(q);
      }
      if (file) {
        const n = qs.length;
        qs.push(...(await readJsonl(file, qaField)).records);
        if (qs.length === n) throw new ConfigError(`--file: ${file} holds no JSON line`);
      }
      if (qs.length === 0) throw new ConfigError('--file: give --file <file.jsonl> with "context" and "question" per line, or --question and --context');
      await loaded(qs.length);
      const answers = await run((task as ExtractiveQaTask).answerSteps(qs), qs.length);
      qs.forEach((q, i) => out({ ...(q.id !== undefined ? { id: q.id } : {}), question: q.question, answer: answers[i].text, score: Number(answers[i].score.toFixed(4)), start: answers[i].start, end: answers[i].end }));
      return;
    }
    let texts: string[] = f.text ?? [];
    const field = config.task === 'seq2seq' ? (v: unknown) => srcField(asObject(v), config.data.srcField) : (v: unknown) => stringField(asObject(v), config.data.textField);
    if (file) {
      const records = (await readJsonl(file, field)).records;
      if (records.length === 0) throw new ConfigError(`--file: ${file} holds no JSON line`);
      texts = texts.concat(records);
    }
    if (texts.length === 0) throw new ConfigError('--text: give --text <text> or --file <file.jsonl>');
    const n = texts.length;
    if (config.task === 'classification') {
      const t = task as unknown as ClassificationTask;
      const enc = t.encodeTexts(texts);
      await loaded(n);
      // perDeviceEvalBatchSize texts at a time: predict's own batches, each printed when done.
      const bs = config.perDeviceEvalBatchSize;
      for (let i = 0; i < n; i += bs) {
        const { pred, probs } = noGrad(() => t.predict(enc.slice(i, i + bs)));
        texts.slice(i, i + bs).forEach((text, k) => out({ text, label: t.labelMap.label(pred[k]), probability: Number(probs[k][pred[k]].toFixed(4)) }));
        if (i + bs < n && await abortedMeanwhile(signal)) throw stopped(n);
      }
      return;
    }
    if (config.task === 'lm') {
      const g = config.generation;
      const options = {
        maxNewTokens: numFlag(f.maxNewTokens, 'maxNewTokens', true) ?? g.maxNewTokens,
        temperature: numFlag(f.temperature, 'temperature') ?? g.temperature, topK: g.topK, topP: g.topP,
      };
      checkSamplingFlags(options);
      await loaded(n);
      for (const [i, text] of texts.entries()) {
        out({ text, continuation: (task as LmTask).sample(text, options) });
        if (i + 1 < n && await abortedMeanwhile(signal)) throw stopped(n);
      }
      return;
    }
    const t = task as unknown as Seq2SeqTask;
    const options = {
      numBeams: numFlag(f.numBeams, 'numBeams', true), lengthPenalty: numFlag(f.lengthPenalty, 'lengthPenalty'),
      maxNewTokens: numFlag(f.maxNewTokens, 'maxNewTokens', true),
    };
    await loaded(n);
    const translations = await run(t.translateBatchSteps(texts, options), n);
    texts.forEach((src, i) => out({ src, translation: translations[i] }));
  });
}
