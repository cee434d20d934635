import { ValueError } from '../errors.js';
import { lengthGroupedPermutation } from './length-grouped.js';
import { permutation } from './rng.js';
import type { EncodedClassificationExample } from './classification.js';
import type { EncodedPair } from './pairs.js';
import type { SquadFeature } from './squad.js';

/** PyTorch's default `ignore_index` for cross-entropy: labels with this value carry no loss. */
export const IGNORE_INDEX = -100;

export interface PadOptions {
  /** Value written into padded positions. */
  padValue: number;
  /**
   * 'longest' (default): pad to the longest sequence of the batch (capped at `maxLength` when
   * given); 'maxLength': pad every batch to exactly `maxLength`.
   */
  padding?: 'longest' | 'maxLength';
  /** Sequences longer than this are truncated (keeping the start). */
  maxLength?: number;
}

/** A padded [B, L] batch. */
export interface PaddedBatch {
  /** Int32Array [B, L] row-major. */
  data: Int32Array;
  /** Int32Array [B, L]: 1 on real tokens, 0 on padding. */
  attentionMask: Int32Array;
  /** [B, L]. */
  shape: [number, number];
  /** [B] length of each row before padding (after truncation). */
  lengths: Int32Array;
}

/**
 * Pads (right side) and truncates sequences into one [B, L] block.
 * @throws ValueError when the batch is empty, maxLength is missing for 'maxLength' padding, or a
 *   value is not an integer.
 */
export function padSequences(seqs: ReadonlyArray<ArrayLike<number>>, options: PadOptions): PaddedBatch {
  const { padValue, maxLength } = options;
  const padding = options.padding ?? 'longest';
  if (seqs.length === 0) throw new ValueError('padSequences: the batch is empty');
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 1)) {
    throw new ValueError(`padSequences: maxLength must be a positive integer, got ${maxLength}`);
  }
  if (padding === 'maxLength' && maxLength === undefined) throw new ValueError("padSequences: padding 'maxLength' needs maxLength");
  if (!Number.isInteger(padValue)) throw new ValueError(`padSequences: padValue must be an integer, got ${padValue}`);
  const B = seqs.length;
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) lengths[b] = Math.min(seqs[b].length, maxLength ?? Infinity);
  let L = padding === 'maxLength' ? maxLength! : lengths.reduce((m, v) => Math.max(m, v), 0);
  if (L === 0) L = 1; // a [B, 0] block has no place for a [CLS]-style read-out; keep one pad column
  const data = new Int32Array(B * L).fill(padValue);
  const attentionMask = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    const s = seqs[b];
    for (let t = 0; t < lengths[b]; t++) {
      const v = s[t];
      if (!Number.isInteger(v)) throw new ValueError(`padSequences: seqs[${b}][${t}] = ${v} is not an integer`);
      data[b * L + t] = v;
      attentionMask[b * L + t] = 1;
    }
  }
  return { data, attentionMask, shape: [B, L], lengths };
}

/** Batch for sequence classification. */
export interface ClassificationBatch {
  /** Int32Array [B, L]. */
  inputIds: Int32Array;
  /** Int32Array [B, L]: 1 real, 0 pad. */
  attentionMask: Int32Array;
  /** Int32Array [B]: class indices. */
  labels: Int32Array;
  /** [R, L]: R = B, or the number of windows when documents were split. */
  shape: [number, number];
  /**
   * Documents read in windows: the rows are every document's windows in order, `windowCounts[b]`
   * of them for document b (R = their sum). Absent when every document is one row.
   */
  windowCounts?: Int32Array;
}

/** Pads a list of encoded classification examples. @throws ValueError (see padSequences). */
export function collateClassification(
  batch: readonly EncodedClassificationExample[],
  options: Omit<PadOptions, 'padValue'> & { padId: number },
): ClassificationBatch {
  const labels = Int32Array.from(batch, (e) => e.label);
  if (batch.some((e) => e.windows)) {
    const rows = batch.flatMap((e) => e.windows ?? [e.inputIds]);
    const p = padSequences(rows, { ...options, padValue: options.padId });
    return { inputIds: p.data, attentionMask: p.attentionMask, labels, shape: p.shape, windowCounts: Int32Array.from(batch, (e) => e.windows?.length ?? 1) };
  }
  const p = padSequences(batch.map((e) => e.inputIds), { ...options, padValue: options.padId });
  return { inputIds: p.data, attentionMask: p.attentionMask, labels, shape: p.shape };
}

/** Batch for encoder–decoder training (teacher forcing). */
export interface Seq2SeqBatch {
  /** Int32Array [B, S] source ids. */
  inputIds: Int32Array;
  /** Int32Array [B, S]. */
  attentionMask: Int32Array;
  /** Int32Array [B, T]: [BOS] + target (shifted right). */
  decoderInputIds: Int32Array;
  /** Int32Array [B, T]. */
  decoderAttentionMask: Int32Array;
  /** Int32Array [B, T]: target + [EOS]; padded positions hold `ignoreIndex`. */
  labels: Int32Array;
  srcShape: [number, number];
  tgtShape: [number, number];
}

