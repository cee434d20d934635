/** Neural-network layers: Module, Parameter, layers, attention, blocks, positional encodings, init. */
export { Module, ModuleList, parameter, StateDictError, type Parameter, type StateValue, type LoadStateDictOptions, type LoadStateDictResult } from './module.js';
export { linear, rmsNorm, batchNorm1d, type BatchNormOptions } from './functional.js';
export { Linear, Embedding, type LinearOptions } from './linear.js';
export { LayerNorm, RMSNorm, BatchNorm1d, type BatchNorm1dOptions } from './norm.js';
export { Dropout } from './dropout.js';
export { type Activation, ACTIVATIONS, applyActivation, checkActivation, isGated } from './activation.js';
export { LearnedPositionalEmbedding, SinusoidalPositionalEncoding, RotaryEmbedding } from './positional.js';
export { MultiHeadAttention, MASK_FILL, causalMask, keyPaddingFromAttentionMask, type MultiHeadAttentionOptions, type AttentionCallOptions, type KVCache } from './attention.js';
export { FeedForward, type FeedForwardOptions } from './feedforward.js';
export { TransformerBlock, makeNorm, type NormKind, type TransformerBlockOptions, type BlockCallOptions } from './block.js';
export { initGPT2, noInit, initSkipped, type InitOptions } from './init.js';
