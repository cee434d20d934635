// Golden kind `mse_loss` (losses/pointwise.ts).
import { registerKind } from '../registry.js';
import { runAutogradCase } from '../autograd-case.js';
import { mseLoss } from '../../losses/index.js';
import type { Reduction } from '../../losses/common.js';
import type { Tensor } from '../../tensor/tensor.js';

registerKind('mse_loss', (c) => runAutogradCase(c, (inp) => ({
  loss: mseLoss(inp.input as Tensor, inp.target as Tensor, { reduction: (c.options.reduction as Reduction | undefined) ?? 'mean' }),
})));
