// Golden kinds `gelu` (erf or tanh form) and `silu`.
import { registerKind } from '../registry.js';
import { runAutogradCase } from '../autograd-case.js';
import { gelu, silu } from '../../tensor/ops/elementwise.js';
import type { Tensor } from '../../tensor/tensor.js';

registerKind('gelu', (c) => runAutogradCase(c, (inp) => ({
  y: gelu(inp.x as Tensor, (c.options.approximate as string) === 'tanh' ? 'tanh' : 'none'),
})));
registerKind('silu', (c) => runAutogradCase(c, (inp) => ({ y: silu(inp.x as Tensor) })));
