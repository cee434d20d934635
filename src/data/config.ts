/**
 * The data layer's slice of a training config: the `data` block (where the examples come from and
 * how they become token ids) and its `tokenizer` block. Higher layers compose it into their own
 * schema (tasks → train); the fields are documented here, where they are used.
 */
import { z } from 'zod';

const posInt = () => z.int().min(1);

/** The `data.tokenizer` block (validated form of {@link TokenizerConfig}). */
export const TokenizerSchema = z.strictObject({
  type: z.enum(['char', 'gpt2', 'hf', 'word', 'bpe']).default('char').describe('Tokenizer: char, gpt2 (byte-level BPE), hf (a tokenizer.json), word, bpe (byte-level BPE learned from the training texts)'),
  vocabSize: posInt().optional().describe('bpe: vocabulary entries, 6 special tokens and 256 bytes included (default 8000)'),
  path: z.string().optional().describe('hf: path of tokenizer.json, or of a folder holding it (and tokenizer_config.json) as Hugging Face\'s from_pretrained reads (relative to the config file)'),
  configPath: z.string().optional().describe('hf: path of tokenizer_config.json, for its special tokens'),
  specialTokens: z.boolean().optional().describe('char / word: add [PAD], [UNK], [CLS], [SEP], [BOS], [EOS]'),
  minFrequency: posInt().optional().describe('word: leave out words seen fewer times'),
  maxVocabSize: posInt().optional().describe('word: keep at most this many most frequent words'),
  lowercase: z.boolean().optional().describe('word, bpe: lower-case the text first'),
  allowSpecial: z.boolean().optional().describe('gpt2: encode <|endoftext|> in the text as the special token'),
});

const alpha = (what: string) => z.number().min(0).max(1).default(0).describe(what);

/**
 * The `data.augment` block: text augmentation of the training examples (classification), drawn
 * afresh for every example each epoch from (seed, epoch, example index); validation data is never
 * augmented. EDA: Wei & Zou 2019 (their α_sr, α_ri, α_rs, p_rd and n_aug).
 */
export const AugmentSchema = z.strictObject({
  synonymReplacement: alpha('EDA α_sr: fraction of the words replaced by a WordNet synonym (0 = off; paper: 0.05-0.1)'),
  randomInsertion: alpha('EDA α_ri: fraction of the word count inserted as synonyms of random words (0 = off)'),
  randomSwap: alpha('EDA α_rs: fraction of the word count swapped in random pairs (0 = off)'),
  randomDeletion: alpha('EDA p_rd: probability of deleting each word (0 = off)'),
  numAug: z.int().min(1).default(4).describe('EDA n_aug: an example is used as is with probability 1/(1+numAug), else one augmentation (an enabled EDA operation or its back-translation) picked uniformly'),
  maskProb: alpha('Token masking: each non-special, unprotected token becomes [MASK] ([UNK] when the tokenizer has none) with this probability, on every training draw'),
  backTranslation: z.string().optional().describe('JSONL cache of paraphrases ({"text", "paraphrase"} lines) written by `trainformer back-translate`; a paraphrase is one more augmentation of its text'),
  protectedWords: z.array(z.string().min(1)).default([]).describe('Words (case-insensitive, punctuation around them ignored) never replaced, deleted, moved or masked'),
  protectedPattern: z.string().optional().describe('Regular expression (JavaScript): whitespace-separated words matching it are protected as protectedWords, e.g. "\\d" for numbers'),
});

/** A validated `data.augment` block. */
export type AugmentConfig = z.infer<typeof AugmentSchema>;

