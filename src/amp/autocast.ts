/**
 * Autocast: the one place that decides which op runs in which dtype under mixed precision
 * (DESIGN.md "Mixed precision"), modelled on PyTorch's CPU autocast (torch.autocast('cpu')).
 *
 * Inside `autocast({ dtype }, fn)`:
 * - matrix products (`matmul` and `addmmInPlace`, hence `linear` and the fused LM head
 *   `fusedLinearCrossEntropy`) and attention (`scaledDotProductAttention`) take 16-bit operands (round to nearest even) and sum in
 *   float32; their outputs are float32; their backward products run in the same dtype;
 * - everything else — softmax, log-softmax, norms, losses, reductions, elementwise ops — stays float32,
 *   and so do master weights, gradients and optimizer state (the optimizer runs outside autocast);
 * - no 16-bit copy of a parameter is cached: kernels round the float32 master weights as they pack
 *   them, so mixed precision holds no second set of weights (PyTorch caches its casts for the
 *   region and clears them on exit; here there is nothing to clear); backward keeps 16-bit copies of
 *   the activations it needs (linear inputs, attention q, k, v), not float32 ones.
 * float16 operands overflow beyond ±65504: pair fp16 with a GradScaler (src/optim/grad-scaler.ts).
 * Regions nest; `{ enabled: false }` turns autocast off inside one. Backward may run inside or outside
 * (its products use the forward's dtype); parameters must not change between a forward and its backward.
 */
import { ValueError } from '../errors.js';
import { setLowpPolicy, type LowpDtype, type LowpPolicy } from '../tensor/precision.js';

export type AutocastDtype = LowpDtype;

export interface AutocastOptions {
  /** 16-bit operand dtype: 'bfloat16' (default) or 'float16'. */
  dtype?: AutocastDtype;
  /** false runs `fn` without autocast (default true). */
  enabled?: boolean;
}

/** The ops that run on 16-bit operands under autocast (PyTorch's CPU "lower precision" list, as far as trainformer has the ops). */
export const LOWP_OPS: ReadonlySet<string> = new Set(['matmul', 'attention']);

let active: AutocastDtype | null = null;

function policyFor(dtype: AutocastDtype): LowpPolicy {
  return (op) => (LOWP_OPS.has(op) ? dtype : null);
}

/** The autocast dtype in effect, or null outside autocast. */
export function autocastDtype(): AutocastDtype | null {
  return active;
}

/**
 * Runs `fn` with the autocast policy (see the module comment) and returns its result.
 * @throws ValueError for a dtype other than 'bfloat16' / 'float16'.
 */
export function autocast<R>(opts: AutocastOptions, fn: () => R): R {
  const enabled = opts.enabled ?? true;
  const dtype = opts.dtype ?? 'bfloat16';
  if (dtype !== 'bfloat16' && dtype !== 'float16') {
    throw new ValueError(`autocast: dtype must be 'bfloat16' or 'float16', got '${String(dtype)}'`);
  }
  const prevActive = active;
  const prevPolicy = setLowpPolicy(enabled ? policyFor(dtype) : null);
  active = enabled ? dtype : null;
  try {
    const r = fn();
    if (r instanceof Promise) throw new ValueError('autocast: fn must be synchronous (it returned a Promise)');
    return r;
  } finally {
    active = prevActive;
    setLowpPolicy(prevPolicy);
  }
}
