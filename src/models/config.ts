/**
 * Model configurations with Hugging Face-like names in camelCase, their defaults and validation.
 * `gptConfigFromJson` also reads snake_case JSON: a Hugging Face GPT-2 `config.json` or an entry of
 * shared/bench/configs.json.
 */
import { ConfigError } from '../errors.js';
import { type Activation, checkActivation } from '../nn/activation.js';
import type { NormKind } from '../nn/block.js';
import { suggestField } from './config-suggest.js';

/** Decoder-only language model (GPT-2 layout). */
export interface GPTConfig {
  /** V, vocabulary size. */
  vocabSize: number;
  /** Number of blocks. */
  nLayer: number;
  /** Attention heads per block (nEmbd divisible by it). */
  nHead: number;
  /** C, the model width. */
  nEmbd: number;
  /** Longest sequence (learned position table size; HF `n_positions`). */
  blockSize: number;
  /** Dropout on embeddings, attention probabilities and residual branches (default 0). */
  dropout?: number;
  /** Biases in linear layers and LayerNorms (default true). */
  bias?: boolean;
  /** LM head shares the token embedding (default true). */
  tieWordEmbeddings?: boolean;
  /** LayerNorm eps (default 1e-5). */
  layerNormEpsilon?: number;
  /** MLP activation (default 'gelu', exact erf; GPT-2 checkpoints use 'gelu_new'). */
  activation?: Activation;
  /** MLP hidden width (default 4·nEmbd; HF `n_inner`). */
  nInner?: number | null;
  /** 'learned' (default, `wpe`) or 'rope' (rotary in attention, no `wpe`). */
  positionEmbedding?: 'learned' | 'rope';
  /** RoPE base θ (HF `rope_theta`); default 10000. Needs positionEmbedding 'rope'. */
  ropeTheta?: number;
  /**
   * RoPE position interpolation (HF `rope_scaling`): `{ type: 'linear', factor }` divides positions by
   * factor ≥ 1, to extend a model trained at context L to factor·L. Needs positionEmbedding 'rope'.
   */
  ropeScaling?: { type: 'linear'; factor: number } | null;
  /**
   * Sliding-window attention (Mistral's `sliding_window`): each token attends to itself and the
   * window - 1 tokens before it. Default null (the whole causal context).
   */
  attentionWindow?: number | null;
  /** 'layernorm' (default) or 'rmsnorm'. */
  norm?: NormKind;
  /** Attention score scale (default 1/√D). */
  attnScale?: number | null;
  /** Seed of the model's generator (initialisation, then dropout). Default 1337. */
  seed?: number;
}

export type ResolvedGPTConfig = Required<Omit<GPTConfig, 'nInner' | 'attnScale' | 'ropeScaling' | 'attentionWindow'>> & {
  nInner: number; attnScale: number | null; ropeScaling: { type: 'linear'; factor: number } | null; attentionWindow: number | null;
};

function posInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ConfigError(`${field} must be a positive integer, got ${JSON.stringify(v)}`, [field]);
  return v;
}

function prob(v: unknown, field: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new ConfigError(`${field} must be a number in [0, 1], got ${JSON.stringify(v)}`, [field]);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(`${field} must be true or false, got ${JSON.stringify(v)}`, [field]);
  return v;
}

function positive(v: unknown, field: string): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new ConfigError(`${field} must be a positive number, got ${JSON.stringify(v)}`, [field]);
  return v;
}

