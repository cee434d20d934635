// Golden kind `smooth_l1_loss` (losses/pointwise.ts).
import { registerKind } from '../registry.js';
import { runAutogradCase } from '../autograd-case.js';
import { smoothL1Loss } from '../../losses/index.js';
import type { Reduction } from '../../losses/common.js';
import type { Tensor } from '../../tensor/tensor.js';

registerKind('smooth_l1_loss', (c) => runAutogradCase(c, (inp) => ({
  loss: smoothL1Loss(inp.input as Tensor, inp.target as Tensor, {
    reduction: (c.options.reduction as Reduction | undefined) ?? 'mean',
    beta: (c.options.beta as number | undefined) ?? 1,
  }),
})));
