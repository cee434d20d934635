import { FileFormatError, ValueError } from '../errors.js';
import { asObject, labelField, readJsonl, stringField } from './jsonl.js';
import type { JsonlOptions } from './jsonl.js';
import type { Tokenizer } from './tokenizers/types.js';

export type Label = string | number;

/** One `{text, label}` line of a classification JSONL file. */
export interface ClassificationExample {
  text: string;
  label: Label;
  /** 1-based line in the source file (for error messages). */
  line: number;
}

export interface ClassificationDataset {
  path: string;
  examples: ClassificationExample[];
  /** Malformed lines skipped (only with `skipMalformed`). */
  skipped: number;
}

export interface ClassificationLoadOptions extends JsonlOptions {
  /** Field holding the text. Default "text". */
  textField?: string;
  /** Field holding the label (string or integer). Default "label". */
  labelField?: string;
}

/**
 * Streams a JSONL classification file, one `{"text": string, "label": string | integer}` per line.
 * @throws FileFormatError `"<path>:<line>: field "label" is missing"` (and the like) on the first
 *   malformed line unless `skipMalformed`; also when the file cannot be read.
 */
export async function loadClassificationJsonl(path: string, options: ClassificationLoadOptions = {}): Promise<ClassificationDataset> {
  const tf = options.textField ?? 'text';
  const lf = options.labelField ?? 'label';
  const r = await readJsonl(path, (v) => {
    const o = asObject(v);
    return { text: stringField(o, tf), label: labelField(o, lf) };
  }, options);
  return { path, examples: r.records.map((x, i) => ({ ...x, line: r.lines[i] })), skipped: r.skipped };
}

/**
 * Label ↔ class-index table, saved with the model. Classes are sorted deterministically:
 * integers ascending first (so labels 0..K-1 map to themselves), then strings in code-unit order.
 */
export class LabelMap {
  readonly labels: readonly Label[];
  private readonly index = new Map<Label, number>();

  /** @throws ValueError on duplicate labels. */
  constructor(labels: readonly Label[]) {
    this.labels = labels.slice();
    labels.forEach((l, i) => {
      if (this.index.has(l)) throw new ValueError(`LabelMap: label ${JSON.stringify(l)} appears twice`);
      this.index.set(l, i);
    });
  }

  /** The sorted set of labels seen. */
  static fromLabels(labels: Iterable<Label>): LabelMap {
    const set = [...new Set(labels)];
    const ints = set.filter((l): l is number => typeof l === 'number').sort((a, b) => a - b);
    const strs = set.filter((l): l is string => typeof l === 'string').sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return new LabelMap([...ints, ...strs]);
  }

  /** @throws FileFormatError when `labels` is not an array of strings / integers. */
  static fromJSON(json: unknown): LabelMap {
    const labels = (json as { labels?: unknown } | null)?.labels;
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string' || Number.isInteger(l))) {
      throw new FileFormatError('label map JSON: field "labels" must be an array of strings or integers');
    }
    return new LabelMap(labels as Label[]);
  }

  get numLabels(): number {
    return this.labels.length;
  }

  has(label: Label): boolean {
    return this.index.has(label);
  }

  /** Class index of a label. @throws ValueError naming the label when it is unknown. */
  id(label: Label): number {
    const i = this.index.get(label);
    if (i === undefined) {
      throw new ValueError(`label ${JSON.stringify(label)} is not in the label map (known: ${this.labels.map((l) => JSON.stringify(l)).join(', ')})`);
    }
    return i;
  }

  /** Label of a class index (undefined when out of range). */
  label(id: number): Label | undefined {
    return this.labels[id];
  }

  toJSON(): { labels: Label[] } {
    return { labels: [...this.labels] };
  }
}

/** A tokenized classification example: ids (no padding) and class index. */
export interface EncodedClassificationExample {
  /** The ids (the first window when the document was split). */
  inputIds: number[];
  label: number;
  /** The source text (only with `keepText`: what online augmentation starts from). */
  text?: string;
  /**
   * A document longer than maxLength read in overlapping windows (`windows` option): every window's
   * ids, each at most maxLength with its own [CLS] … [SEP]. Absent when the document fits one window.
   */
  windows?: number[][];
}

/**
 * Start offsets of the windows over `n` tokens, `room` tokens per window, consecutive windows sharing
 * `stride` tokens (Hugging Face tokenizers' `stride` with `return_overflowing_tokens`): 0, room −
 * stride, 2·(room − stride), …, the last one ending at n (or the only one, 0, when n ≤ room).
 * @throws ValueError unless 0 ≤ stride < room.
 */