/**
 * Collates source/target pairs: the decoder reads `[BOS] y1 … yn` and predicts `y1 … yn [EOS]`.
 * `maxTgtLength` caps T (the target is cut so that BOS/EOS still fit).
 * @throws ValueError (see padSequences).
 */
export function collateSeq2Seq(
  batch: readonly EncodedPair[],
  options: { padId: number; bosId: number; eosId: number; ignoreIndex?: number; maxSrcLength?: number; maxTgtLength?: number },
): Seq2SeqBatch {
  const ignore = options.ignoreIndex ?? IGNORE_INDEX;
  const src = padSequences(batch.map((e) => e.srcIds), { padValue: options.padId, maxLength: options.maxSrcLength });
  const cut = options.maxTgtLength === undefined ? Infinity : options.maxTgtLength - 1;
  if (cut < 0) throw new ValueError(`collateSeq2Seq: maxTgtLength must be >= 1, got ${options.maxTgtLength}`);
  const dec = padSequences(batch.map((e) => [options.bosId, ...e.tgtIds.slice(0, cut)]), { padValue: options.padId });
  const lab = padSequences(batch.map((e) => [...e.tgtIds.slice(0, cut), options.eosId]), { padValue: ignore });
  return {
    inputIds: src.data,
    attentionMask: src.attentionMask,
    decoderInputIds: dec.data,
    decoderAttentionMask: dec.attentionMask,
    labels: lab.data,
    srcShape: src.shape,
    tgtShape: dec.shape,
  };
}

/** Batch for extractive QA. */
export interface QaBatch {
  /** Int32Array [B, L]. */
  inputIds: Int32Array;
  /** Int32Array [B, L]. */
  tokenTypeIds: Int32Array;
  /** Int32Array [B, L]. */
  attentionMask: Int32Array;
  /** Int32Array [B]. */
  startPositions: Int32Array;
  /** Int32Array [B]. */
  endPositions: Int32Array;
  shape: [number, number];
}

/** Pads SQuAD features (features are already cut to their maxLength by `encodeSquadExample`). */
export function collateQa(batch: readonly SquadFeature[], options: { padId: number; padding?: 'longest' | 'maxLength'; maxLength?: number }): QaBatch {
  const ids = padSequences(batch.map((f) => f.inputIds), { ...options, padValue: options.padId });
  const types = padSequences(batch.map((f) => f.tokenTypeIds), { ...options, padValue: 0 });
  return {
    inputIds: ids.data,
    tokenTypeIds: types.data,
    attentionMask: ids.attentionMask,
    startPositions: Int32Array.from(batch, (f) => f.startPosition),
    endPositions: Int32Array.from(batch, (f) => f.endPosition),
    shape: ids.shape,
  };
}

/** Position of a `DataLoader`: the epoch and the index of the next batch within it. */
export interface DataLoaderState {
  epoch: number;
  index: number;
}

/** Where a batch comes from: its (epoch, index) and the dataset indices of its examples (this rank's). */
export interface BatchPosition {
  epoch: number;
  index: number;
  indices: Int32Array;
}

export interface DataLoaderOptions {
  batchSize: number;
  /** Shuffle each epoch with a permutation determined by (seed, epoch). Default true. */
  shuffle?: boolean;
  /** Default 0. */
  seed?: number;
  /** Drop the last, smaller batch of an epoch. Default false. */
  dropLast?: boolean;
  /** Data parallelism: N ranks share each global batch of N × batchSize examples (default 1). */
  numReplicas?: number;
  /** This rank in [0, N): it takes positions rank, rank + N, … of each global batch (default 0). */
  rank?: number;
  /**
   * [dataset length] length of each example: with `shuffle`, batches group examples of similar
   * length (Hugging Face `group_by_length`; see `lengthGroupedPermutation`). Default: none.
   */
  lengths?: ArrayLike<number>;
}

/**
 * Batches over a dataset, epoch after epoch. The order of epoch e is `permutation(n, seed, e)`
 * (with `lengths`: `lengthGroupedPermutation(lengths, global batch size, seed, e)`), so the
 * loader's whole future is a function of (seed, epoch, index): `state()` after any batch and
 * `setState()` in a new process give the same following batches.
 */