/** The `data` block. */
export const DataSchema = z.strictObject({
  /** lm: a UTF-8 text file; classification / seq2seq / extractive-qa: a JSONL file. */
  train: z.string().min(1).describe('lm: a UTF-8 text file; classification / seq2seq / extractive-qa: a JSONL file'),
  /** JSONL validation file; for lm, omitted means "the last valFraction of `train`". */
  validation: z.string().min(1).optional().describe('JSONL validation file; for lm, omitted means "the last valFraction of `train`"'),
  tokenizer: TokenizerSchema.prefault({}),
  /** lm: context length T of a training block. */
  blockSize: posInt().default(64).describe('lm: context length T of a training block'),
  /** lm: sequence-length warmup — shorter blocks (and more of them, same tokens) for the first batches. */
  blockSizeWarmup: z.strictObject({
    start: posInt().describe('Block size of the first stage: data.blockSize divided by a power of two >= 2'),
    batches: posInt().describe('Training batches (optimizer steps × gradientAccumulationSteps) until data.blockSize; split into log2(blockSize / start) equal stages at start, 2·start, …'),
  }).optional().describe('lm: sequence-length warmup (DeepSpeed\'s seqlen curriculum, doubling stages): the first batches use shorter blocks and proportionally more rows, the same tokens per batch; evaluation stays at blockSize'),
  /** lm: fraction of the text (its end) held out for validation when `validation` is absent. */
  valFraction: z.number().min(0).lt(1).default(0.1).describe('lm: fraction of the text (its end) held out for validation when `validation` is absent'),
  /** Skip and count malformed JSONL lines instead of stopping with `file:line`. */
  skipMalformed: z.boolean().default(false).describe('Skip and count malformed JSONL lines instead of stopping with `file:line`'),
  /** classification / seq2seq / QA: truncate sequences to this many tokens. */
  maxLength: posInt().default(128).describe('classification / seq2seq / QA: truncate sequences to this many tokens'),
  /** seq2seq: cap on target length. */
  maxTargetLength: posInt().default(64).describe('seq2seq: cap on target length'),
  /** extractive-qa: context tokens shared by consecutive windows of a long context (run_qa's doc_stride). */
  docStride: z.int().min(0).optional().describe('extractive-qa: context tokens shared by consecutive windows of a context longer than maxLength (Hugging Face run_qa doc_stride; default 128, or half the context room of a window when that is less)'),
  /**
   * classification: documents longer than maxLength are read in overlapping windows instead of
   * being truncated, and the windows' logits pooled into the document's (training, evaluation, predict).
   */
  longDocuments: z.strictObject({
    stride: z.int().min(0).describe('Tokens shared by consecutive windows (Hugging Face tokenizers\' stride with return_overflowing_tokens); below maxLength minus [CLS] and [SEP]'),
    pool: z.enum(['mean', 'max']).default('mean').describe('How the windows\' logits become the document\'s: their mean, or their elementwise max'),
  }).optional().describe('classification: read a text longer than maxLength in overlapping windows and pool their logits (mean or max) instead of truncating it'),
  /** extractive-qa: longest predicted answer, in tokens. */
  maxAnswerLength: posInt().default(30).describe('extractive-qa: longest predicted answer, in tokens'),
  /** extractive-qa: start and end candidates per window searched for the best span. */
  nBestSize: posInt().default(20).describe('extractive-qa: start and end candidates per window searched for the best span (run_qa n_best_size)'),
  textField: z.string().default('text').describe('JSONL field holding the input text'),
  labelField: z.string().default('label').describe('JSONL field holding the label (classification)'),
  srcField: z.string().default('src').describe('seq2seq: JSONL field holding the source text ("tgt" with tgtField "src" trains the reverse direction)'),
  tgtField: z.string().default('tgt').describe('seq2seq: JSONL field holding the target text'),
  augment: AugmentSchema.optional().describe('classification: text augmentation of the training examples (EDA, token masking, back-translation)'),
  /** Read at most this many examples per file (quick runs, tests). */
  limit: posInt().optional().describe('Read at most this many examples per file (quick runs, tests)'),
});

/** A validated `data` block with its defaults filled in. */
export type DataConfig = z.infer<typeof DataSchema>;
