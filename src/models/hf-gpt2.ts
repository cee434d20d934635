/**
 * Hugging Face GPT-2 interop: a checkpoint folder in the `transformers` layout (`config.json` +
 * `model.safetensors`) loads into {@link GPT}, and a GPT saves back to that layout.
 *
 * The mapping (transformers' modeling_gpt2.py and its published checkpoints):
 * - keys are `h.<i>.attn.c_attn.weight` etc., possibly prefixed `transformer.` (GPT2LMHeadModel);
 * - `attn.c_attn`, `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj` are Conv1D layers whose weights are stored
 *   [in, out]; ours are [out, in] (nn.Linear), so they are transposed both ways;
 * - `lm_head.weight` [V, C] is used only when `tie_word_embeddings` is false (tied: `wte.weight`);
 * - the causal-mask buffers `attn.bias` / `attn.masked_bias` of older checkpoints are ignored;
 * - config: `vocab_size`, `n_positions`, `n_embd`, `n_layer`, `n_head`, `n_inner` (null = 4·n_embd),
 *   `activation_function` (default `gelu_new`, the tanh approximation), `layer_norm_epsilon`,
 *   `resid_pdrop`, `tie_word_embeddings`, `scale_attn_weights`.
 * Weights in F32, F16, BF16 or F64 are read (as float32).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, FileFormatError, TrainformerError, ValueError } from '../errors.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { type SafeTensor, readSafetensorsFile, toFloat32, writeSafetensorsFile } from '../io/safetensors.js';
import { assertFiniteWeights } from '../io/finite-weights.js';
import { StateDictError, firstNonFinite } from '../nn/module.js';
import { type ResolvedGPTConfig, gptConfigFromJson } from './config.js';
import { GPT } from './gpt.js';
import { ensureDir } from '../io/ensure-dir.js';

/** Keys whose HF weight is a Conv1D [in, out]. */
const CONV1D = /^h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
/** Causal-mask buffers of older checkpoints. */
const MASK_BUFFER = /^h\.\d+\.attn\.(bias|masked_bias)$/;

/** Configs as loaded, so that saving keeps fields this library does not model (token ids, ...). */
const loadedConfigs = new WeakMap<GPT, Record<string, unknown>>();

/** [r, c] row-major → [c, r]. */
function transpose2d(src: ArrayLike<number>, r: number, c: number): Float32Array {
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = src[i * c + j];
  return out;
}

/**
 * Reads a GPT-2 config.json object into a GPT config, with GPT2Config's defaults for absent fields.
 * @throws ConfigError for invalid or unsupported fields.
 */
export function gptConfigFromHF(json: Record<string, unknown>): ResolvedGPTConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError('GPT-2 config must be a JSON object');
  if (json.model_type !== undefined && json.model_type !== 'gpt2') {
    throw new ConfigError(`model_type must be 'gpt2', got ${JSON.stringify(json.model_type)}`);
  }
  const defaults: Record<string, unknown> = {
    vocab_size: 50257, n_positions: json.n_ctx ?? 1024, n_embd: 768, n_layer: 12, n_head: 12,
    activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, resid_pdrop: 0.1, tie_word_embeddings: true,
  };
  return gptConfigFromJson({ ...defaults, ...json, bias: true });
}

/**
 * Maps the tensors of a Hugging Face GPT-2 safetensors file to GPT state-dict entries (prefix stripped, Conv1D
 * weights transposed, mask buffers dropped, `lm_head.weight` kept only when untied).
 * @returns entries `{shape, data}` by our parameter name, plus the keys that were ignored.
 * @throws TrainformerError for non-float tensors or Conv1D weights that are not 2-D.
 */
export function gpt2StateFromHF(tensors: Record<string, SafeTensor>, config: ResolvedGPTConfig, source = '<safetensors>'):
  { state: Map<string, { shape: number[]; data: Float32Array }>; ignored: string[] } {
  const state = new Map<string, { shape: number[]; data: Float32Array }>();
  const ignored: string[] = [];
  for (const [rawKey, t] of Object.entries(tensors)) {
    const key = rawKey.startsWith('transformer.') ? rawKey.slice('transformer.'.length) : rawKey;
    if (MASK_BUFFER.test(key) || (key === 'lm_head.weight' && config.tieWordEmbeddings)) { ignored.push(rawKey); continue; }
    let data: Float32Array;
    try {
      data = toFloat32(t);
    } catch (e) {
      throw new FileFormatError(`${source}: tensor '${rawKey}' has dtype ${t.dtype}; GPT-2 weights must be floating point (${(e as Error).message})`);
    }
    if (CONV1D.test(key)) {
      if (t.shape.length !== 2) throw new FileFormatError(`${source}: Conv1D weight '${rawKey}' must be 2-D [in, out], got [${t.shape.join(', ')}]`);
      const [r, c] = t.shape;
      state.set(key, { shape: [c, r], data: transpose2d(data, r, c) });
    } else {
      state.set(key, { shape: [...t.shape], data });
    }
  }
  return { state, ignored };
}

