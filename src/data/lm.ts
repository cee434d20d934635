import { ValueError } from '../errors.js';
import { DataRng } from './rng.js';
import { warmupProblem, warmupShape, type BlockSizeWarmup } from './lm-warmup.js';

/** A batch of language-model blocks. */
export interface LmBatch {
  /** Int32Array [B, T+1], row-major: each row is T+1 consecutive tokens of the stream. */
  tokens: Int32Array;
  /** Int32Array [B, T]: tokens[:, :-1] (model input). */
  inputIds: Int32Array;
  /** Int32Array [B, T]: tokens[:, 1:] (next-token targets). */
  labels: Int32Array;
  batchSize: number;
  blockSize: number;
  /** Start offset of each row in the stream: [B]. */
  starts: Int32Array;
}

/** Saved position of an `LmBlockSampler`: the RNG state and the number of batches drawn. */
export interface LmSamplerState {
  rng: [number, number, number, number];
  batches: number;
}

export interface LmSamplerOptions {
  /** T, the context length. */
  blockSize: number;
  /** B, rows per batch (per rank when numReplicas > 1). */
  batchSize: number;
  seed: number;
  /** N ranks sharing each global batch of N·B rows (default 1). */
  numReplicas?: number;
  /** This rank in [0, N): it takes rows rank, rank + N, … of each global batch (default 0). */
  rank?: number;
  /** Sequence-length warmup: the first batches are shorter blocks, more rows, same tokens (lm-warmup.ts). */
  warmup?: BlockSizeWarmup;
}

/**
 * Samples training batches of random blocks from a token stream, nanoGPT style: each row starts at
 * an offset drawn uniformly from [0, N − T − 1] by a seeded RNG, so the sequence of batches is a
 * function of the seed alone; `state()`/`setState()` resume it exactly.
 *
 * Data parallel: with `numReplicas` N every rank draws the same N·B starts (one process's batch of
 * N·B) and keeps rows rank, rank + N, …, so the ranks read disjoint rows that together are exactly
 * one process's batch, and the state does not depend on N.
 *
 * With `warmup`, batch k has the block and batch sizes of `warmupShape(k, …)` (the same number of
 * tokens as a full batch); the state still is the RNG and the batch count, so resume stays exact.
 */
export class LmBlockSampler {
  readonly tokens: Int32Array;
  readonly blockSize: number;
  readonly batchSize: number;
  readonly numReplicas: number;
  readonly rank: number;
  readonly warmup?: BlockSizeWarmup;
  private rng: DataRng;
  private drawn = 0;

  /**
   * @param tokens Int32Array [N], the training stream.
   * @throws ValueError when B or T is not a positive integer, N < T + 1, or the warmup does not fit T.
   */
  constructor(tokens: Int32Array, options: LmSamplerOptions) {
    const { blockSize, batchSize, seed } = options;
    const numReplicas = options.numReplicas ?? 1, rank = options.rank ?? 0;
    checkPositive('blockSize', blockSize);
    checkPositive('batchSize', batchSize);
    checkPositive('numReplicas', numReplicas);
    if (!Number.isInteger(rank) || rank < 0 || rank >= numReplicas) throw new ValueError(`LmBlockSampler: rank must be an integer in [0, ${numReplicas - 1}], got ${rank}`);
    if (tokens.length < blockSize + 1) {
      throw new ValueError(`LmBlockSampler: the token stream has ${tokens.length} tokens; blockSize ${blockSize} needs at least ${blockSize + 1}`);
    }
    if (options.warmup) {
      const problem = warmupProblem(blockSize, options.warmup);
      if (problem) throw new ValueError(`LmBlockSampler: warmup.start ${problem}`);
      checkPositive('warmup.batches', options.warmup.batches);
    }
    this.tokens = tokens;
    this.blockSize = blockSize;
    this.batchSize = batchSize;
    this.numReplicas = numReplicas;
    this.rank = rank;
    this.warmup = options.warmup;
    this.rng = new DataRng(seed, 0x4c4d); // 0x4c4d ("LM") keeps this stream apart from others
  }

