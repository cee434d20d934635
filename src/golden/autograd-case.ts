/**
 * Shared driver for the differentiable golden kinds: decodes a case's float inputs into float32
 * tensors that require grad (lists of tensors become lists), runs the op, back-propagates
 * `grad_output` from `primary_output`, and returns outputs and input gradients in the runner's shape.
 */
import { backward } from '../tensor/autograd.js';
import { Tensor, tensor } from '../tensor/tensor.js';
import type { GoldenCase, GoldenValue, HandlerResult } from './types.js';
import { decodeTensor } from './decode.js';

export type CaseInput = Tensor | Tensor[] | number | string | boolean | null;

function isTensorJson(v: unknown): v is { dtype: string; shape: number[]; data: unknown[] } {
  return typeof v === 'object' && v !== null && 'dtype' in v && 'shape' in v && 'data' in v;
}

/** A decoded golden tensor as a trainformer tensor: floats → float32 requiring grad, integers → int32. */
export function toTensor(v: unknown, requiresGrad = true): Tensor {
  const d = decodeTensor(v);
  if (d.dtype === 'float32' || d.dtype === 'float64') {
    const t = tensor(Float32Array.from(d.data), d.shape);
    return requiresGrad ? t.requiresGrad_() : t;
  }
  return tensor(Int32Array.from(d.data), d.shape, 'int32');
}

/** Decodes every input: tensors, lists of tensors, and plain JSON values. */
export function decodeInputs(c: GoldenCase): Record<string, CaseInput> {
  const out: Record<string, CaseInput> = {};
  for (const [k, v] of Object.entries(c.inputs)) {
    if (isTensorJson(v)) out[k] = toTensor(v, true);
    else if (Array.isArray(v) && v.every(isTensorJson)) out[k] = v.map((x) => toTensor(x, true));
    else out[k] = v as CaseInput;
  }
  return out;
}

export function asValue(t: Tensor): GoldenValue {
  return { shape: [...t.shape], data: Float64Array.from(t.data()) };
}

/**
 * Runs `fn` on the decoded inputs; `fn` returns named outputs (tensors). Gradients of the inputs
 * named in `case.grads` are returned after backward from the primary output.
 */
export function runAutogradCase(c: GoldenCase, fn: (inputs: Record<string, CaseInput>) => Record<string, Tensor>): HandlerResult {
  const inputs = decodeInputs(c);
  const outs = fn(inputs);
  const expected: Record<string, GoldenValue> = {};
  for (const k of Object.keys(c.expected ?? {})) {
    if (!(k in outs)) throw new Error(`handler produced no output '${k}'`);
    expected[k] = asValue(outs[k]);
  }
  const result: HandlerResult = { expected };
  if (c.grads && c.primary_output) {
    const y = outs[c.primary_output];
    const g = toTensor(c.grad_output, false);
    if (y.requiresGrad) backward(y, g.numel() === 1 && y.numel() === 1 ? reshapeLike(g, y) : g);
    const grads: Record<string, GoldenValue> = {};
    for (const k of Object.keys(c.grads)) {
      const x = inputs[k];
      const one = (t: Tensor): GoldenValue => (t.grad ? asValue(t.grad) : { shape: [...t.shape], data: new Float64Array(t.numel()) });
      grads[k] = Array.isArray(x) ? x.map(one) : x instanceof Tensor ? one(x) : null;
    }
    result.grads = grads;
  }
  return result;
}

function reshapeLike(g: Tensor, y: Tensor): Tensor {
  return tensor(Float32Array.from(g.data()), y.shape);
}