export class DataLoader<T, Batch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  private epoch = 0;
  private index = 0;
  private order: Int32Array | null = null;
  private orderEpoch = -1;
  private numReplicas = 1;
  private rank = 0;
  private readonly lengths: ArrayLike<number> | null;

  /**
   * @param dataset the examples (held by reference, not copied).
   * @param collate turns the examples of one batch into a batch; it is also told where they come
   *   from (for augmentation drawn per example from (seed, epoch, dataset index)).
   * @throws ValueError for an empty dataset, batchSize < 1, or a dataset smaller than one batch with dropLast.
   */
  constructor(
    readonly dataset: readonly T[],
    readonly collate: (items: T[], at: BatchPosition) => Batch,
    options: DataLoaderOptions,
  ) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new ValueError(`DataLoader: batchSize must be a positive integer, got ${options.batchSize}`);
    }
    if (dataset.length === 0) throw new ValueError('DataLoader: the dataset is empty');
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    this.dropLast = options.dropLast ?? false;
    if (options.lengths && options.lengths.length !== dataset.length) {
      throw new ValueError(`DataLoader: lengths has ${options.lengths.length} entries for ${dataset.length} examples`);
    }
    this.lengths = options.lengths ?? null;
    this.setShard(options.numReplicas ?? 1, options.rank ?? 0);
  }

  /**
   * Data parallelism (as PyTorch's DistributedSampler, with batches): N ranks read the global batches
   * one process with batch N × batchSize reads, rank r taking positions r, r + N, … of each, so the
   * shards are disjoint and together are that process's batch. The position (epoch, index of the
   * global batch) means the same for any N with the same global batch size. Call before reading.
   * @throws ValueError for a bad rank, no full global batch with dropLast, or a last global batch
   *   with fewer examples than ranks (a rank would read an empty batch).
   */
  setShard(numReplicas: number, rank: number): void {
    if (!Number.isInteger(numReplicas) || numReplicas < 1 || !Number.isInteger(rank) || rank < 0 || rank >= numReplicas) {
      throw new ValueError(`DataLoader: rank must be an integer in [0, numReplicas) and numReplicas >= 1, got rank ${rank} of ${numReplicas}`);
    }
    const rest = this.dataset.length % (numReplicas * this.batchSize);
    if (!this.dropLast && rest > 0 && rest < numReplicas) {
      // Rank r ≥ rest would get an empty last batch (no example to count, nothing to collate).
      throw new ValueError(`DataLoader: ${this.dataset.length} examples leave ${rest} for the last global batch of ${numReplicas} ranks × ${this.batchSize}, so rank ${rest} would get none; change the batch size or the number of ranks`);
    }
    this.numReplicas = numReplicas;
    this.rank = rank;
    this.orderEpoch = -1; // a length-grouped order depends on the global batch size
    if (this.batchesPerEpoch === 0) {
      throw new ValueError(`DataLoader: ${this.dataset.length} examples make no full batch of ${this.globalBatchSize}${numReplicas > 1 ? ` (${numReplicas} ranks × ${this.batchSize})` : ''} with dropLast`);
    }
  }

  /** Examples of one batch over all ranks: numReplicas × batchSize. */
  get globalBatchSize(): number {
    return this.numReplicas * this.batchSize;
  }

  /** (Global) batches in one epoch. */
  get batchesPerEpoch(): number {
    const n = this.dataset.length / this.globalBatchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** Dataset indices of this rank's batch at (epoch, index), without moving the loader. */
  indicesAt(epoch: number, index: number): Int32Array {
    if (this.orderEpoch !== epoch) {
      this.order = !this.shuffle ? null
        : this.lengths ? lengthGroupedPermutation(this.lengths, this.globalBatchSize, this.seed, epoch)
          : permutation(this.dataset.length, this.seed, epoch);
      this.orderEpoch = epoch;
    }
    const N = this.numReplicas;
    const start = index * this.globalBatchSize;
    const end = Math.min(start + this.globalBatchSize, this.dataset.length);
    const out = new Int32Array(Math.max(0, Math.ceil((end - start - this.rank) / N)));
    for (let i = 0; i < out.length; i++) {
      const j = start + this.rank + i * N;
      out[i] = this.order ? this.order[j] : j;
    }
    return out;
  }

  /** The next batch (moving into the next epoch after the last one). */
  next(): { batch: Batch; epoch: number; index: number } {
    const { epoch, index } = this;
    const idx = this.indicesAt(epoch, index);
    this.index++;
    if (this.index >= this.batchesPerEpoch) {
      this.epoch++;
      this.index = 0;
    }
    return { batch: this.collate(Array.from(idx, (i) => this.dataset[i]), { epoch, index, indices: idx }), epoch, index };
  }

  /** The remaining batches of the current epoch. */
  *epochBatches(): Generator<Batch> {
    const e = this.epoch;
    while (this.epoch === e) yield this.next().batch;
  }

  state(): DataLoaderState {
    return { epoch: this.epoch, index: this.index };
  }

  /** @throws ValueError when the position is not inside an epoch of this loader. */
  setState(state: DataLoaderState): void {
    const { epoch, index } = state ?? ({} as DataLoaderState);
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(index) || index < 0 || index >= this.batchesPerEpoch) {
      throw new ValueError(`DataLoader.setState: expected {epoch >= 0, 0 <= index < ${this.batchesPerEpoch}}, got ${JSON.stringify(state)}`);
    }
    this.epoch = epoch;
    this.index = index;
  }
}

/**
 * Evaluation batches in file order (no shuffling), the last one possibly smaller.
 * @throws ValueError when batchSize < 1.
 */
export function* sequentialBatches<T, Batch>(dataset: readonly T[], batchSize: number, collate: (items: T[]) => Batch): Generator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ValueError(`sequentialBatches: batchSize must be a positive integer, got ${batchSize}`);
  for (let i = 0; i < dataset.length; i += batchSize) yield collate(dataset.slice(i, i + batchSize));
}
