/**
 * A GPT as an ONNX model for inference (`trainformer export <run> --format onnx <dir>`):
 * input `input_ids` int64 [batch, sequence], output `logits` float32 [batch, sequence, V], both with
 * dynamic `batch` and `sequence` axes (sequence ≤ blockSize). Opset 17, IR version 8; the protobuf
 * encoding is protobufjs's, with the message fields of onnx/onnx.proto that the graph uses.
 *
 * The graph follows GPT.forward in eval mode: wte Gather + wpe rows [0, T); per block LayerNormalization,
 * c_attn MatMul (+ bias), Split into q, k, v, heads by Reshape/Transpose, q·kᵀ × scale + the causal
 * mask (rows and columns [0, T) of a [blockSize, blockSize] additive mask of 0 / -inf), Softmax,
 * ·v, c_proj, residual; LayerNormalization, c_fc, the activation (GELU erf or tanh form, ReLU, SiLU
 * written with Erf / Tanh / Sigmoid), c_proj, residual; ln_f; logits against wte (tied) or lm_head.
 * Dropout is the identity. Weights are float32 initializers (raw little-endian bytes).
 * Supported: LayerNorm, learned positions, any bias setting and attention scale, ungated activations.
 */
import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import protobuf from 'protobufjs';
import { ConfigError, ValueError } from '../errors.js';
import { firstNonFinite } from '../nn/module.js';
import type { GPT } from './gpt.js';

const ONNX_PROTO = `
syntax = "proto3";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; }
  string name = 1; float f = 2; int64 i = 3; bytes s = 4; TensorProto t = 5;
  repeated float floats = 7; repeated int64 ints = 8; AttributeType type = 20;
}
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message NodeProto { repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4; repeated AttributeProto attribute = 5; string domain = 7; }
message ModelProto { int64 ir_version = 1; string producer_name = 2; string producer_version = 3; string doc_string = 6; GraphProto graph = 7; repeated OperatorSetIdProto opset_import = 8; }
message GraphProto { repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5; repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12; }
message TensorProto { repeated int64 dims = 1; int32 data_type = 2; repeated int64 int64_data = 7; string name = 8; bytes raw_data = 9; }
message TensorShapeProto { message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } } repeated Dimension dim = 1; }
message TypeProto { message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; } oneof value { Tensor tensor_type = 1; } }
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
`;

const FLOAT = 1, INT64 = 7;
const OPSET = 17, IR_VERSION = 8;

let modelType: protobuf.Type | undefined;
/** The ModelProto message type (protobufjs, from the subset of onnx.proto above). */
export function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

type Attr = { name: string; type: number; f?: number; i?: number; ints?: number[] };
const attrI = (name: string, i: number): Attr => ({ name, type: 2, i });
const attrF = (name: string, f: number): Attr => ({ name, type: 1, f });
const attrInts = (name: string, ints: number[]): Attr => ({ name, type: 7, ints });

/** Collects nodes and initializers with unique names. */
class GraphBuilder {
  nodes: Record<string, unknown>[] = [];
  inits: Record<string, unknown>[] = [];
  private n = 0;

  op(opType: string, inputs: string[], attrs: Attr[] = [], nOut = 1): string[] {
    const id = this.n++;
    const outputs = Array.from({ length: nOut }, (_, k) => `${opType.toLowerCase()}_${id}${nOut > 1 ? `_${k}` : ''}`);
    this.nodes.push({ op_type: opType, name: `${opType}_${id}`, input: inputs, output: outputs, attribute: attrs });
    return outputs;
  }

  one(opType: string, inputs: string[], attrs: Attr[] = []): string {
    return this.op(opType, inputs, attrs)[0];
  }

  float(name: string, dims: number[], data: Float32Array): string {
    const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.inits.push({ name, dims, data_type: FLOAT, raw_data: bytes });
    return name;
  }

  int64(name: string, dims: number[], values: number[]): string {
    this.inits.push({ name, dims, data_type: INT64, int64_data: values });
    return name;
  }

  scalar(name: string, v: number): string {
    return this.float(name, [], Float32Array.of(v));
  }
}

