import { ValueError } from '../errors.js';
import { RecordError, asObject, describe, readJsonl, stringField } from './jsonl.js';
import type { JsonlOptions } from './jsonl.js';
import type { Tokenizer } from './tokenizers/types.js';

/** One reference answer, with its span in UTF-16 code units of the context (JS string indices). */
export interface SquadAnswer {
  text: string;
  /** context.slice(start, end) === text. */
  start: number;
  end: number;
}

/** One SQuAD-layout line (Hugging Face `squad` fields). */
export interface SquadExample {
  id: string;
  title: string;
  context: string;
  question: string;
  answers: SquadAnswer[];
  line: number;
}

export interface SquadDataset {
  path: string;
  examples: SquadExample[];
  skipped: number;
}

/**
 * Converts a code-point index (Python's string index, used by SQuAD's `answer_start`) to a UTF-16
 * index. Equal unless the text before it has characters outside the BMP.
 * @returns the UTF-16 index, or -1 when `cp` is past the end.
 */
export function codePointToUtf16(text: string, cp: number): number {
  let u = 0;
  for (let k = 0; k < cp; k++) {
    if (u >= text.length) return -1;
    u += (text.codePointAt(u)! > 0xffff) ? 2 : 1;
  }
  return u <= text.length ? u : -1;
}

/** Parses and checks one SQuAD JSON line. @throws RecordError naming the field. */
function parseSquad(v: unknown): Omit<SquadExample, 'line'> {
  const o = asObject(v);
  const id = stringField(o, 'id');
  const title = typeof o.title === 'string' ? o.title : '';
  const context = stringField(o, 'context');
  const question = stringField(o, 'question');
  const a = o.answers;
  if (a === undefined) throw new RecordError('field "answers" is missing');
  const ao = asObjectField(a, 'answers');
  const texts = ao.text;
  const starts = ao.answer_start;
  if (!Array.isArray(texts)) throw new RecordError(`field "answers.text" must be an array of strings, got ${describe(texts)}`);
  const badText = texts.findIndex((t) => typeof t !== 'string');
  if (badText >= 0) throw new RecordError(`field "answers.text[${badText}]" must be a string, got ${describe(texts[badText])}`);
  if (!Array.isArray(starts)) throw new RecordError(`field "answers.answer_start" must be an array of non-negative integers, got ${describe(starts)}`);
  const badStart = starts.findIndex((s) => !(Number.isInteger(s) && s >= 0));
  if (badStart >= 0) throw new RecordError(`field "answers.answer_start[${badStart}]" must be a non-negative integer, got ${describe(starts[badStart])}`);
  if (texts.length !== starts.length) {
    throw new RecordError(`fields "answers.text" (${texts.length}) and "answers.answer_start" (${starts.length}) differ in length`);
  }
  const answers = texts.map((text: string, i: number): SquadAnswer => {
    const start = codePointToUtf16(context, starts[i] as number);
    if (start < 0 || context.slice(start, start + text.length) !== text) {
      throw new RecordError(`answers.answer_start[${i}] = ${starts[i]} does not point at answers.text[${i}] = ${JSON.stringify(text)} in the context`);
    }
    return { text, start, end: start + text.length };
  });
  return { id, title, context, question, answers };
}

