/**
 * The tasks layer's slice of a training config: which task, the model and data blocks it builds from
 * (their schemas belong to models/ and data/), the objective, the batch sizes, label smoothing, the
 * seed and the generation settings. `train/config.ts` composes this slice with the trainer's own
 * fields into the one validated `TaskConfig`; a task needs only a {@link TaskConfig}.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { DataSchema } from '../data/config.js';
import { warmupProblem } from '../data/lm-warmup.js';
import { ModelSchema } from '../models/schema.js';
import { DistillationSchema } from './distillation.js';

const posInt = () => z.int().min(1);
/** The largest seed numpy's RandomState (Hugging Face's set_seed) takes. */
const MAX_SEED = 2 ** 32 - 1;

export const TASK_NAMES = ['lm', 'classification', 'seq2seq', 'extractive-qa'] as const;

/** Text generation settings (end-of-training sample and `generate`). */
export const GenerationSchema = z.strictObject({
  prompt: z.string().default('\n').describe('Text the end-of-training sample continues (lm)'),
  maxNewTokens: posInt().default(200).describe('Tokens generated for the sample'),
  /** 0 = greedy. */
  temperature: z.number().min(0).default(0.8).describe('Softmax temperature of the sample: > 0 (Hugging Face temperature; a large one flattens towards uniform), or 0 = greedy'),
  topK: z.int().min(0).optional().describe('Sample only among the k most likely tokens; 0 = no top-k filtering (Hugging Face top_k=0)'),
  topP: z.number().gt(0).max(1).optional().describe('Nucleus sampling: only the smallest set of tokens with probability >= p'),
  numBeams: posInt().default(1).describe('seq2seq: beams of the beam search for translations and validation BLEU (1 = greedy)'),
  lengthPenalty: z.number().default(1).describe('seq2seq: finished beams are ranked by log-probability / length^lengthPenalty (Hugging Face convention)'),
});

/** The fields of the task slice (spread into the training config's schema). */
export const taskConfigShape = {
  task: z.enum(TASK_NAMES).describe('What to train: lm (GPT), classification (encoder), seq2seq (encoder-decoder), extractive-qa (encoder)'),
  seed: z.int().refine((v) => v >= 0 && v <= MAX_SEED, { error: (iss) => `must be in [0, 2^32 - 1] = [0, ${MAX_SEED}] as Hugging Face's set_seed takes (got ${String(iss.input)})` }).default(42).describe('Seed of initialisation, dropout and data order; in [0, 2^32 - 1] as Hugging Face\'s set_seed (numpy) takes'),
  model: ModelSchema.prefault({}),
  data: DataSchema,
  /** Objective terms and weights, e.g. `{ "ce": 1, "zLoss": 1e-4 }`. */
  objective: z.record(z.string(), z.number().min(0)).default({ ce: 1 }).describe('Objective terms and weights, e.g. `{ "ce": 1, "zLoss": 1e-4 }`'),
  perDeviceTrainBatchSize: posInt().default(8).describe('Examples (lm: blocks of blockSize tokens) per training micro-batch'),
  groupByLength: z.boolean().default(false).describe('Training batches of examples of similar length (Hugging Face group_by_length): each shuffled epoch is cut into megabatches of 50 batches, sorted by length inside, then visited batch by batch in random order — less padding (seq2seq, classification)'),
  perDeviceEvalBatchSize: posInt().default(8).describe('Examples per evaluation batch'),
  labelSmoothingFactor: z.number().min(0).max(1).default(0).describe('Label smoothing of the cross-entropy, in [0, 1] as PyTorch\'s label_smoothing (0: none; 1: the uniform target)'),
  generation: GenerationSchema.prefault({}),
  /** Knowledge distillation from a teacher run (tasks/distillation.ts); absent: none. */
  distillation: DistillationSchema.optional().describe('Knowledge distillation: { teacher: <run folder>, temperature, alpha } adds the kd term (lm, classification)'),
  gradientCheckpointing: z.boolean().default(false).describe('Activation checkpointing (Hugging Face\'s gradient_checkpointing): each Transformer block keeps only its input and recomputes its activations in backward — less memory, about one more forward pass of time; gradients are the same bits'),
};

export const TaskConfigSchema = z.object(taskConfigShape);

/** What a task reads of a validated config (a `TaskConfig` is one). */
export type TaskConfig = z.infer<typeof TaskConfigSchema>;

/**
 * Checks between fields of the task slice that a schema cannot express.
 * @throws ConfigError naming the field.
 */
export function checkTaskConfig(c: TaskConfig): void {
  if (c.model.nEmbd % c.model.nHead !== 0) {
    throw new ConfigError(`model.nHead: must divide model.nEmbd (${c.model.nEmbd}) (got ${c.model.nHead})`, ['model', 'nHead']);
  }
  if (c.data.augment !== undefined && c.task !== 'classification') {
    // Only the classification task draws augmented examples; elsewhere the block would be ignored.
    throw new ConfigError(`data.augment: text augmentation applies to task classification (got task ${c.task})`, ['data', 'augment']);
  }
  const warmup = c.data.blockSizeWarmup;
  if (warmup !== undefined) {
    if (c.task !== 'lm') throw new ConfigError(`data.blockSizeWarmup: sequence-length warmup applies to task lm (got task ${c.task})`, ['data', 'blockSizeWarmup']);
    const problem = warmupProblem(c.data.blockSize, warmup);
    if (problem) throw new ConfigError(`data.blockSizeWarmup.start: ${problem}`, ['data', 'blockSizeWarmup', 'start']);
  }
  if (c.data.tokenizer.type === 'hf' && !c.data.tokenizer.path) {
    throw new ConfigError('data.tokenizer.path: is required for an hf tokenizer', ['data', 'tokenizer', 'path']);
  }
}
