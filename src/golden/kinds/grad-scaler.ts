/**
 * Golden handler for `grad_scaler` cases: a `GradScaler` (src/optim/grad-scaler.ts) driving plain
 * SGD. Per step: `scale(loss)`, set the given scaled gradients, `unscale_`, `step`, `update`,
 * reporting the scale before and after, the scaled loss, whether an inf/NaN was found (the step
 * was skipped), the unscaled gradients, the parameters and the growth tracker.
 */
import { ValueError } from '../../errors.js';
import { GradScaler } from '../../optim/grad-scaler.js';
import { SGD } from '../../optim/sgd.js';
import { type Tensor, tensor } from '../../tensor/index.js';
import { decodeNumber, decodeTensor, registerKind } from '../registry.js';
import type { GoldenCase, GoldenValue, HandlerResult } from '../types.js';

function float32Tensor(raw: unknown): Tensor {
  const d = decodeTensor(raw);
  return tensor(Float32Array.from(d.data), d.shape);
}

function opt(o: Record<string, unknown>, key: string, dflt: number): number {
  const v = o[key];
  return v === undefined || v === null ? dflt : decodeNumber(v);
}

function gradScalerCase(c: GoldenCase): HandlerResult {
  const o = c.options;
  if (o.optimizer !== undefined && o.optimizer !== null && o.optimizer !== 'sgd') {
    throw new ValueError(`grad_scaler golden: optimizer must be 'sgd', got ${JSON.stringify(o.optimizer)}`);
  }
  const rawParams = c.inputs.params;
  const rawSteps = c.inputs.steps;
  if (!Array.isArray(rawParams) || !Array.isArray(rawSteps)) throw new ValueError('grad_scaler golden: inputs.params and inputs.steps must be lists');
  const params = rawParams.map((r) => float32Tensor(r).requiresGrad_());
  const sgd = new SGD(params, { lr: opt(o, 'lr', 0.1) });
  const scaler = new GradScaler({
    initScale: opt(o, 'init_scale', 65536),
    growthFactor: opt(o, 'growth_factor', 2),
    backoffFactor: opt(o, 'backoff_factor', 0.5),
    growthInterval: opt(o, 'growth_interval', 2000),
    capScaleGrowthAtFp32Max: o.cap_scale_growth_at_fp32_max === true,
  });
  const steps: GoldenValue[] = rawSteps.map((st, s) => {
    const step = st as { loss?: unknown; scaled_grads?: unknown };
    if (!Array.isArray(step.scaled_grads) || step.scaled_grads.length !== params.length) {
      throw new ValueError(`grad_scaler golden: steps[${s}].scaled_grads must be a list of ${params.length} tensors`);
    }
    const scaleBefore = scaler.getScale();
    const scaledLoss = scaler.scale(float32Tensor(step.loss)).item();
    params.forEach((p, i) => {
      const g = (step.scaled_grads as unknown[])[i];
      p.grad = g === null ? null : float32Tensor(g);
    });
    scaler.unscale_(sgd);
    const unscaled = params.map((p) => (p.grad === null ? null : { shape: [...p.grad.shape], data: Float64Array.from(p.grad.data()) }));
    const stepped = scaler.step(sgd);
    scaler.update();
    return {
      scale_before: { shape: [], data: [scaleBefore] },
      scaled_loss: { shape: [], data: [scaledLoss] },
      found_inf: !stepped,
      skipped: !stepped,
      unscaled_grads: unscaled,
      params_after: params.map((p) => ({ shape: [...p.shape], data: Float64Array.from(p.data()) })),
      scale_after: { shape: [], data: [scaler.getScale()] },
      growth_tracker_after: scaler.getGrowthTracker(),
    };
  });
  return { expected: { steps } };
}

registerKind('grad_scaler', gradScalerCase);
