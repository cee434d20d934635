/**
 * The mixed-precision hook of the tensor layer. Which op runs in which dtype is decided in one place,
 * `src/amp/autocast.ts` (DESIGN.md "Mixed precision"); the amp layer sits above this one, so it
 * installs its decision here (`setLowpPolicy`) and the ops that can run on 16-bit operands (matrix
 * products, attention) ask `lowpFor(op)` before choosing their kernel.
 *
 * No 16-bit copy of a parameter outlives the product that uses it: the kernels round float32
 * operands to 16 bits while they pack them (the native oneDNN path into one reused per-thread buffer),
 * which costs one pass over the weight per product but no second, 16-bit set of weights beside the
 * float32 masters. Activations a backward pass needs are kept in 16 bits by the ops themselves
 * (`linear`, `scaledDotProductAttention`).
 */
import type { LowpDtype } from '../backend/backend.js';

export type { LowpDtype } from '../backend/backend.js';

/** Answers, for an op name ('matmul', 'attention'), the 16-bit dtype it runs in, or null for float32. */
export type LowpPolicy = (op: string) => LowpDtype | null;

let policy: LowpPolicy | null = null;

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
