// Golden kind `layer_norm`: the fused layerNorm op over the trailing `normalized_shape` dims.
import { ValueError } from '../../errors.js';
import * as T from '../../tensor/index.js';
import { runAutogradCase } from '../autograd-case.js';
import { registerKind } from '../registry.js';

registerKind('layer_norm', (c) => runAutogradCase(c, (inp) => {
  const x = inp.x as T.Tensor;
  const w = (inp.weight as T.Tensor | undefined) ?? null, b = (inp.bias as T.Tensor | undefined) ?? null;
  const eps = (c.options.eps as number | undefined) ?? 1e-5;
  const ns = (c.options.normalized_shape as number[] | undefined) ?? [x.shape[x.ndim - 1]];
  const k = ns.length;
  if (k > x.ndim || ns.some((s, i) => s !== x.shape[x.ndim - k + i])) {
    throw new ValueError(`layer_norm: normalized_shape [${ns.join(', ')}] does not end the input shape [${x.shape.join(', ')}]`);
  }
  // Several normalised dims are one flattened dim for the row kernel.
  const D = ns.reduce((a, s) => a * s, 1);
  const lead = x.shape.slice(0, x.ndim - k);
  const y = T.layerNorm(T.reshape(x, [...lead, D]), w && T.reshape(w, [D]), b && T.reshape(b, [D]), eps);
  return { y: T.reshape(y, x.shape) };
}));
