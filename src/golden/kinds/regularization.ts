// Golden kind `regularization`: l1 / l2 penalties over a list of parameters (losses/penalty.ts).
import { ValueError } from '../../errors.js';
import { registerKind } from '../registry.js';
import { runAutogradCase } from '../autograd-case.js';
import { l1Penalty, l2Penalty } from '../../losses/index.js';
import type { Tensor } from '../../tensor/tensor.js';

registerKind('regularization', (c) => runAutogradCase(c, (inp) => {
  const params = (inp.params as Tensor[] | undefined) ?? [];
  const lambda = c.options.lambda as number;
  const type = c.options.type;
  if (type !== 'l1' && type !== 'l2') throw new ValueError(`regularization: option 'type' must be 'l1' or 'l2', got ${JSON.stringify(type)}`);
  return { value: type === 'l1' ? l1Penalty(params, lambda) : l2Penalty(params, lambda) };
}));