export function windowStarts(n: number, room: number, stride: number): number[] {
  if (!(Number.isInteger(stride) && stride >= 0 && Number.isInteger(room) && stride < room)) {
    throw new ValueError(`windowStarts: need integers 0 <= stride < room, got stride ${stride}, room ${room}`);
  }
  const starts = [0];
  const step = room - stride;
  while (starts[starts.length - 1] + room < n) starts.push(starts[starts.length - 1] + step);
  return starts;
}

export interface EncodeClassificationOptions {
  /** Truncate to this many ids (special tokens included). */
  maxLength?: number;
  /** Wrap as [CLS] text [SEP] when the tokenizer has them. Default true. */
  addSpecialTokens?: boolean;
  /** Skip (and count) examples whose label is not in the map instead of throwing. Default false. */
  skipUnknownLabels?: boolean;
  /** Keep each example's text in `text`. Default false. */
  keepText?: boolean;
  /**
   * Read a text longer than maxLength in overlapping windows instead of truncating it: consecutive
   * windows share `stride` tokens (see {@link windowStarts}). Needs maxLength.
   */
  windows?: { stride: number };
}

/**
 * The model input of one example from its text's ids: truncated to maxLength and wrapped as
 * [CLS] ids [SEP] when `wrap` (room kept for both).
 */
export function classificationInput(ids: readonly number[], tokenizer: Tokenizer, wrap: boolean, maxLength?: number): number[] {
  return classificationWindows(ids, tokenizer, wrap, maxLength)[0];
}

/**
 * The model inputs of one example: with `stride` and a text longer than a window, every window of
 * {@link windowStarts} (each wrapped as [CLS] … [SEP] when `wrap`); otherwise the one truncated input.
 */
export function classificationWindows(ids: readonly number[], tokenizer: Tokenizer, wrap: boolean, maxLength?: number, stride?: number): number[][] {
  const room = maxLength === undefined ? Infinity : wrap ? Math.max(0, maxLength - 2) : maxLength;
  const pieces = stride !== undefined && ids.length > room ? windowStarts(ids.length, room, stride).map((st) => ids.slice(st, st + room)) : [ids.slice(0, room)];
  return pieces.map((w) => (wrap ? [tokenizer.clsId!, ...w, tokenizer.sepId!] : w));
}

/**
 * Tokenizes examples and maps labels to class indices.
 * @throws FileFormatError `"<path>:<line>: label "x" is not in the label map (known: …)"` for a
 *   label the training set did not have (unless `skipUnknownLabels`); ValueError when maxLength < 1.
 */
export function encodeClassification(
  data: ClassificationDataset,
  tokenizer: Tokenizer,
  labelMap: LabelMap,
  options: EncodeClassificationOptions = {},
): { examples: EncodedClassificationExample[]; skipped: number } {
  const { maxLength } = options;
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 1)) {
    throw new ValueError(`encodeClassification: maxLength must be a positive integer, got ${maxLength}`);
  }
  const wrap = (options.addSpecialTokens ?? true) && tokenizer.clsId !== undefined && tokenizer.sepId !== undefined;
  if (wrap && maxLength !== undefined && maxLength < 2) {
    throw new ValueError(`encodeClassification: maxLength must be >= 2 to hold [CLS] and [SEP], got ${maxLength}`);
  }
  if (options.windows) {
    const room = maxLength === undefined ? NaN : wrap ? maxLength - 2 : maxLength;
    if (!(Number.isInteger(options.windows.stride) && options.windows.stride >= 0 && options.windows.stride < room)) {
      throw new ValueError(`encodeClassification: windows.stride must be an integer >= 0 and below the ${room} tokens of text a window holds (maxLength ${maxLength}${wrap ? ' minus [CLS] and [SEP]' : ''}), got ${options.windows.stride}`);
    }
  }
  const out: EncodedClassificationExample[] = [];
  let skipped = 0;
  for (const ex of data.examples) {
    if (!labelMap.has(ex.label)) {
      if (options.skipUnknownLabels) { skipped++; continue; }
      const known = labelMap.labels.map((l) => JSON.stringify(l)).join(', ');
      throw new FileFormatError(`${data.path}:${ex.line}: label ${JSON.stringify(ex.label)} is not in the label map (known: ${known})`);
    }
    let ids: number[];
    try {
      ids = tokenizer.encode(ex.text);
    } catch (e) {
      // A character the tokenizer cannot encode: name the line that holds it.
      if (e instanceof ValueError) throw new FileFormatError(`${data.path}:${ex.line}: ${e.message}`);
      throw e;
    }
    const framed = classificationWindows(ids, tokenizer, wrap, maxLength, options.windows?.stride);
    const e: EncodedClassificationExample = { inputIds: framed[0], label: labelMap.id(ex.label) };
    if (framed.length > 1) e.windows = framed;
    if (options.keepText) e.text = ex.text;
    out.push(e);
  }
  return { examples: out, skipped };
}
