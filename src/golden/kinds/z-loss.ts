// Golden kind `z_loss`: the PaLM z-loss alone, and `z_objective_*` cases (cross-entropy + z-loss as an Objective).
import { registerKind } from '../registry.js';
import { runAutogradCase } from '../autograd-case.js';
import { crossEntropy, Objective, zLoss } from '../../losses/index.js';
import type { Tensor } from '../../tensor/tensor.js';

registerKind('z_loss', (c) => runAutogradCase(c, (inp): Record<string, Tensor> => {
  const o = c.options;
  const logits = inp.logits as Tensor;
  if (inp.target === undefined) return { loss: zLoss(logits, { coef: (o.coef as number | undefined) ?? 1e-4 }) };
  const ce = crossEntropy(logits, inp.target as Tensor, { layout: 'BTV', ignoreIndex: (o.ignore_index as number | undefined) ?? -100 });
  const z = zLoss(logits, { coef: (o.z_loss_coef as number | undefined) ?? 1e-4 });
  const { total } = new Objective({ cross_entropy: 1, z_loss: 1 }).compute({ cross_entropy: ce, z_loss: z });
  return { total, cross_entropy: ce, z_loss: z };
}));
