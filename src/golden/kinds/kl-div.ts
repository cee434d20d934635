// Golden kind `kl_div` (losses/kl-div.ts).
import { registerKind } from '../registry.js';
import { runAutogradCase } from '../autograd-case.js';
import { klDiv, type KlDivOptions } from '../../losses/index.js';
import type { Tensor } from '../../tensor/tensor.js';

registerKind('kl_div', (c) => runAutogradCase(c, (inp) => ({
  loss: klDiv(inp.input as Tensor, inp.target as Tensor, {
    reduction: (c.options.reduction as KlDivOptions['reduction'] | undefined) ?? 'mean',
    logTarget: (c.options.log_target as boolean | undefined) ?? false,
  }),
})));