  /** Draws the next batch. */
  next(): LmBatch {
    const { batchSize: B, blockSize: T } = warmupShape(this.drawn, this.blockSize, this.batchSize, this.warmup);
    const span = this.tokens.length - T; // number of valid starts: 0..N-T-1
    const N = this.numReplicas;
    const starts = new Int32Array(B);
    for (let b = 0; b < B * N; b++) {
      const s = this.rng.randint(span);
      if (b % N === this.rank) starts[(b - this.rank) / N] = s;
    }
    this.drawn++;
    return blocksAt(this.tokens, starts, T);
  }

  /** Number of batches drawn so far. */
  get batches(): number {
    return this.drawn;
  }

  state(): LmSamplerState {
    return { rng: this.rng.state(), batches: this.drawn };
  }

  /** @throws ValueError on a malformed state. */
  setState(state: LmSamplerState): void {
    if (!Number.isInteger(state?.batches) || state.batches < 0) {
      throw new ValueError(`LmBlockSampler.setState: batches must be a non-negative integer, got ${state?.batches}`);
    }
    this.rng.setState(state.rng);
    this.drawn = state.batches;
  }
}

/**
 * Cuts blocks of T+1 tokens at the given starts.
 * @param starts [B] offsets with 0 <= start <= N − T − 1.
 * @throws ValueError for a start out of range.
 */
export function blocksAt(tokens: Int32Array, starts: Int32Array, blockSize: number): LmBatch {
  const B = starts.length;
  const T = blockSize;
  const out = new Int32Array(B * (T + 1));
  const inputIds = new Int32Array(B * T);
  const labels = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const s = starts[b];
    if (s < 0 || s + T + 1 > tokens.length) {
      throw new ValueError(`blocksAt: starts[${b}] = ${s} is outside [0, ${tokens.length - T - 1}] for blockSize ${T} and ${tokens.length} tokens`);
    }
    out.set(tokens.subarray(s, s + T + 1), b * (T + 1));
    inputIds.set(tokens.subarray(s, s + T), b * T);
    labels.set(tokens.subarray(s + 1, s + T + 1), b * T);
  }
  return { tokens: out, inputIds, labels, batchSize: B, blockSize: T, starts: Int32Array.from(starts) };
}

/**
 * Evaluation batches that cover a stream in order with non-overlapping blocks (starts 0, T, 2T, …;
 * the tail shorter than T+1 tokens is left out), so every evaluation sees the same tokens. The
 * last batch may have fewer than B rows.
 * @param maxBatches stop after this many batches (default: all).
 * @throws ValueError when the stream is shorter than T + 1.
 */
export function* lmEvalBatches(
  tokens: Int32Array,
  options: { blockSize: number; batchSize: number; maxBatches?: number },
): Generator<LmBatch> {
  const { blockSize: T, batchSize: B } = options;
  checkPositive('blockSize', T);
  checkPositive('batchSize', B);
  const nBlocks = Math.floor((tokens.length - 1) / T);
  if (nBlocks < 1) throw new ValueError(`lmEvalBatches: the token stream has ${tokens.length} tokens; blockSize ${T} needs at least ${T + 1}`);
  const maxBatches = options.maxBatches ?? Infinity;
  for (let first = 0, k = 0; first < nBlocks && k < maxBatches; first += B, k++) {
    const rows = Math.min(B, nBlocks - first);
    const starts = new Int32Array(rows);
    for (let b = 0; b < rows; b++) starts[b] = (first + b) * T;
    yield blocksAt(tokens, starts, T);
  }
}

/** Number of batches `lmEvalBatches` yields (without maxBatches). */
export function lmEvalBatchCount(numTokens: number, blockSize: number, batchSize: number): number {
  return Math.ceil(Math.max(0, Math.floor((numTokens - 1) / blockSize)) / batchSize);
}

function checkPositive(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new ValueError(`${name} must be a positive integer, got ${v}`);
}
