/**
 * Knowledge distillation in the tasks layer (issue 15): the config block, how alpha mixes the `kd`
 * term with the label loss, and what a task is given to distil from.
 *
 *   "distillation": { "teacher": "runs/teacher", "temperature": 2, "alpha": 0.5 }
 *
 * The objective becomes (1 − alpha) · (the config's `ce` weight) · ce + alpha · kd (+ the other
 * terms unchanged), kd = T² · KL(softmax(teacher/T) ‖ softmax(student/T)) per counted target
 * (losses/distillation.ts). The teacher folder is read by train/teacher.ts (the run-folder files
 * belong to train/); a task receives a {@link TeacherSpec} through `Task.setTeacher`.
 *
 * Transfer set (classification, `transferData`): unlabelled in-domain texts appended to every
 * training batch (`transferBatchSize` of them, drawn by data/transfer-texts.ts). On such a batch
 * ce is the mean over the labelled rows only and kd the mean over all rows, labelled and transfer:
 * total = (1 − alpha) · ce_labelled + alpha · kd_all.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';

/** The `distillation` block of a config. */
export const DistillationSchema = z.strictObject({
  teacher: z.string().min(1).describe('Run folder (or checkpoint) of a trained model of the same task and tokenizer: the teacher, run in eval mode without gradients'),
  temperature: z.number().gt(0).default(2).describe('Softmax temperature T of both teacher and student in the kd term (Hinton et al. 2015); the term is scaled by T²'),
  alpha: z.number().min(0).max(1).default(0.5).describe('Weight of the kd term; the label loss (ce) gets 1 - alpha'),
  cache: z.boolean().optional().describe('classification: compute the teacher\'s logits of the training set once and keep them in cacheFile (default true; lm: not available, blocks are drawn at random offsets)'),
  cacheFile: z.string().min(1).optional().describe('Where the teacher-logit cache is kept (safetensors; default <outputDir>/teacher-logits.safetensors); rewritten when the teacher or the data change'),
  cacheTopK: z.int().min(1).optional().describe('Keep only each example\'s k largest teacher logits in the cache (large vocabularies); the teacher distribution is then renormalised over those k'),
  transferData: z.string().min(1).optional().describe('classification: a JSONL file of {"text"} lines (labels ignored if present), the transfer set (Hinton et al. 2015): each training step adds transferBatchSize of its texts to the labelled batch, and they get the kd term only (no ce). The steps and the labelled batches are unchanged'),
  transferBatchSize: z.int().min(1).optional().describe('Transfer-set texts added to each training step\'s batch (default perDeviceTrainBatchSize)'),
});

export type DistillationConfig = z.infer<typeof DistillationSchema>;

/**
 * The objective weights with distillation: ce scaled by (1 − alpha), kd = alpha.
 * @throws ConfigError for `objective.kd` given by hand (alpha sets it) or without a distillation block.
 */
export function distillationWeights(objective: Record<string, number>, d: DistillationConfig | undefined): Record<string, number> {
  if (!d) {
    if ('kd' in objective) throw new ConfigError('objective.kd: needs a distillation block ({ "teacher": <run folder>, "temperature", "alpha" })');
    return objective;
  }
  if ('kd' in objective) throw new ConfigError('objective.kd: set by distillation.alpha; remove objective.kd');
  return { ...objective, ce: (objective.ce ?? 0) * (1 - d.alpha), kd: d.alpha };
}

/** What a task distils from (built by train/teacher.ts from the teacher folder). */
export interface TeacherSpec {
  /** The teacher model, built by the task's own builder (buildClassifier / buildGpt), weights loaded, in eval mode. */
  model: unknown;
  /** The teacher folder (for messages). */
  dir: string;
  /** sha256 of the teacher's model.safetensors: part of the cache key. */
  weightsSha256: string;
  temperature: number;
  /** Absent: no cache (logits computed every step). */
  cacheFile?: string;
  cacheTopK?: number;
}
