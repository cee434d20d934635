/**
 * High-water mark of the bytes held by live tensors (`T.memoryStats().liveBytes`), for benchmarks.
 *
 * Scopes release buffers only when they end, so inside one step the live bytes only grow, except
 * where an op frees its own temporaries (the fused linear cross-entropy releases each chunk's
 * logits). Loss ops call {@link notePeak} right after their largest allocations; a benchmark calls
 * it once more after backward and reads {@link peakLiveBytes}. One comparison per call: cheap.
 */
import { memoryStats } from '../tensor/index.js';

let peak = 0;

/** Records the current live bytes if they exceed the mark. */
export function notePeak(): void {
  const b = memoryStats().liveBytes;
  if (b > peak) peak = b;
}

/** The highest live bytes recorded since the last reset. */
export function peakLiveBytes(): number {
  return peak;
}

/** Restarts the mark at the current live bytes. */
export function resetPeak(): void {
  peak = memoryStats().liveBytes;
}
