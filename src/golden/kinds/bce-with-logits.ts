// Golden kind `bce_with_logits` (losses/bce.ts).
import { registerKind } from '../registry.js';
import { runAutogradCase } from '../autograd-case.js';
import { bceWithLogits } from '../../losses/index.js';
import type { Reduction } from '../../losses/common.js';
import type { Tensor } from '../../tensor/tensor.js';

registerKind('bce_with_logits', (c) => runAutogradCase(c, (inp) => ({
  loss: bceWithLogits(inp.input as Tensor, inp.target as Tensor, {
    weight: (inp.weight as Tensor | undefined) ?? null,
    posWeight: (inp.pos_weight as Tensor | undefined) ?? null,
    reduction: (c.options.reduction as Reduction | undefined) ?? 'mean',
  }),
})));
