/**
 * The mixed-precision hook of the tensor layer. Which op runs in which dtype is decided in one place,
 * `src/amp/autocast.ts` (DESIGN.md "Mixed precision"); the amp layer sits above this one, so it
 * installs its decision here (`setLowpPolicy`) and the ops that can run on 16-bit operands (matrix
 * products, attention) ask `lowpFor(op)` before choosing their kernel.
 *
 * Parameters (leaf tensors that require grad) are cast once per autocast region and the 16-bit copy
 * reused by every product in it and by the backward pass that follows (PyTorch's autocast
 * weight-cast cache); amp marks the copies stale when the next region starts. Activations are rounded by the kernels while they pack their operands.
 */
import type { LowpArray, LowpDtype } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import type { Storage } from './storage.js';
import type { Tensor } from './tensor.js';

export type { LowpDtype } from '../backend/backend.js';

/** Answers, for an op name ('matmul', 'attention'), the 16-bit dtype it runs in, or null for float32. */
export type LowpPolicy = (op: string) => LowpDtype | null;

let policy: LowpPolicy | null = null;
// Per kept storage: its 16-bit copy and the region (generation) it was cast in. The arrays are reused
// across regions (fresh pages cost ~15 µs each here), recast when their generation is stale.
const castCache = new WeakMap<Storage, { dtype: LowpDtype; bits: Uint16Array; gen: number }>();
let generation = 0;

/** Installs (or with null removes) the policy; returns the previous one. Used by src/amp/autocast.ts. */
export function setLowpPolicy(p: LowpPolicy | null): LowpPolicy | null {
  const prev = policy;
  policy = p;
  return prev;
}

/** The active policy (null: float32 everywhere); activation checkpointing replays a block under it. */
export function currentLowpPolicy(): LowpPolicy | null {
  return policy;
}

/** The 16-bit dtype `op` runs in under the active policy, or null (float32). */
export function lowpFor(op: string): LowpDtype | null {
  return policy ? policy(op) : null;
}

/** Marks every cached parameter cast stale (start of an outermost autocast region). */
export function clearLowpCastCache(): void {
  generation++;
}

/**
 * The operand array for a 16-bit product. `data` is the float32 array (a subarray of `t`'s storage)
 * the product would have used. For a kept storage (parameters: never written inside a forward pass)
 * the whole storage is cast once per autocast region and the same window of the 16-bit copy is
 * returned (a `Uint16Array`); anything else is returned as it is and rounded by the kernel.
 */
export function lowpOperand(t: Tensor, data: Float32Array, dtype: LowpDtype): LowpArray {
  const st = t.storage;
  if (!st.kept || st.dtype !== 'float32') return data;
  const src = st.data as Float32Array;
  const start = (data.byteOffset - src.byteOffset) / 4;
  if (data.buffer !== src.buffer || start < 0 || start + data.length > src.length) return data;
  let hit = castCache.get(st);
  if (!hit || hit.bits.length !== src.length) {
    hit = { dtype, bits: new Uint16Array(src.length), gen: -1 };
    castCache.set(st, hit);
  }
  if (hit.gen !== generation || hit.dtype !== dtype) {
    getBackend().castToLowp(dtype, src, hit.bits, src.length);
    hit.dtype = dtype;
    hit.gen = generation;
  }
  return start === 0 && data.length === src.length ? hit.bits : hit.bits.subarray(start, start + data.length);
}
