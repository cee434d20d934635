// Golden kind `nll_loss` (losses/nll.ts).
import { registerKind } from '../registry.js';
import { runAutogradCase } from '../autograd-case.js';
import { nllLoss } from '../../losses/index.js';
import type { Reduction } from '../../losses/common.js';
import type { Tensor } from '../../tensor/tensor.js';

registerKind('nll_loss', (c) => runAutogradCase(c, (inp) => ({
  loss: nllLoss(inp.input as Tensor, inp.target as Tensor, {
    weight: (inp.weight as Tensor | undefined) ?? null,
    ignoreIndex: (c.options.ignore_index as number | undefined) ?? -100,
    reduction: (c.options.reduction as Reduction | undefined) ?? 'mean',
  }),
})));
