// GELU of a bfloat16 tensor, as PyTorch runs torch.nn.functional.gelu on bf16 (what its CPU autocast
// hands GELU in a GPT MLP: the bf16 output of the first linear layer): the function in float
// arithmetic, the result rounded to bf16; the backward bf16 in and out (its gelu_backward on bf16).
// Part of the 'gelu' / 'geluTanh' op (elementwise.ts dispatches here for bfloat16 inputs).
import { ValueError } from '../../errors.js';
import { getBackend } from '../../backend/index.js';
import { record } from '../autograd.js';
import { empty, type Tensor } from '../tensor.js';
import { contiguous } from './views.js';

/**
 * GELU of x bfloat16 [...] → bfloat16 [...] (`approximate` 'tanh': GPT-2's gelu_new, else the exact
 * erf form): each value is the float64 GELU of x rounded to float32 and then to bfloat16 (nearest
 * even), so within half a bf16 ulp (plus a float32 rounding) of the exact value, on every backend
 * alike. Backward: dx bfloat16 = g · GELU'(x) rounded to bf16 (GELU'(x) a float32 value, the product
 * float32); a float32 g is rounded to bf16 first (PyTorch's gradients of bf16 tensors are bf16).
 * x is saved for backward as it is (16 bits). NaN gives NaN; GELU(-inf) is NaN as in the float32 op.
 * Source: torch.nn.functional.gelu / gelu_backward on bfloat16 CPU tensors (float opmath, bf16 out).
 * @throws ValueError when x is not bfloat16, or g is neither bfloat16 nor float32.
 */
export function geluBf16(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (x.dtype !== 'bfloat16') throw new ValueError(`geluBf16: expected a bfloat16 tensor, got ${x.dtype}`);
  const tanh = approximate === 'tanh';
  const be = getBackend();
  const xc = contiguous(x.detach());
  const out = empty(x.shape, 'bfloat16');
  const n = out.numel();
  if (n > 0) be.geluBf16(tanh, xc.data() as Uint16Array, out.storage.data as Uint16Array, n);
  return record(tanh ? 'geluTanh' : 'gelu', out, [x], (g) => {
    if (g.dtype !== 'bfloat16' && g.dtype !== 'float32') throw new ValueError(`geluBf16: the gradient must be bfloat16 or float32, got ${g.dtype}`);
    const gc = contiguous(g);
    let g16 = gc;
    if (g.dtype === 'float32') {
      g16 = empty(g.shape, 'bfloat16');
      if (n > 0) be.castToLowp('bfloat16', gc.data() as Float32Array, g16.storage.data as Uint16Array, n);
    }
    const dx = empty(x.shape, 'bfloat16');
    if (n > 0) be.geluBf16Backward(tanh, xc.data() as Uint16Array, g16.data() as Uint16Array, dx.storage.data as Uint16Array, n);
    if (g16 !== gc) g16.storage.free();
    return [dx];
  }, [xc]);
}
