/**
 * The models layer's slice of a training config: the `model` block (architecture and sizes shared by
 * GPT, the encoders and the encoder-decoder). Keys the schema does not name pass through to the model
 * constructor (e.g. `activation`, `norm`, `positionEmbedding`, `nEncoderLayer`).
 */
import { z } from 'zod';

const posInt = () => z.int().min(1);
const prob = () => z.number().min(0).max(1);

/** The `model` block. */
export const ModelSchema = z.looseObject({
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
  /** Encoder tasks: how the sequence is pooled for the classification head. */
  pooling: z.enum(['cls', 'mean']).default('mean').describe('Encoder tasks: how the sequence is pooled for the classification head'),
});

/** A validated `model` block with its defaults filled in. */
export type ModelBlockConfig = z.infer<typeof ModelSchema>;
