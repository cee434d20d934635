// Golden kind `rms_norm`: y = x / sqrt(mean(x²) + eps) · weight (nn/functional.ts rmsNorm).
import { rmsNorm } from '../../nn/functional.js';
import type * as T from '../../tensor/index.js';
import { runAutogradCase } from '../autograd-case.js';
import { registerKind } from '../registry.js';

// torch.nn.RMSNorm's eps=None means float32 machine epsilon.
const FLOAT32_EPS = 1.1920928955078125e-7;

registerKind('rms_norm', (c) => runAutogradCase(c, (inp) => {
  const eps = (c.options.eps as number | null | undefined) ?? FLOAT32_EPS;
  return { y: rmsNorm(inp.x as T.Tensor, (inp.weight as T.Tensor | undefined) ?? null, eps) };
}));
