/** Activation functions by name, with Hugging Face's `activation_function` spellings. */
import { ConfigError } from '../errors.js';
import * as T from '../tensor/index.js';

/**
 * Activation names. 'gelu' = exact erf GELU; 'gelu_new' / 'gelu_pytorch_tanh' / 'gelu_tanh' = tanh
 * approximation (GPT-2); 'relu'; 'silu' / 'swish'; 'swiglu' and 'geglu' are gated (Shazeer 2020):
 * the feed-forward computes act(gate(x)) · up(x).
 */
export type Activation = 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'gelu_tanh' | 'relu' | 'silu' | 'swish' | 'swiglu' | 'geglu';

export const ACTIVATIONS: readonly Activation[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'gelu_tanh', 'relu', 'silu', 'swish', 'swiglu', 'geglu'];

/** @throws ConfigError naming `field` when `name` is not a known activation. */
export function checkActivation(name: unknown, field = 'activation'): Activation {
  if (typeof name !== 'string' || !(ACTIVATIONS as readonly string[]).includes(name)) {
    throw new ConfigError(`${field} must be one of ${ACTIVATIONS.join(', ')}; got ${JSON.stringify(name)}`);
  }
  return name as Activation;
}

/** True for the gated variants (two input projections). */
export function isGated(a: Activation): boolean {
  return a === 'swiglu' || a === 'geglu';
}

/** Applies the (pointwise part of the) activation; for gated ones, the gate's nonlinearity. */
export function applyActivation(x: T.Tensor, a: Activation): T.Tensor {
  switch (a) {
    case 'gelu': case 'geglu': return T.gelu(x, 'none');
    case 'gelu_new': case 'gelu_pytorch_tanh': case 'gelu_tanh': return T.gelu(x, 'tanh');
    case 'relu': return T.relu(x);
    case 'silu': case 'swish': case 'swiglu': return T.silu(x);
  }
}
