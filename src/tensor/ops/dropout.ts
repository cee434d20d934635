// Dropout (Srivastava et al. 2014), inverted: kept values scaled by 1/(1-p) in training.
import { ValueError } from '../../errors.js';
import { record } from '../autograd.js';
import { defaultGenerator, type Generator } from '../random.js';
import { empty, Tensor } from '../tensor.js';
import { registerOp } from './registry.js';
import { contiguous } from './views.js';

registerOp('dropout', ['dropout']);

/**
 * Zeroes each element with probability `p` and scales the rest by 1/(1-p) when `training`; the
 * identity in eval or with p = 0; all zeros (and zero gradient) with p = 1.
 * @throws ValueError when p is outside [0, 1].
 */
export function dropout(x: Tensor, p: number, training: boolean, generator: Generator = defaultGenerator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ValueError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const scale = p === 1 ? 0 : 1 / (1 - p);
  const mask = new Float32Array(x.numel());
  for (let i = 0; i < mask.length; i++) mask[i] = generator.random() < p ? 0 : scale;
  const xd = contiguous(x).data();
  const out = empty(x.shape, x.dtype);
  const od = out.storage.data;
  for (let i = 0; i < od.length; i++) od[i] = mask[i] === 0 ? 0 : xd[i] * mask[i];
  return record('dropout', out, [x], (g) => {
    const gd = contiguous(g).data();
    const dx = empty(x.shape, g.dtype);
    const dd = dx.storage.data;
    for (let i = 0; i < dd.length; i++) dd[i] = mask[i] === 0 ? 0 : gd[i] * mask[i];
    return [dx];
  });
}
