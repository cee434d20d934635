/**
 * Golden handler for `optimizer` cases: builds SGD / Adam / AdamW (src/optim) over the float32
 * `params`, then for each step sets every parameter's `grad` (null = no gradient: the parameter is
 * skipped) and calls `step()`; expected `params_per_step` are the parameters after each step.
 */
import { ValueError } from '../../errors.js';
import { Adam, AdamW } from '../../optim/adam.js';
import type { Optimizer } from '../../optim/optimizer.js';
import { SGD } from '../../optim/sgd.js';
import { type Tensor, tensor } from '../../tensor/index.js';
import { decodeTensor, registerKind } from '../registry.js';
import type { GoldenCase, GoldenValue, HandlerResult } from '../types.js';

/** Golden option → our option. */
const OPTION_NAMES: Record<string, string> = {
  lr: 'lr', momentum: 'momentum', dampening: 'dampening', nesterov: 'nesterov', weight_decay: 'weightDecay',
  betas: 'betas', eps: 'eps', amsgrad: 'amsgrad', maximize: 'maximize',
};
/** PyTorch implementation switches with no effect on the result. */
const IGNORED = new Set(['algorithm', 'foreach', 'capturable', 'differentiable', 'fused']);

function float32Tensor(raw: unknown): Tensor {
  const d = decodeTensor(raw);
  return tensor(Float32Array.from(d.data), d.shape);
}

/** Builds the optimizer a case describes. @throws ValueError for an unknown algorithm or option. */
export function optimizerFromGolden(options: Record<string, unknown>, params: Tensor[]): Optimizer<{ lr: number }> {
  const opts: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (IGNORED.has(k) || v === null || v === undefined) continue;
    const key = OPTION_NAMES[k];
    if (key === undefined) throw new ValueError(`optimizer golden: unknown option '${k}'`);
    opts[key] = v;
  }
  switch (options.algorithm) {
    case 'sgd': return new SGD(params, opts as { lr: number });
    case 'adam': return new Adam(params, opts);
    case 'adamw': return new AdamW(params, opts);
    default: throw new ValueError(`optimizer golden: unknown algorithm ${JSON.stringify(options.algorithm)} (sgd, adam, adamw)`);
  }
}

function optimizerCase(c: GoldenCase): HandlerResult {
  const rawParams = c.inputs.params;
  if (!Array.isArray(rawParams)) throw new ValueError('optimizer golden: inputs.params must be a list of tensors');
  const params = rawParams.map((r) => float32Tensor(r).requiresGrad_());
  const opt = optimizerFromGolden(c.options, params);
  const steps = c.inputs.grads;
  if (!Array.isArray(steps)) throw new ValueError('optimizer golden: inputs.grads must be a list of steps');
  const perStep: GoldenValue[] = [];
  steps.forEach((step, s) => {
    if (step !== null && (!Array.isArray(step) || step.length !== params.length)) {
      throw new ValueError(`optimizer golden: grads[${s}] must be null or a list of ${params.length} tensors`);
    }
    params.forEach((p, i) => {
      const g = step === null ? null : (step as unknown[])[i];
      p.grad = g === null || g === undefined ? null : float32Tensor(g);
    });
    opt.step();
    perStep.push(params.map((p) => ({ shape: [...p.shape], data: Float64Array.from(p.data()) })));
  });
  return { expected: { params_per_step: perStep } };
}

registerKind('optimizer', optimizerCase);
