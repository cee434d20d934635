/**
 * Up-front memory check of a training config (issue 19): a batch size of 1e9 or an `nEmbd` of 1e6
 * used to end in V8's "Invalid typed array length" (or the kernel's OOM killer) with no field named.
 * Before a model is built, the bytes of one training step are estimated from the config and the
 * vocabulary — parameters with their gradients and AdamW state (4 float32 copies), and the
 * activations a backward pass keeps (per block: the [B, T, C] inputs of the norms, attention and
 * feed-forward, the [B, H, T, T] attention probabilities on the unfused path, the [B, T, nInner]
 * hidden layer; with `gradientCheckpointing`, one [B, T, C] input per block plus one block's
 * activations) — and a config whose step cannot fit in this machine's memory, or whose largest
 * tensor exceeds a typed array's length, is a ConfigError naming the field that makes it so.
 * The estimate is rough (within a small factor); it only has to tell "fits" from "hopeless".
 */
import { totalmem } from 'node:os';
import { ConfigError } from '../errors.js';
import type { TaskConfig } from './config.js';

/** Largest float32 typed array V8 allocates (2^32 − 1 bytes' worth is past it on some builds; stay below 2^31 elements). */
const MAX_ELEMENTS = 2 ** 31 - 1;

interface Term { what: string; elements: number; field: string; value: number }

/** Bytes of one training step and its largest tensor, with the field that drives each term. */
export function estimateTrainingMemory(config: TaskConfig, vocabSize: number): { bytes: number; largest: Term; dominant: Term } {
  const m = config.model;
  const C = m.nEmbd, L = m.nLayer, H = m.nHead;
  const inner = m.nInner ?? 4 * C;
  // A classification transfer set adds its texts to every training batch (distillation.transferData).
  const d = config.distillation;
  const transfer = d?.transferData ? d.transferBatchSize ?? config.perDeviceTrainBatchSize : 0;
  const B = config.perDeviceTrainBatchSize + transfer;
  const batchField = transfer > config.perDeviceTrainBatchSize ? ['distillation.transferBatchSize', transfer] as const : ['perDeviceTrainBatchSize', B] as const;
  const Tn = config.task === 'lm' ? config.data.blockSize : config.data.maxLength;
  const tField = config.task === 'lm' ? 'data.blockSize' : 'data.maxLength';
  const V = Math.max(1, vocabSize);
  const ffnFieldValue = m.nInner !== undefined && m.nInner >= 4 * C ? ['model.nInner', m.nInner] as const : ['model.nEmbd', C] as const;
  const byBatchOrT = (B >= Tn ? batchField : [tField, Tn]) as readonly [string, number];
  // The fused attention kernel keeps O(T) per row; the [B, H, T, T] probabilities exist only on the
  // composed path: attention dropout in training, or the key-padding masks of the encoder tasks.
  const composed = config.task !== 'lm' || m.dropout > 0;
  const probs = composed ? B * H * Tn * Tn : 0;
  const terms: Term[] = [
    { what: `the token embedding [${V}, ${C}]`, elements: V * C, field: 'model.nEmbd', value: C },
    { what: `a feed-forward weight [${C}, ${inner}]`, elements: C * inner, field: ffnFieldValue[0], value: ffnFieldValue[1] },
    { what: `the attention weights [${C}, ${3 * C}]`, elements: 3 * C * C, field: 'model.nEmbd', value: C },
    { what: `the activations [B, T, C] = [${B}, ${Tn}, ${C}]`, elements: B * Tn * C, field: byBatchOrT[0], value: byBatchOrT[1] },
    { what: `the feed-forward activations [${B}, ${Tn}, ${inner}]`, elements: B * Tn * inner, field: byBatchOrT[0], value: byBatchOrT[1] },
  ];
  if (composed) terms.push({ what: `the attention probabilities [${B}, ${H}, ${Tn}, ${Tn}]`, elements: probs, field: byBatchOrT[0], value: byBatchOrT[1] });
  const params = V * C + L * (3 * C * C + C * C + 2 * C * inner);
  const perBlock = 8 * B * Tn * C + 2 * B * Tn * inner + probs;
  // Checkpointed blocks keep their [B, T, C] input; one block's activations exist at a time (its recomputation).
  const activations = (config.gradientCheckpointing ? L * B * Tn * C + perBlock : L * perBlock) + 4 * B * Tn * C;
  const bytes = 4 * (4 * params + activations);
  const largest = terms.reduce((a, b) => (b.elements > a.elements ? b : a));
  const paramTerm = terms[1].elements * L > terms[0].elements ? terms[1] : terms[0];
  const actTerm = terms[3];
  const dominant = 4 * params >= activations ? (params === V * C ? terms[0] : paramTerm) : actTerm;
  return { bytes, largest, dominant };
}

