/**
 * Long contexts for extractive QA as overlapping windows, the way Hugging Face's `run_qa` prepares
 * SQuAD features (`truncation="only_second"`, `stride=doc_stride`, `return_overflowing_tokens`):
 * every window is `[CLS] question [SEP] context[w0:w1] [SEP]` with at most `maxLength` tokens, and
 * consecutive windows share `docStride` context tokens. A window holds the answer's positions when
 * the whole answer lies inside it, else it points at [CLS] (position 0).
 */
import { ValueError } from '../errors.js';
import { charSpanToTokenSpan, type SquadExample, type SquadFeature } from './squad.js';
import type { Tokenizer } from './tokenizers/types.js';

export interface SquadWindowOptions {
  /** Total tokens of a window, [CLS] and the two [SEP] included. Default 384 (run_qa's max_seq_length). */
  maxLength?: number;
  /** Context tokens shared by consecutive windows. Default 128 (run_qa's doc_stride), or half the context room when that is less. */
  docStride?: number;
  /** Question tokens kept. Default 64. */
  maxQuestionLength?: number;
  /** Which reference answer gives the training span. Default 0. */
  answerIndex?: number;
}

/** A window of one example. */
export interface SquadWindow extends SquadFeature {
  /** Index of the window's first context token in the whole context's tokens. */
  windowStart: number;
}

/**
 * Splits one example into windows (one when the context fits).
 * @throws ValueError when the tokenizer gives no offsets or has no [CLS]/[SEP], when `maxLength`
 *   leaves no room for context after the question, or when `docStride` is not smaller than that room.
 */
export function encodeSquadWindows(example: Pick<SquadExample, 'context' | 'question' | 'answers'>, tokenizer: Tokenizer, options: SquadWindowOptions = {}): SquadWindow[] {
  const maxLength = options.maxLength ?? 384;
  const maxQ = options.maxQuestionLength ?? 64;
  if (!tokenizer.encodeWithOffsets) throw new ValueError(`encodeSquadWindows: the ${tokenizer.kind} tokenizer gives no character offsets; use the bpe, word or char tokenizer`);
  const cls = tokenizer.clsId, sep = tokenizer.sepId;
  if (cls === undefined || sep === undefined) throw new ValueError(`encodeSquadWindows: the ${tokenizer.kind} tokenizer has no [CLS]/[SEP] tokens`);
  const q = tokenizer.encode(example.question).slice(0, maxQ);
  const room = maxLength - q.length - 3;
  if (room < 1) throw new ValueError(`data.maxLength: ${maxLength} leaves no room for the context after ${q.length} question tokens`);
  const docStride = options.docStride ?? Math.min(128, Math.floor(room / 2));
  if (!Number.isInteger(docStride) || docStride < 0 || docStride >= room) {
    throw new ValueError(`data.docStride: must be an integer in [0, ${room}) — the context tokens a window of data.maxLength ${maxLength} holds after the question (got ${docStride})`);
  }
  const ctx = tokenizer.encodeWithOffsets(example.context);
  const ans = example.answers[options.answerIndex ?? 0];
  const span = ans ? charSpanToTokenSpan(ctx.offsets, ans.start, ans.end) : null;
  const contextStart = q.length + 2;
  const windows: SquadWindow[] = [];
  for (let w0 = 0; ; w0 += room - docStride) {
    const w1 = Math.min(ctx.ids.length, w0 + room);
    const inputIds = [cls, ...q, sep, ...ctx.ids.slice(w0, w1), sep];
    const tokenTypeIds = inputIds.map((_, i) => (i < contextStart ? 0 : 1));
    const offsets: Array<[number, number] | null> = inputIds.map((_, i) =>
      (i >= contextStart && i < contextStart + (w1 - w0) ? ctx.offsets[w0 + i - contextStart] : null));
    let startPosition = 0, endPosition = 0;
    if (span && span[0] >= w0 && span[1] < w1) {
      startPosition = contextStart + span[0] - w0;
      endPosition = contextStart + span[1] - w0;
    }
    windows.push({ inputIds, tokenTypeIds, startPosition, endPosition, contextStart, offsets, windowStart: w0 });
    if (w1 >= ctx.ids.length) break;
  }
  return windows;
}
