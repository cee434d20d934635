// Golden kind `cross_entropy`: layouts NC / NCd / BTV, index or probability targets (losses/cross-entropy.ts).
import { registerKind } from '../registry.js';
import { runAutogradCase } from '../autograd-case.js';
import { crossEntropy, type CrossEntropyLayout } from '../../losses/index.js';
import type { Reduction } from '../../losses/common.js';
import type { Tensor } from '../../tensor/tensor.js';

registerKind('cross_entropy', (c) => runAutogradCase(c, (inp) => {
  const o = c.options;
  const loss = crossEntropy(inp.logits as Tensor, inp.target as Tensor, {
    weight: (inp.weight as Tensor | undefined) ?? null,
    ignoreIndex: (o.ignore_index as number | undefined) ?? -100,
    labelSmoothing: (o.label_smoothing as number | undefined) ?? 0,
    reduction: (o.reduction as Reduction | undefined) ?? 'mean',
    layout: (o.layout as CrossEntropyLayout | undefined) ?? 'NC',
  });
  return { loss };
}));
