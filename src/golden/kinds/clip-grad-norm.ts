/**
 * Golden handler for `clip_grad_norm` cases: gives parameters the input `grads` (null = no
 * gradient), runs `clipGradNorm` (src/optim/clip-grad.ts) and reports `total_norm` and the
 * clipped gradients (null where there was none).
 */
import { ValueError } from '../../errors.js';
import { clipGradNorm } from '../../optim/clip-grad.js';
import { tensor, zeros } from '../../tensor/index.js';
import { decodeNumber, decodeTensor, registerKind } from '../registry.js';
import type { GoldenCase, HandlerResult } from '../types.js';

function clipCase(c: GoldenCase): HandlerResult {
  const raw = c.inputs.grads;
  if (!Array.isArray(raw)) throw new ValueError('clip_grad_norm golden: inputs.grads must be a list of tensors');
  const params = raw.map((r) => {
    if (r === null) return zeros([0]);
    const d = decodeTensor(r);
    const p = zeros(d.shape);
    p.grad = tensor(Float32Array.from(d.data), d.shape);
    return p;
  });
  raw.forEach((r, i) => { if (r === null) params[i].grad = null; });
  const o = c.options;
  const normType = o.norm_type === undefined || o.norm_type === null ? 2 : decodeNumber(o.norm_type);
  const total = clipGradNorm(params, decodeNumber(o.max_norm), {
    normType,
    errorIfNonfinite: o.error_if_nonfinite === true,
  });
  return {
    expected: {
      total_norm: { shape: [], data: [total] },
      grads: params.map((p) => (p.grad === null ? null : { shape: [...p.grad.shape], data: Float64Array.from(p.grad.data()) })),
    },
  };
}

registerKind('clip_grad_norm', clipCase);
