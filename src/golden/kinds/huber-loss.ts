// Golden kind `huber_loss` (losses/pointwise.ts).
import { registerKind } from '../registry.js';
import { runAutogradCase } from '../autograd-case.js';
import { huberLoss } from '../../losses/index.js';
import type { Reduction } from '../../losses/common.js';
import type { Tensor } from '../../tensor/tensor.js';

registerKind('huber_loss', (c) => runAutogradCase(c, (inp) => ({
  loss: huberLoss(inp.input as Tensor, inp.target as Tensor, {
    reduction: (c.options.reduction as Reduction | undefined) ?? 'mean',
    delta: (c.options.delta as number | undefined) ?? 1,
  }),
})));
