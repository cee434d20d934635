// Golden kind `batch_norm1d`: nn/functional.ts batchNorm1d; running statistics are updated on copies
// and reported as outputs `running_mean`, `running_var` (training). n = 1 per channel must throw.
import { batchNorm1d } from '../../nn/functional.js';
import * as T from '../../tensor/index.js';
import { runAutogradCase } from '../autograd-case.js';
import { registerKind } from '../registry.js';

/** A plain float32 copy outside the graph (running statistics get no gradient). */
function stat(t: unknown): T.Tensor | null {
  return t instanceof T.Tensor ? T.tensor(Float32Array.from(t.data()), t.shape) : null;
}

registerKind('batch_norm1d', (c) => runAutogradCase(c, (inp) => {
  const rm = stat(inp.running_mean), rv = stat(inp.running_var);
  const training = (c.options.training as boolean | undefined) ?? true;
  // momentum null is PyTorch's cumulative average; for the first batch its factor is 1/1.
  const momentum = c.options.momentum === null ? 1 : (c.options.momentum as number | undefined) ?? 0.1;
  const y = batchNorm1d(inp.x as T.Tensor, rm, rv, (inp.weight as T.Tensor | undefined) ?? null,
    (inp.bias as T.Tensor | undefined) ?? null, { training, momentum, eps: (c.options.eps as number | undefined) ?? 1e-5 });
  const out: Record<string, T.Tensor> = { y };
  if (rm) out.running_mean = rm;
  if (rv) out.running_var = rv;
  return out;
}));