/**
 * The ONNX ModelProto bytes of a GPT (see the file comment).
 * @throws ConfigError naming the setting when the model uses RMSNorm, RoPE or a gated activation.
 */
export function gptToOnnx(model: GPT): Uint8Array {
  const c = model.config;
  if (c.norm !== 'layernorm') throw new ConfigError(`ONNX export: norm '${c.norm}' is not supported (layernorm only)`);
  if (c.positionEmbedding !== 'learned') throw new ConfigError(`ONNX export: positionEmbedding '${c.positionEmbedding}' is not supported (learned only)`);
  if (c.attentionWindow !== null) throw new ConfigError(`ONNX export: attentionWindow ${c.attentionWindow} is not supported (full causal attention only)`);
  if (c.activation === 'swiglu' || c.activation === 'geglu') throw new ConfigError(`ONNX export: gated activation '${c.activation}' is not supported`);
  const sd = model.stateDict();
  const w = (name: string): Float32Array => {
    const t = sd[name];
    if (!t) throw new ConfigError(`ONNX export: the model has no tensor '${name}'`);
    return Float32Array.from(t.contiguous().data() as ArrayLike<number>);
  };
  const shapeOf = (name: string): number[] => [...sd[name].shape];
  const g = new GraphBuilder();
  const C = c.nEmbd, H = c.nHead, D = C / H, P = c.blockSize, V = c.vocabSize;
  const init = (name: string): string => g.float(name, shapeOf(name), w(name));
  /** y = x·Wᵀ (+ b) for a Linear whose weight is [out, in]: the initializer is stored transposed [in, out]. */
  const linear = (x: string, prefix: string): string => {
    const [o, i] = shapeOf(`${prefix}.weight`);
    const src = w(`${prefix}.weight`), tr = new Float32Array(o * i);
    for (let r = 0; r < o; r++) for (let k = 0; k < i; k++) tr[k * o + r] = src[r * i + k];
    const y = g.one('MatMul', [x, g.float(`${prefix}.weight_t`, [i, o], tr)]);
    return sd[`${prefix}.bias`] ? g.one('Add', [y, init(`${prefix}.bias`)]) : y;
  };
  const layerNorm = (x: string, prefix: string): string => {
    const scale = init(`${prefix}.weight`);
    const bias = sd[`${prefix}.bias`] ? init(`${prefix}.bias`) : g.float(`${prefix}.zero_bias`, [C], new Float32Array(C));
    return g.one('LayerNormalization', [x, scale, bias], [attrI('axis', -1), attrF('epsilon', c.layerNormEpsilon)]);
  };

  // Shapes: T (1-D) from input_ids.
  const shape = g.one('Shape', ['input_ids']);
  const T1 = g.one('Slice', [shape, g.int64('one_1d', [1], [1]), g.int64('two_1d', [1], [2]), g.int64('zero_1d', [1], [0])]);
  const tok = g.one('Gather', [init('wte.weight'), 'input_ids']);
  const pos = g.one('Slice', [init('wpe.weight'), 'zero_1d', T1, 'zero_1d']);
  let x = g.one('Add', [tok, pos]);
  const mask = new Float32Array(P * P);
  for (let i = 0; i < P; i++) for (let j = i + 1; j < P; j++) mask[i * P + j] = -Infinity;
  const TT = g.one('Concat', [T1, T1], [attrI('axis', 0)]);
  const causal = g.one('Slice', [g.float('causal_mask', [P, P], mask), g.int64('zeros_2', [2], [0, 0]), TT, g.int64('axes_01', [2], [0, 1])]);
  const headShape = g.int64('head_shape', [4], [0, 0, H, D]);
  const mergedShape = g.int64('merged_shape', [3], [0, 0, C]);
  const splitSizes = g.int64('qkv_split', [3], [C, C, C]);
  const scale = g.scalar('attn_scale', c.attnScale ?? 1 / Math.sqrt(D));
  const half = g.scalar('half', 0.5), oneF = g.scalar('one', 1);
  const activation = (h: string): string => {
    switch (c.activation) {
      case 'relu': return g.one('Relu', [h]);
      case 'silu': case 'swish': return g.one('Mul', [h, g.one('Sigmoid', [h])]);
      case 'gelu': {
        const e = g.one('Erf', [g.one('Mul', [h, g.scalar(`inv_sqrt2_${h}`, Math.SQRT1_2)])]);
        return g.one('Mul', [g.one('Mul', [h, half]), g.one('Add', [e, oneF])]);
      }
      default: { // tanh form
        const cube = g.one('Mul', [g.one('Mul', [h, h]), h]);
        const inner = g.one('Mul', [g.one('Add', [h, g.one('Mul', [cube, g.scalar(`c044715_${h}`, 0.044715)])]), g.scalar(`sqrt_2_pi_${h}`, Math.sqrt(2 / Math.PI))]);
        return g.one('Mul', [g.one('Mul', [h, half]), g.one('Add', [g.one('Tanh', [inner]), oneF])]);
      }
    }
  };
  for (let l = 0; l < c.nLayer; l++) {
    const p = `h.${l}`;
    const qkv = linear(layerNorm(x, `${p}.ln_1`), `${p}.attn.c_attn`);
    const [q, k, v] = g.op('Split', [qkv, splitSizes], [attrI('axis', 2)], 3);
    const heads = (t: string, perm: number[]) => g.one('Transpose', [g.one('Reshape', [t, headShape])], [attrInts('perm', perm)]);
    const att = g.one('Add', [g.one('Mul', [g.one('MatMul', [heads(q, [0, 2, 1, 3]), heads(k, [0, 2, 3, 1])]), scale]), causal]);
    const y = g.one('MatMul', [g.one('Softmax', [att], [attrI('axis', -1)]), heads(v, [0, 2, 1, 3])]);
    const merged = g.one('Reshape', [g.one('Transpose', [y], [attrInts('perm', [0, 2, 1, 3])]), mergedShape]);
    x = g.one('Add', [x, linear(merged, `${p}.attn.c_proj`)]);
    const f = activation(linear(layerNorm(x, `${p}.ln_2`), `${p}.mlp.c_fc`));
    x = g.one('Add', [x, linear(f, `${p}.mlp.c_proj`)]);
  }
  x = layerNorm(x, 'ln_f');
  const head = c.tieWordEmbeddings ? 'wte.weight' : init('lm_head.weight');
  g.one('MatMul', [x, g.one('Transpose', [head], [attrInts('perm', [1, 0])])]);
  (g.nodes[g.nodes.length - 1] as { output: string[] }).output = ['logits']; // the graph's output name
  const dims = (names: Array<string | number>) => ({ dim: names.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) });
  const M = onnxModelType();
  return M.encode(M.fromObject({
    ir_version: IR_VERSION,
    producer_name: 'trainformer',
    producer_version: '0.1.0',
    doc_string: `GPT (${c.nLayer} layers, ${c.nEmbd} wide, ${c.nHead} heads, vocabulary ${V}, context ${P}) for inference`,
    opset_import: [{ domain: '', version: OPSET }],
    graph: {
      name: 'gpt',
      node: g.nodes,
      initializer: g.inits,
      input: [{ name: 'input_ids', type: { tensor_type: { elem_type: INT64, shape: dims(['batch', 'sequence']) } } }],
      output: [{ name: 'logits', type: { tensor_type: { elem_type: FLOAT, shape: dims(['batch', 'sequence', V]) } } }],
    },
  })).finish();
}

/**
 * Writes `gptToOnnx(model)` to `file` atomically (temporary file, then rename).
 * @throws ConfigError as gptToOnnx; ValueError naming the tensor when a weight is not finite (nothing is written then).
 */
export function saveOnnxGPT(model: GPT, file: string): void {
  // Same rule as saveHFGPT2: a run never writes non-finite weights, so check before any byte is written.
  const bad = firstNonFinite(model.stateDict());
  if (bad) throw new ValueError(`saveOnnxGPT: weight '${bad.name}' has a non-finite value (${bad.value}) at flat index ${bad.index}; nothing written`);
  const bytes = gptToOnnx(model);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}
