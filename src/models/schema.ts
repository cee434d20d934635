/**
 * The models layer's slice of a training config: the `model` block (architecture and sizes shared by
 * GPT, the encoders and the encoder-decoder). Fields past the common sizes (`activation`, `norm`,
 * `positionEmbedding`, `nEncoderLayer`, …) pass through to the model constructor, which checks the
 * combination. A field the schema does not name is an error (issue 19: `nLayers` used to train the
 * default model in silence), with the nearest name suggested (models/config-suggest.ts).
 */
import { z } from 'zod';
import { ACTIVATIONS, type Activation } from '../nn/activation.js';

const posInt = () => z.int().min(1);
const prob = () => z.number().min(0).max(1);

/** The `model` block. */
export const ModelSchema = z.strictObject({
  /** Number of blocks (layers). */
  nLayer: posInt().default(4).describe('Number of blocks (layers)'),
  /** Attention heads; must divide nEmbd. */
  nHead: posInt().default(4).describe('Attention heads; must divide nEmbd'),
  /** Width C. */
  nEmbd: posInt().default(128).describe('Width C'),
  /** Feed-forward width; default 4·nEmbd. */
  nInner: posInt().optional().describe('Feed-forward width; default 4·nEmbd'),
  dropout: prob().default(0).describe('Dropout probability (embeddings, attention, MLP)'),
  /** Linear / LayerNorm biases. */
  bias: z.boolean().default(true).describe('Linear / LayerNorm biases'),
  /** Positions the model can see; default: data.blockSize (lm) or data.maxLength. */
  maxPositions: posInt().optional().describe('Positions the model can see; default: data.blockSize (lm) or data.maxLength'),
  /** Tie the LM head to the token embedding (GPT). */
  tieWordEmbeddings: z.boolean().default(true).describe('Tie the LM head to the token embedding (GPT)'),
  /**
   * lm: a Hugging Face GPT-2 folder (config.json + model.safetensors or model.safetensors.index.json)
   * whose weights start the run and whose tokenizer (tokenizer.json, or vocab.json + merges.txt) it uses;
   * the architecture fields come from its config.json.
   */
  vocabSize: posInt().optional().describe('lm: embedding rows V; default the tokenizer\'s vocabulary size (written from a pretrained folder\'s config)'),
  fromPretrained: z.string().min(1).optional().describe('lm: a Hugging Face GPT-2 folder (config.json + model.safetensors or model.safetensors.index.json) whose weights start the run and whose tokenizer.json (or vocab.json + merges.txt) it uses'),
  /** Encoder tasks: how the sequence is pooled for the classification head. */
  pooling: z.enum(['cls', 'mean']).default('mean').describe('Encoder tasks: how the sequence is pooled for the classification head'),
  activation: z.enum(ACTIVATIONS as unknown as [Activation, ...Activation[]]).optional().describe('Feed-forward activation (default gelu); swiglu / geglu are gated'),
  norm: z.enum(['layernorm', 'rmsnorm']).optional().describe('Normalisation layer (default layernorm)'),
  normPosition: z.enum(['pre', 'post']).optional().describe('Encoder / encoder-decoder: norm before (pre) or after (post) each sub-layer'),
  layerNormEpsilon: z.number().gt(0).optional().describe('Epsilon of the norm layers (default 1e-5)'),
  positionEmbedding: z.enum(['learned', 'rope', 'sinusoidal']).optional().describe('Positions: learned table, rope (GPT) or sinusoidal (encoder-decoder)'),
  attnScale: z.number().gt(0).nullable().optional().describe('Attention logit scale; default 1/sqrt(head size)'),
  ropeTheta: z.number().gt(1).optional().describe('GPT with positionEmbedding rope: the RoPE base θ (HF rope_theta); default 10000'),
  ropeScaling: z.strictObject({
    type: z.literal('linear').describe('Interpolation kind: linear (positions divided by factor)'),
    factor: z.number().min(1).describe('Context extension factor (>= 1)'),
  }).nullable().optional()
    .describe('GPT with positionEmbedding rope: position interpolation { type: "linear", factor } (HF rope_scaling): positions divided by factor, to extend a trained context'),
  attentionWindow: posInt().nullable().optional().describe('GPT: sliding-window attention (Mistral sliding_window): each token sees itself and the window - 1 tokens before it; default the whole context'),
  nEncoderLayer: posInt().optional().describe('seq2seq: encoder blocks (default nLayer)'),
  nDecoderLayer: posInt().optional().describe('seq2seq: decoder blocks (default nLayer)'),
  /** classification: the number of classes; a label outside it is an error (default: the labels seen). */
  numLabels: z.int().min(2).optional().describe('classification: number of classes (integer labels 0..numLabels-1); a label outside is an error naming file:line; default: the labels seen'),
});

/** A validated `model` block with its defaults filled in. */
export type ModelBlockConfig = z.infer<typeof ModelSchema>;
