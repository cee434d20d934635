// Activation checkpointing (Chen et al. 2016, "Training Deep Nets with Sublinear Memory Cost";
// PyTorch's torch.utils.checkpoint, reentrant form): a segment's forward runs without recording, so
// only its inputs and output stay allocated; backward re-runs the segment with recording on and
// back-propagates through the recomputed graph.
import { ValueError } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import { backward, isGradEnabled, noGrad, record, withGrad } from '../autograd.js';
import { currentLowpPolicy, setLowpPolicy } from '../precision.js';
import type { Generator } from '../random.js';
import { scope } from '../storage.js';
import { empty, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';

registerOp('checkpoint', ['checkpoint']);

/** Options of {@link checkpoint}. */
export interface CheckpointOptions {
  /**
   * Leaf tensors `fn` reads without taking them as arguments (a block's parameters). They receive
   * their gradients (into `.grad`) when the segment is re-run in backward. Default none.
   */
  params?: readonly Tensor[];
  /**
   * Generators `fn` draws from (dropout): their states are saved before the forward and restored for
   * the recomputation, so every dropout mask is drawn again exactly; after it, each generator is
   * put back where it was. Default none.
   */
  generators?: readonly Generator[];
}

/**
 * y = fn(...inputs), keeping only `inputs` and `y` for backward instead of every intermediate
 * value: fn runs under no-grad inside its own allocation scope (its intermediates go back to the
 * pool at once); in backward it runs again from the same inputs, generator states and autocast
 * policy, with recording on, and the incoming gradient is back-propagated through that graph.
 * Gradients equal those of `fn` called directly, bit for bit, when fn is deterministic given its
 * inputs and generators. With recording off (noGrad, evaluation) this is just `fn(...inputs)`.
 *
 * Non-leaf tensors that need a gradient must be passed in `inputs` (a tensor fn captures that is
 * not a leaf would get none); leaves fn reads go in `opts.params`. fn must return one tensor built
 * from its arguments; shapes and dtypes are fn's.
 * @throws ValueError when fn does not return a Tensor.
 */
export function checkpoint(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], opts: CheckpointOptions = {}): Tensor {
  if (!isGradEnabled()) return fn(...inputs);
  const params = opts.params ?? [];
  const generators = opts.generators ?? [];
  const saved = generators.map((g) => g.getState());
  const policy = currentLowpPolicy();
  const out = scope(() => noGrad(() => fn(...inputs)));
  if (!(out instanceof Tensor)) throw new ValueError('checkpoint: fn must return a Tensor');
  return record('checkpoint', out, [...inputs, ...params], (g) => {
    const after = generators.map((gen) => gen.getState());
    generators.forEach((gen, i) => gen.setState(saved[i]));
    const prevPolicy = setLowpPolicy(policy);
    try {
      return scope(() => {
        const detached = inputs.map((x) => {
          const d = x.detach();
          d.requiresGrad = x.requiresGrad;
          return d;
        });
        const y = withGrad(true, () => fn(...detached));
        // Parameters accumulate into their .grad here; the inputs' gradients are collected below.
        if (y.requiresGrad) backward(y, g);
        const grads: (Tensor | null)[] = detached.map((d) => {
          if (!d.grad) return null;
          const copy = copyOf(d.grad);
          d.grad.storage.free();
          return copy;
        });
        for (let i = 0; i < params.length; i++) grads.push(null); // already in .grad
        return grads;
      });
    } finally {
      setLowpPolicy(prevPolicy);
      generators.forEach((gen, i) => gen.setState(after[i]));
    }
  });
}

/** A fresh contiguous copy of t in the current scope. */
function copyOf(t: Tensor): Tensor {
  const out = empty(t.shape, t.dtype);
  getBackend().copyStrided(t.storage.data, t.offset, t.shape, t.strides, out.storage.data);
  return out;
}