function asObjectField(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RecordError(`field "${name}" must be an object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

/**
 * Streams a SQuAD-layout JSONL file: `{"id", "title", "context", "question", "answers":
 * {"text": [...], "answer_start": [...]}}`, with `answer_start` in code points. Each answer is
 * checked against the context.
 * @throws FileFormatError `"<path>:<line>: <problem>"` on a malformed line unless `skipMalformed`.
 */
export async function loadSquadJsonl(path: string, options: JsonlOptions = {}): Promise<SquadDataset> {
  const r = await readJsonl(path, parseSquad, options);
  return { path, examples: r.records.map((x, i) => ({ ...x, line: r.lines[i] })), skipped: r.skipped };
}

/**
 * Maps a character span [start, end) to the first and last token overlapping it, given token
 * spans (sorted, non-overlapping, as `encodeWithOffsets` returns). Same rule as Hugging Face's
 * `char_to_token` on the span ends.
 * @returns [startToken, endToken] (inclusive), or null when no token overlaps the span.
 */
export function charSpanToTokenSpan(offsets: ReadonlyArray<readonly [number, number]>, start: number, end: number): [number, number] | null {
  let first = -1;
  let last = -1;
  for (let i = 0; i < offsets.length; i++) {
    const [s, e] = offsets[i];
    if (e <= start) continue;
    if (s >= end) break;
    if (first < 0) first = i;
    last = i;
  }
  return first < 0 ? null : [first, last];
}

/** An encoded question + context: `[CLS] question [SEP] context [SEP]`. */
export interface SquadFeature {
  /** [L] ids. */
  inputIds: number[];
  /** [L] 0 for [CLS] question [SEP], 1 for context [SEP]. */
  tokenTypeIds: number[];
  /** Index in inputIds of the answer's first token; 0 ([CLS]) when the answer was truncated away. */
  startPosition: number;
  /** Index in inputIds of the answer's last token (inclusive); 0 when truncated away. */
  endPosition: number;
  /** Index of the first context token in inputIds. */
  contextStart: number;
  /** [L] span in the context of each input position (null outside the context), for extracting answers. */
  offsets: Array<[number, number] | null>;
}

export interface SquadEncodeOptions {
  /** Total length L including [CLS] and the two [SEP]. Default 384 (BERT's SQuAD setting). */
  maxLength?: number;
  /** Question tokens kept. Default 64. */
  maxQuestionLength?: number;
  /** Which reference answer gives the training span. Default 0. */
  answerIndex?: number;
}

/**
 * Encodes one example for extractive QA. The context is truncated to fit `maxLength` (no document
 * stride: an answer past the cut gets positions 0, the [CLS] convention of BERT for SQuAD).
 * @throws ValueError when the tokenizer gives no offsets or lacks [CLS]/[SEP], or maxLength is too
 *   small to hold the question and one context token.
 */
export function encodeSquadExample(example: SquadExample, tokenizer: Tokenizer, options: SquadEncodeOptions = {}): SquadFeature {
  const maxLength = options.maxLength ?? 384;
  const maxQ = options.maxQuestionLength ?? 64;
  if (!tokenizer.encodeWithOffsets) throw new ValueError(`encodeSquadExample: the ${tokenizer.kind} tokenizer gives no character offsets; use the word or char tokenizer`);
  const cls = tokenizer.clsId;
  const sep = tokenizer.sepId;
  if (cls === undefined || sep === undefined) throw new ValueError(`encodeSquadExample: the ${tokenizer.kind} tokenizer has no [CLS]/[SEP] tokens`);
  const q = tokenizer.encode(example.question).slice(0, maxQ);
  const budget = maxLength - q.length - 3;
  if (budget < 1) throw new ValueError(`encodeSquadExample: maxLength ${maxLength} leaves no room for the context after ${q.length} question tokens`);
  const ctx = tokenizer.encodeWithOffsets(example.context);
  const ctxIds = ctx.ids.slice(0, budget);
  const ctxOffsets = ctx.offsets.slice(0, budget);
  const contextStart = q.length + 2;
  const inputIds = [cls, ...q, sep, ...ctxIds, sep];
  const tokenTypeIds = inputIds.map((_, i) => (i < contextStart ? 0 : 1));
  const offsets: Array<[number, number] | null> = inputIds.map((_, i) =>
    i >= contextStart && i < contextStart + ctxIds.length ? ctxOffsets[i - contextStart] : null);
  let startPosition = 0;
  let endPosition = 0;
  const ans = example.answers[options.answerIndex ?? 0];
  if (ans) {
    const span = charSpanToTokenSpan(ctx.offsets, ans.start, ans.end);
    if (span && span[1] < ctxIds.length) {
      startPosition = contextStart + span[0];
      endPosition = contextStart + span[1];
    }
  }
  return { inputIds, tokenTypeIds, startPosition, endPosition, contextStart, offsets };
}

/**
 * The context text of a predicted span [start, end] of input positions (inclusive), or '' when
 * the span is not inside the context.
 */
export function answerFromSpan(context: string, feature: SquadFeature, start: number, end: number): string {
  const a = feature.offsets[start];
  const b = feature.offsets[end];
  if (!a || !b || end < start) return '';
  return context.slice(a[0], b[1]);
}