function finite(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${field} must be a finite number, got ${JSON.stringify(v)}`, [field]);
  return v;
}

/** `{ type: 'linear', factor >= 1 }` or null. */
function ropeScalingOf(v: unknown): { type: 'linear'; factor: number } | null {
  if (v === null || v === undefined) return null;
  const o = v as { type?: unknown; factor?: unknown };
  if (typeof v !== 'object' || Array.isArray(v) || o.type !== 'linear' || typeof o.factor !== 'number' || !Number.isFinite(o.factor) || o.factor < 1
    || Object.keys(v).some((k) => k !== 'type' && k !== 'factor')) {
    throw new ConfigError(`ropeScaling must be { "type": "linear", "factor": <number >= 1> }, got ${JSON.stringify(v)}`, ['ropeScaling']);
  }
  return { type: 'linear', factor: o.factor };
}

function oneOf<S extends string>(v: unknown, field: string, options: readonly S[]): S {
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) {
    throw new ConfigError(`${field} must be one of ${options.join(', ')}, got ${JSON.stringify(v)}`, [field]);
  }
  return v as S;
}

/** Every field of {@link GPTConfig}. */
export const GPT_CONFIG_KEYS: readonly (keyof GPTConfig)[] = [
  'vocabSize', 'nLayer', 'nHead', 'nEmbd', 'blockSize', 'dropout', 'bias', 'tieWordEmbeddings', 'layerNormEpsilon', 'activation',
  'nInner', 'positionEmbedding', 'ropeTheta', 'ropeScaling', 'attentionWindow', 'norm', 'attnScale', 'seed',
];

/**
 * Refuses a key of a model config object that names no field (`nEmbed` for nEmbd was ignored in
 * silence, leaving the default), with the nearest field when one is close, as the CLI's config check.
 * @throws ConfigError `<what>: unknown field "nEmbed" (did you mean nEmbd?)`.
 */
export function checkConfigKeys(c: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(c)) {
    if (known.includes(key)) continue;
    const hint = suggestField(key, known);
    throw new ConfigError(`${what}: unknown field "${key}" (${hint === null ? `fields: ${known.join(', ')}` : `did you mean ${hint}?`})`, [key]);
  }
}

/** Defaults filled in and every field validated. @throws ConfigError naming the field, or an unknown one. */
export function resolveGPTConfig(c: GPTConfig): ResolvedGPTConfig {
  if (typeof c !== 'object' || c === null) throw new ConfigError('GPT config must be an object');
  checkConfigKeys(c, GPT_CONFIG_KEYS, 'GPT config');
  const nEmbd = posInt(c.nEmbd, 'nEmbd'), nHead = posInt(c.nHead, 'nHead');
  if (nEmbd % nHead !== 0) throw new ConfigError(`nEmbd (${nEmbd}) must be divisible by nHead (${nHead})`, ['nHead']);
  const positionEmbedding = oneOf(c.positionEmbedding ?? 'learned', 'positionEmbedding', ['learned', 'rope'] as const);
  if (positionEmbedding === 'rope' && (nEmbd / nHead) % 2 !== 0) throw new ConfigError(`positionEmbedding 'rope' needs an even head size (nEmbd / nHead), got ${nEmbd / nHead}`, ['positionEmbedding']);
  const ropeTheta = c.ropeTheta === undefined ? 10000 : c.ropeTheta;
  if (typeof ropeTheta !== 'number' || !Number.isFinite(ropeTheta) || ropeTheta <= 1) throw new ConfigError(`ropeTheta must be a finite number > 1, got ${JSON.stringify(ropeTheta)}`, ['ropeTheta']);
  const ropeScaling = ropeScalingOf(c.ropeScaling);
  // (A resolved config holds the default ropeTheta whatever the positions, so only other values are refused.)
  if (positionEmbedding !== 'rope' && (ropeTheta !== 10000 || ropeScaling)) {
    const field = ropeTheta !== 10000 ? 'ropeTheta' : 'ropeScaling';
    throw new ConfigError(`${field} needs positionEmbedding 'rope', got '${positionEmbedding}'`, [field]);
  }
  const attentionWindow = c.attentionWindow === null || c.attentionWindow === undefined ? null : posInt(c.attentionWindow, 'attentionWindow');
  return {
    vocabSize: posInt(c.vocabSize, 'vocabSize'),
    nLayer: posInt(c.nLayer, 'nLayer'),
    nHead,
    nEmbd,
    blockSize: posInt(c.blockSize, 'blockSize'),
    dropout: prob(c.dropout ?? 0, 'dropout'),
    bias: bool(c.bias ?? true, 'bias'),
    tieWordEmbeddings: bool(c.tieWordEmbeddings ?? true, 'tieWordEmbeddings'),
    layerNormEpsilon: positive(c.layerNormEpsilon ?? 1e-5, 'layerNormEpsilon'),
    activation: checkActivation(c.activation ?? 'gelu', 'activation'),
    nInner: c.nInner === null || c.nInner === undefined ? 4 * nEmbd : posInt(c.nInner, 'nInner'),
    positionEmbedding,
    ropeTheta,
    ropeScaling,
    attentionWindow,
    norm: oneOf(c.norm ?? 'layernorm', 'norm', ['layernorm', 'rmsnorm'] as const),
    attnScale: c.attnScale === null || c.attnScale === undefined ? null : positive(c.attnScale, 'attnScale'),
    seed: c.seed === undefined ? 1337 : finite(c.seed, 'seed'),
  };
}

/**
 * A GPT config from snake_case JSON: Hugging Face GPT-2 `config.json` (`vocab_size`, `n_layer`,
 * `n_head`, `n_embd`, `n_positions`, `n_inner`, `activation_function`, `layer_norm_epsilon`,
 * `resid_pdrop`, `tie_word_embeddings`) or a bench config (`block_size`, `bias`, `dropout`,
 * `layernorm_eps`, `gelu: 'erf'|'tanh'`, `tie_lm_head`). camelCase keys are accepted as well.
 * @throws ConfigError naming the field for missing or invalid values, and for GPT-2 options this
 *   implementation does not support (`scale_attn_by_inverse_layer_idx`, `add_cross_attention`).
 */
export function gptConfigFromJson(j: Record<string, unknown>): ResolvedGPTConfig {
  const pick = (...keys: string[]): unknown => {
    for (const k of keys) if (j[k] !== undefined) return j[k];
    return undefined;
  };
  if (j.scale_attn_by_inverse_layer_idx === true) throw new ConfigError('scale_attn_by_inverse_layer_idx: true is not supported');
  if (j.add_cross_attention === true) throw new ConfigError('add_cross_attention: true is not supported by GPT (use EncoderDecoder)');
  let activation = pick('activation', 'activation_function');
  if (activation === undefined && j.gelu !== undefined) activation = j.gelu === 'tanh' ? 'gelu_new' : 'gelu';
  return resolveGPTConfig({
    vocabSize: pick('vocabSize', 'vocab_size') as number,
    nLayer: pick('nLayer', 'n_layer', 'num_hidden_layers') as number,
    nHead: pick('nHead', 'n_head', 'num_attention_heads') as number,
    nEmbd: pick('nEmbd', 'n_embd', 'hidden_size') as number,
    blockSize: pick('blockSize', 'block_size', 'n_positions', 'n_ctx', 'max_position_embeddings') as number,
    dropout: pick('dropout', 'resid_pdrop') as number | undefined,
    bias: pick('bias') as boolean | undefined,
    tieWordEmbeddings: pick('tieWordEmbeddings', 'tie_word_embeddings', 'tie_lm_head') as boolean | undefined,
    layerNormEpsilon: pick('layerNormEpsilon', 'layer_norm_epsilon', 'layernorm_eps') as number | undefined,
    activation: activation as Activation | undefined,
    nInner: (pick('nInner', 'n_inner') as number | null | undefined) ?? (typeof j.mlp_ratio === 'number' ? j.mlp_ratio * (pick('nEmbd', 'n_embd') as number) : undefined),
    // GPT-2's scale_attn_weights: false means raw q·k scores.
    attnScale: j.scale_attn_weights === false ? 1 : (pick('attnScale') as number | null | undefined),
    seed: pick('seed') as number | undefined,
    positionEmbedding: pick('positionEmbedding') as GPTConfig['positionEmbedding'],
    ropeTheta: pick('ropeTheta', 'rope_theta') as number | undefined,
    ropeScaling: pick('ropeScaling', 'rope_scaling') as GPTConfig['ropeScaling'],
    attentionWindow: pick('attentionWindow', 'sliding_window') as number | null | undefined,
  });
}
