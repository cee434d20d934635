/**
 * Which examples each rank reads (PyTorch `DistributedSampler`, with batches). An epoch's order is
 * `permutation(n, seed, epoch)` (the order one process uses); it is cut into global batches of
 * `numReplicas × batchSize` examples, and rank r takes positions r, r + N, r + 2N, … of each global
 * batch. So the ranks' shards are disjoint, together they are exactly the global batch one process
 * with batch N·b would read, and the order is reshuffled per epoch from the seed alone.
 *
 * Unlike PyTorch's sampler no example is repeated to even out the last batch: the last global batch
 * of an epoch may be smaller (without dropLast), and a rank may get fewer examples from it, or
 * none (when it has fewer than N examples) — which keeps N ranks exactly equal to one process.
 *
 * The position (epoch, global batch index) is the same on every rank and converts between global
 * batch sizes (`positionFor`), so a run resumes mid-epoch with any number of ranks.
 */
import { ValueError } from '../errors.js';
import { permutation } from './rng.js';

export interface DistributedSamplerOptions {
  /** N, the number of ranks (default 1). */
  numReplicas?: number;
  /** This rank, in [0, N) (default 0). */
  rank?: number;
  /** b, examples per rank per batch. */
  batchSize: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  seed?: number;
  /** Drop the last global batch when it is smaller than N·b (default false). */
  dropLast?: boolean;
}

export class DistributedSampler {
  readonly numReplicas: number;
  readonly rank: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  private order: Int32Array | null = null;
  private orderEpoch = -1;

  /**
   * @param size number of examples in the dataset.
   * @throws ValueError for a bad option, an empty dataset, or no full batch with dropLast.
   */
  constructor(readonly size: number, options: DistributedSamplerOptions) {
    const N = options.numReplicas ?? 1;
    const r = options.rank ?? 0;
    if (!Number.isInteger(N) || N < 1) throw new ValueError(`DistributedSampler: numReplicas must be a positive integer, got ${N}`);
    if (!Number.isInteger(r) || r < 0 || r >= N) throw new ValueError(`DistributedSampler: rank must be an integer in [0, ${N - 1}], got ${r}`);
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new ValueError(`DistributedSampler: batchSize must be a positive integer, got ${options.batchSize}`);
    }
    if (!Number.isInteger(size) || size < 1) throw new ValueError(`DistributedSampler: the dataset is empty (${size} examples)`);
    this.numReplicas = N;
    this.rank = r;
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    this.dropLast = options.dropLast ?? false;
    if (this.batchesPerEpoch === 0) {
      throw new ValueError(`DistributedSampler: ${size} examples make no full global batch of ${this.globalBatchSize} (${N} ranks × ${this.batchSize}) with dropLast`);
    }
  }

  /** N·b: the batch one optimizer micro-step reads across all ranks. */
  get globalBatchSize(): number {
    return this.numReplicas * this.batchSize;
  }

  /** Global batches in one epoch. */
  get batchesPerEpoch(): number {
    const n = this.size / this.globalBatchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** Dataset indices of global batch `index` of `epoch` (all ranks' examples, in order). */
  globalIndicesAt(epoch: number, index: number): Int32Array {
    if (this.orderEpoch !== epoch) {
      this.order = this.shuffle ? permutation(this.size, this.seed, epoch) : null;
      this.orderEpoch = epoch;
    }
    const start = index * this.globalBatchSize;
    const end = Math.min(start + this.globalBatchSize, this.size);
    const out = new Int32Array(Math.max(0, end - start));
    for (let i = 0; i < out.length; i++) out[i] = this.order ? this.order[start + i] : start + i;
    return out;
  }

  /** This rank's indices of global batch `index` of `epoch`: positions rank, rank + N, … (maybe none). */
  indicesAt(epoch: number, index: number): Int32Array {
    const g = this.globalIndicesAt(epoch, index);
    const N = this.numReplicas;
    const out = new Int32Array(Math.max(0, Math.ceil((g.length - this.rank) / N)));
    for (let i = 0; i < out.length; i++) out[i] = g[this.rank + i * N];
    return out;
  }

  /**
   * The batch index in this sampler's global batches that continues a position saved with global
   * batch size `savedGlobalBatch` (same epoch: the examples already read are index × size).
   * @throws ValueError when the examples read so far are not a whole number of this sampler's batches.
   */
  positionFor(index: number, savedGlobalBatch: number): number {
    if (savedGlobalBatch === this.globalBatchSize) return index;
    const read = index * savedGlobalBatch;
    if (read % this.globalBatchSize !== 0) {
      throw new ValueError(`DistributedSampler: the saved position (${read} examples into the epoch, global batch ${savedGlobalBatch}) is not a whole number of global batches of ${this.globalBatchSize} (${this.numReplicas} ranks × ${this.batchSize}); resume with ranks × batch size = ${savedGlobalBatch}`);
    }
    return read / this.globalBatchSize;
  }
}
