// Golden kinds `softmax` and `log_softmax`: optional bool mask → masked_fill(-inf) before the op.
import { registerKind } from '../registry.js';
import { runAutogradCase, type CaseInput } from '../autograd-case.js';
import { logSoftmax, softmax } from '../../tensor/ops/softmax.js';
import { maskedFill } from '../../tensor/ops/mask.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { GoldenCase } from '../types.js';

function handler(c: GoldenCase) {
  return runAutogradCase(c, (inp: Record<string, CaseInput>) => {
    let x = inp.x as Tensor;
    if (inp.mask) x = maskedFill(x, inp.mask as Tensor, -Infinity);
    const dim = (c.options.dim as number | undefined) ?? -1;
    const op = (c.options.op as string | undefined) ?? c.kind;
    const y = op === 'log_softmax' ? logSoftmax(x, dim) : softmax(x, dim);
    return { y };
  });
}
registerKind('softmax', handler);
registerKind('log_softmax', handler);
