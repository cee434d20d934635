/**
 * Batch arrays → tensors. `T.tensor(typedArray)` wraps the caller's array (never pooled, so each
 * wrapped batch stays "live" until the garbage collector finds it); a training step copies its
 * batch into pooled storage instead, which the step's scope returns to the pool when it ends, so
 * live buffers stay flat from step to step.
 */
import { ConfigError } from '../errors.js';
import * as T from '../tensor/index.js';

/** An int32 tensor of `shape` in pooled storage holding a copy of `data` (length = product of shape). */
export function intTensor(data: Int32Array, shape: readonly number[]): T.Tensor {
  const t = T.empty(shape, 'int32');
  (t.data() as Int32Array).set(data);
  return t;
}

/** Labels that carry loss: those that are not `ignoreIndex` (default -100, PyTorch's). */
export function countCounted(labels: ArrayLike<number>, ignoreIndex = -100): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== ignoreIndex) n++;
  return n;
}

/**
 * Builds a model, naming config errors as fields of the config's `model` block: the models report
 * `activation must be one of …`; the user wrote `model.activation`.
 */
export function buildModel<M>(build: () => M): M {
  try {
    return build();
  } catch (e) {
    if (e instanceof ConfigError && !e.message.startsWith('model.')) throw new ConfigError(`model.${e.message}`);
    throw e;
  }
}

/** `values` summed over every rank by `reduceSum` (data-parallel evaluation). */
export function reduced(reduceSum: (sums: Float64Array) => void, values: number[]): number[] {
  const a = Float64Array.from(values);
  reduceSum(a);
  return Array.from(a);
}
