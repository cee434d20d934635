/**
 * The data layer's slice of a training config: the `data` block (where the examples come from and
 * how they become token ids) and its `tokenizer` block. Higher layers compose it into their own
 * schema (tasks → train); the fields are documented here, where they are used.
 */
import { z } from 'zod';

const posInt = () => z.int().min(1);

/** The `data.tokenizer` block (validated form of {@link TokenizerConfig}). */
export const TokenizerSchema = z.strictObject({
  type: z.enum(['char', 'gpt2', 'hf', 'word']).default('char'),
  path: z.string().optional(),
  configPath: z.string().optional(),
  specialTokens: z.boolean().optional(),
  minFrequency: posInt().optional(),
  maxVocabSize: posInt().optional(),
  lowercase: z.boolean().optional(),
  allowSpecial: z.boolean().optional(),
});

/** The `data` block. */
export const DataSchema = z.strictObject({
  /** lm: a UTF-8 text file; classification / seq2seq / extractive-qa: a JSONL file. */
  train: z.string().min(1),
  /** JSONL validation file; for lm, omitted means "the last valFraction of `train`". */
  validation: z.string().min(1).optional(),
  tokenizer: TokenizerSchema.prefault({}),
  /** lm: context length T of a training block. */
  blockSize: posInt().default(64),
  /** lm: fraction of the text (its end) held out for validation when `validation` is absent. */
  valFraction: z.number().min(0).lt(1).default(0.1),
  /** Skip and count malformed JSONL lines instead of stopping with `file:line`. */
  skipMalformed: z.boolean().default(false),
  /** classification / seq2seq / QA: truncate sequences to this many tokens. */
  maxLength: posInt().default(128),
  /** seq2seq: cap on target length. */
  maxTargetLength: posInt().default(64),
  textField: z.string().default('text'),
  labelField: z.string().default('label'),
  /** Read at most this many examples per file (quick runs, tests). */
  limit: posInt().optional(),
});

/** A validated `data` block with its defaults filled in. */
export type DataConfig = z.infer<typeof DataSchema>;