function gb(bytes: number): string {
  const g = bytes / 1e9;
  return g >= 1000 ? g.toExponential(1) : g >= 10 ? g.toFixed(0) : g.toFixed(1);
}

/** Bytes a training step may use: `TRAINFORMER_MAX_MEMORY` (bytes) when set, else this machine's memory. */
export function memoryLimit(): number {
  const env = Number(process.env.TRAINFORMER_MAX_MEMORY);
  return Number.isFinite(env) && env > 0 ? env : totalmem();
}

/**
 * @param available bytes the step may use (default: {@link memoryLimit}).
 * @throws ConfigError naming the field when one training step cannot fit.
 */
export function checkTrainingMemory(config: TaskConfig, vocabSize: number, available = memoryLimit()): void {
  const { bytes, largest, dominant } = estimateTrainingMemory(config, vocabSize);
  if (largest.elements > MAX_ELEMENTS) {
    throw new ConfigError(`${largest.field}: ${largest.value} makes ${largest.what} ${largest.elements.toExponential(2)} floats, more than one array can hold (${MAX_ELEMENTS}); ` +
      `one training step would need about ${gb(bytes)} GB`, largest.field.split('.'));
  }
  if (bytes > available) {
    throw new ConfigError(`${dominant.field}: ${dominant.value} needs about ${gb(bytes)} GB for one training step (mostly ${dominant.what}), more than ${process.env.TRAINFORMER_MAX_MEMORY ? 'TRAINFORMER_MAX_MEMORY' : "this machine's"} ${gb(available)} GB`, dominant.field.split('.'));
  }
}

/**
 * Bytes of the teacher's share of a distillation step when it runs on every training batch (lm, or
 * classification without the teacher-logit cache): its float32 weights, and the activations of all
 * its blocks for the batch's rows (labelled + transfer) — computed without gradients but inside the
 * step, so they are returned to the pool only when it ends — plus, for lm, its [B·T, V] logits.
 * The teacher runs in eval mode (no dropout); an encoder's key-padding mask takes the composed
 * attention path with its [B, H, T, T] probabilities.
 * @param student the run's config (batch, transfer rows and sequence length come from it).
 * @param teacher the teacher's config (its model's sizes).
 */
export function estimateTeacherMemory(student: TaskConfig, teacher: TaskConfig, vocabSize: number): number {
  const m = teacher.model;
  const C = m.nEmbd, L = m.nLayer, H = m.nHead, inner = m.nInner ?? 4 * C, V = Math.max(1, vocabSize);
  const d = student.distillation;
  const rows = student.perDeviceTrainBatchSize + (d?.transferData ? d.transferBatchSize ?? student.perDeviceTrainBatchSize : 0);
  const Tn = student.task === 'lm' ? student.data.blockSize : student.data.maxLength;
  const probs = student.task !== 'lm' ? rows * H * Tn * Tn : 0;
  const params = V * C + L * (3 * C * C + C * C + 2 * C * inner);
  const perBlock = 8 * rows * Tn * C + 2 * rows * Tn * inner + probs;
  const logits = student.task === 'lm' ? rows * Tn * V : 0;
  return 4 * (params + L * perBlock + 4 * rows * Tn * C + logits);
}

/**
 * The up-front check with the teacher's forward counted (see {@link estimateTeacherMemory}).
 * @param available bytes the step may use (default: {@link memoryLimit}).
 * @throws ConfigError naming the batch field (distillation.transferBatchSize when the transfer rows
 *   are the larger part, else perDeviceTrainBatchSize) when student and teacher cannot fit together.
 */
export function checkTeacherMemory(student: TaskConfig, teacher: TaskConfig, vocabSize: number, available = memoryLimit()): void {
  const own = estimateTrainingMemory(student, vocabSize).bytes;
  const t = estimateTeacherMemory(student, teacher, vocabSize);
  if (own + t <= available) return;
  const d = student.distillation;
  const transfer = d?.transferData ? d.transferBatchSize ?? student.perDeviceTrainBatchSize : 0;
  const [field, value] = transfer > student.perDeviceTrainBatchSize ? ['distillation.transferBatchSize', transfer] : ['perDeviceTrainBatchSize', student.perDeviceTrainBatchSize];
  throw new ConfigError(`${field}: ${value} needs about ${gb(own + t)} GB for one training step, ${gb(t)} GB of it the teacher's forward on the batch's ${student.perDeviceTrainBatchSize + transfer} rows, ` +
    `more than ${process.env.TRAINFORMER_MAX_MEMORY ? 'TRAINFORMER_MAX_MEMORY' : "this machine's"} ${gb(available)} GB`, field.split('.'));
}
