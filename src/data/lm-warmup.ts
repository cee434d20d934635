/**
 * Sequence-length warmup for language-model training (`data.blockSizeWarmup`): the first training
 * batches use shorter blocks and proportionally more rows, so every batch holds the same number of
 * tokens. It is the "seqlen" curriculum of DeepSpeed (Li, Zhang & He, "The Stability-Efficiency
 * Dilemma", 2022) with doubling stages: a model that starts at a long context learns local
 * attention slowly (each key gets ~1/T of an untrained head's attention), so it starts short.
 */

/** A validated `data.blockSizeWarmup` block. */
export interface BlockSizeWarmup {
  /** Block size of the first stage; data.blockSize / start must be a power of two >= 2. */
  start: number;
  /** Training batches (optimizer steps × gradientAccumulationSteps) before data.blockSize is reached. */
  batches: number;
}

/**
 * The block size and batch size of training batch `k` (0-based) under a warmup. The warmup has
 * L = log2(blockSize / start) stages of equal length, at start, 2·start, …, blockSize / 2; batch k <
 * `batches` is in stage s = floor(k·L / batches), with block size start·2^s and batch size
 * batchSize·blockSize / (start·2^s); from batch `batches` on, blockSize × batchSize.
 * Without a warmup every batch is blockSize × batchSize.
 * @param k batch index, an integer >= 0.
 */
export function warmupShape(k: number, blockSize: number, batchSize: number, warmup?: BlockSizeWarmup): { blockSize: number; batchSize: number } {
  if (!warmup || k >= warmup.batches) return { blockSize, batchSize };
  const stages = Math.round(Math.log2(blockSize / warmup.start));
  const stage = Math.floor((k * stages) / warmup.batches);
  const T = warmup.start * 2 ** stage;
  return { blockSize: T, batchSize: (batchSize * blockSize) / T };
}

/**
 * Why a warmup does not fit a block size, or null when it does.
 * @returns a message for the `start` field: start must divide blockSize by a power of two >= 2.
 */
export function warmupProblem(blockSize: number, warmup: BlockSizeWarmup): string | null {
  const ratio = blockSize / warmup.start;
  if (!Number.isInteger(ratio) || ratio < 2 || (ratio & (ratio - 1)) !== 0) {
    return `must be data.blockSize (${blockSize}) divided by a power of two >= 2 (2, 4, 8, …), got ${warmup.start}`;
  }
  return null;
}