/** Reads and checks a folder's config.json as GPT-2. @throws FileFormatError / ConfigError naming the file. */
export function readHFGPT2Config(dir: string): { json: Record<string, unknown>; config: ResolvedGPTConfig } {
  const cfgPath = path.join(dir, 'config.json');
  if (!existsSync(dir)) throw new FileFormatError(`${dir}: no such folder`);
  if (!existsSync(cfgPath)) throw new FileFormatError(`${cfgPath}: not found (a GPT-2 folder needs config.json and model.safetensors)`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new FileFormatError(`${cfgPath}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${cfgPath}: not a JSON object`);
  if (json.model_type === undefined && json.n_embd === undefined) {
    throw new ConfigError(`${cfgPath}: not a Hugging Face GPT-2 config (no model_type; a trainformer run's config is trainformer_config.json)`);
  }
  if (json.model_type !== undefined && json.model_type !== 'gpt2') {
    throw new ConfigError(`${cfgPath}: model_type is ${JSON.stringify(json.model_type)}; only GPT-2 layouts (model_type "gpt2") are read`);
  }
  try {
    return { json, config: gptConfigFromHF(json) };
  } catch (e) {
    if (e instanceof TrainformerError) throw new ConfigError(`${cfgPath}: ${e.message}`);
    throw e;
  }
}

/**
 * The tensors of a folder's weights: `model.safetensors`, or the shards a
 * `model.safetensors.index.json` (`weight_map`: tensor name → shard file) names.
 * @throws FileFormatError naming the file for missing, unreadable or inconsistent weights, and the
 *   file and tensor for a NaN or ±Inf value.
 */
export function readHFWeights(dir: string): { tensors: Record<string, SafeTensor>; source: string } {
  const single = path.join(dir, 'model.safetensors');
  if (existsSync(single)) {
    const tensors = readSafetensorsFile(single).tensors;
    assertFiniteWeights(tensors, single);
    return { tensors, source: single };
  }
  const indexPath = path.join(dir, 'model.safetensors.index.json');
  if (!existsSync(indexPath)) {
    const bin = ['pytorch_model.bin', 'tf_model.h5', 'flax_model.msgpack'].find((f) => existsSync(path.join(dir, f)));
    throw new FileFormatError(`${single}: not found${bin ? ` (the folder has ${bin}; only safetensors weights are read)` : ' (nor model.safetensors.index.json)'}`);
  }
  let index: { weight_map?: Record<string, unknown> };
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8')) as typeof index;
  } catch (e) {
    throw new FileFormatError(`${indexPath}: invalid JSON (${(e as Error).message})`);
  }
  const map = index.weight_map;
  if (typeof map !== 'object' || map === null) throw new FileFormatError(`${indexPath}: field "weight_map" (tensor name → shard file) is missing`);
  const byShard = new Map<string, string[]>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== 'string' || file.includes('/') || file.includes('\\')) throw new FileFormatError(`${indexPath}: weight_map["${name}"] must be a file name in the folder, got ${JSON.stringify(file)}`);
    byShard.set(file, [...(byShard.get(file) ?? []), name]);
  }
  const tensors: Record<string, SafeTensor> = {};
  for (const [file, names] of byShard) {
    const shardPath = path.join(dir, file);
    if (!existsSync(shardPath)) throw new FileFormatError(`${shardPath}: not found (named by ${indexPath})`);
    const shard = readSafetensorsFile(shardPath).tensors;
    assertFiniteWeights(shard, shardPath);
    for (const n of names) {
      if (!shard[n]) throw new FileFormatError(`${shardPath}: tensor "${n}" is missing (${indexPath} puts it there)`);
      tensors[n] = shard[n];
    }
  }
  return { tensors, source: indexPath };
}

