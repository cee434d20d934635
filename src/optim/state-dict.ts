/**
 * Splitting an optimiser state dict into a JSON part and named float32 tensors (for
 * `optimizer.safetensors` + JSON in a checkpoint), and joining them back.
 * Tensor names: `state.<param index>.<buffer>` (e.g. `state.3.expAvgSq`), shaped like the parameter.
 */
import { ValueError, fmtShape } from '../errors.js';
import type { OptimizerStateDict, ParamStateDict } from './optimizer.js';

/** A named tensor of the split form. */
export interface NamedBuffer {
  shape: number[];
  data: Float32Array;
}

/** The JSON part: the state dict with each buffer replaced by its tensor name. */
export interface OptimizerStateJson {
  algorithm: OptimizerStateDict['algorithm'];
  state: ({ step?: number; shape: number[]; buffers: Record<string, string> } | null)[];
  paramGroups: OptimizerStateDict['paramGroups'];
}

/** Splits a state dict into plain JSON and a map of named tensors (arrays are not copied). */
export function splitStateDict(sd: OptimizerStateDict): { json: OptimizerStateJson; tensors: Record<string, NamedBuffer> } {
  const tensors: Record<string, NamedBuffer> = {};
  const state = sd.state.map((e, i) => {
    if (e === null) return null;
    const buffers: Record<string, string> = {};
    for (const [k, data] of Object.entries(e.buffers)) {
      const name = `state.${i}.${k}`;
      buffers[k] = name;
      tensors[name] = { shape: [...e.shape], data };
    }
    const out: { step?: number; shape: number[]; buffers: Record<string, string> } = { shape: [...e.shape], buffers };
    if (e.step !== undefined) out.step = e.step;
    return out;
  });
  return { json: { algorithm: sd.algorithm, state, paramGroups: JSON.parse(JSON.stringify(sd.paramGroups)) }, tensors };
}

/**
 * Joins the JSON part and the tensors back into a state dict for `loadStateDict`.
 * @throws ValueError naming the tensor when one is missing or its shape differs from the state's.
 */
export function joinStateDict(json: OptimizerStateJson, tensors: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>): OptimizerStateDict {
  if (json === null || typeof json !== 'object' || !Array.isArray(json.state)) throw new ValueError('joinStateDict: json must be an object with a state list');
  const state = json.state.map((e, i): ParamStateDict | null => {
    if (e === null) return null;
    const buffers: Record<string, Float32Array> = {};
    for (const [k, name] of Object.entries(e.buffers)) {
      const t = tensors[name];
      if (!t) throw new ValueError(`joinStateDict: tensor '${name}' (state[${i}].${k}) is missing`);
      if (t.shape.length !== e.shape.length || t.shape.some((s, d) => s !== e.shape[d])) {
        throw new ValueError(`joinStateDict: tensor '${name}' has shape ${fmtShape(t.shape)}, state[${i}] says ${fmtShape(e.shape)}`);
      }
      buffers[k] = Float32Array.from(t.data);
    }
    const out: ParamStateDict = { shape: [...e.shape], buffers };
    if (e.step !== undefined) out.step = e.step;
    return out;
  });
  return { algorithm: json.algorithm, state, paramGroups: json.paramGroups };
}
