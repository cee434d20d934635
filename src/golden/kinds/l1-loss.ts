// Golden kind `l1_loss` (losses/pointwise.ts).
import { registerKind } from '../registry.js';
import { runAutogradCase } from '../autograd-case.js';
import { l1Loss } from '../../losses/index.js';
import type { Reduction } from '../../losses/common.js';
import type { Tensor } from '../../tensor/tensor.js';

registerKind('l1_loss', (c) => runAutogradCase(c, (inp) => ({
  loss: l1Loss(inp.input as Tensor, inp.target as Tensor, { reduction: (c.options.reduction as Reduction | undefined) ?? 'mean' }),
})));