/**
 * Loads a Hugging Face GPT-2 folder (`config.json` + `model.safetensors`, or a sharded
 * `model.safetensors.index.json`) into a GPT, in eval mode (as `from_pretrained`). Every weight must
 * be present with the configured shape.
 * @throws FileFormatError for missing or unreadable files (path in the message); ConfigError for bad
 *   config fields or a model_type other than gpt2; StateDictError listing missing / unexpected keys
 *   and shape mismatches.
 */
export function loadHFGPT2(dir: string): GPT {
  const { json, config } = readHFGPT2Config(dir);
  const { tensors, source } = readHFWeights(dir);
  const { state } = gpt2StateFromHF(tensors, config, source);
  const model = new GPT(config, { init: false });
  try {
    model.loadStateDict(state);
  } catch (e) {
    if (e instanceof StateDictError) {
      throw new StateDictError(e.missingKeys, e.unexpectedKeys, e.mismatchedShapes, `loadHFGPT2 ${source}`);
    }
    throw e;
  }
  loadedConfigs.set(model, json);
  return model.eval();
}

/**
 * The HF GPT-2 config.json object for a GPT config (fields of a config this model was loaded with
 * are kept unless this library sets them).
 * @throws ConfigError when the model uses features GPT-2 cannot express (RMSNorm, RoPE, no biases,
 *   gated activations, a custom attention scale).
 */
export function hfConfigFromGPT(c: ResolvedGPTConfig, base: Record<string, unknown> = {}): Record<string, unknown> {
  if (c.norm !== 'layernorm') throw new ConfigError(`GPT-2 layout needs norm 'layernorm', got '${c.norm}'`);
  if (c.positionEmbedding !== 'learned') throw new ConfigError(`GPT-2 layout needs learned position embeddings, got '${c.positionEmbedding}'`);
  if (c.attentionWindow !== null) throw new ConfigError(`GPT-2 layout has no sliding-window attention, got attentionWindow ${c.attentionWindow}`);
  if (!c.bias) throw new ConfigError('GPT-2 layout needs bias: true');
  if (c.activation === 'swiglu' || c.activation === 'geglu') throw new ConfigError(`GPT-2 layout has no gated activation ('${c.activation}')`);
  if (c.attnScale !== null && c.attnScale !== 1) throw new ConfigError(`GPT-2 layout cannot express attnScale ${c.attnScale}`);
  const activation = c.activation === 'swish' ? 'silu' : c.activation === 'gelu_tanh' ? 'gelu_new' : c.activation;
  return {
    ...base,
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_positions: c.blockSize,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: c.nInner === 4 * c.nEmbd ? null : c.nInner,
    activation_function: activation,
    resid_pdrop: c.dropout,
    embd_pdrop: c.dropout,
    attn_pdrop: c.dropout,
    layer_norm_epsilon: c.layerNormEpsilon,
    initializer_range: 0.02,
    scale_attn_weights: c.attnScale === null,
    tie_word_embeddings: c.tieWordEmbeddings,
    torch_dtype: 'float32',
  };
}

/**
 * Saves a GPT as a Hugging Face GPT-2 folder: `config.json` and `model.safetensors` (F32, keys prefixed
 * `transformer.` as GPT2LMHeadModel's, Conv1D weights [in, out], `lm_head.weight` only when untied,
 * metadata `{format: 'pt'}`). Creates `dir` if needed; files are written atomically.
 * `configFields` are added to config.json (token ids: `bos_token_id`, `eos_token_id`, ...).
 * @throws ConfigError when the model cannot be expressed as GPT-2 (see hfConfigFromGPT); ValueError
 *   naming the tensor when a weight is not finite (nothing is written then).
 */
export function saveHFGPT2(model: GPT, dir: string, configFields: Record<string, unknown> = {}): void {
  const cfg = { ...hfConfigFromGPT(model.config, loadedConfigs.get(model) ?? {}), ...configFields };
  const state = model.stateDict();
  const bad = firstNonFinite(state);
  if (bad) throw new ValueError(`saveHFGPT2: weight '${bad.name}' has a non-finite value (${bad.value}) at flat index ${bad.index}; nothing written`);
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, t] of Object.entries(state)) {
    const src = t.contiguous().data();
    let shape = [...t.shape];
    let data: Float32Array = Float32Array.from(src);
    if (CONV1D.test(name)) {
      const [r, c] = shape;
      data = transpose2d(src, r, c);
      shape = [c, r];
    }
    tensors[name === 'lm_head.weight' ? name : `transformer.${name}`] = { dtype: 'F32', shape, data };
  }
  ensureDir(dir);
  writeSafetensorsFile(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  writeJsonAtomic(path.join(dir, 'config.json'), cfg);
}
