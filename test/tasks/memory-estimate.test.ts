// The up-front memory estimate for long contexts: the fused attention kernel keeps no [B, H, T, T]
// tensor, so a language model without dropout grows linearly in blockSize (quadratically with
// attention dropout, which takes the composed path); gradientCheckpointing keeps one [B, T, C] per
// block plus one block's activations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTrainingMemory, estimateTrainingMemory } from '../../src/tasks/memory-estimate.js';
import { parseConfig } from '../../src/train/config.js';

const lm = (blockSize: number, extra: Record<string, unknown> = {}, model: Record<string, unknown> = {}) => parseConfig({
  task: 'lm', data: { train: 'x.txt', blockSize }, perDeviceTrainBatchSize: 1,
  model: { nLayer: 4, nHead: 4, nEmbd: 256, ...model }, ...extra,
});
const bytes = (c: ReturnType<typeof lm>) => estimateTrainingMemory(c, 65).bytes;

test('lm without dropout: estimate linear in blockSize; with attention dropout: quadratic', () => {
  const lin = [2048, 4096, 6144, 8192].map((t) => bytes(lm(t)));
  assert.equal(lin[3] - lin[2], lin[1] - lin[0]);
  assert.equal(lin[2] - lin[1], lin[1] - lin[0]);
  const quad = [2048, 4096, 6144].map((t) => bytes(lm(t, {}, { dropout: 0.1 })));
  assert.ok(quad[2] - quad[1] > 1.5 * (quad[1] - quad[0]), `dropout: ${quad.join(', ')}`);
});

test('gradientCheckpointing lowers the estimate; 4 x 256 at blockSize 8192 fits 8 GB either way, 131072 only with it', () => {
  const plain = bytes(lm(8192)), ck = bytes(lm(8192, { gradientCheckpointing: true }));
  assert.ok(ck < plain / 2, `checkpointed ${ck}, plain ${plain}`);
  checkTrainingMemory(lm(8192, { gradientCheckpointing: true }), 65, 8e9);
  checkTrainingMemory(lm(131072, { gradientCheckpointing: true }), 65, 8e9);
  assert.throws(() => checkTrainingMemory(lm(131072), 65, 8e9), /data\.blockSize: 131072 needs about/);
});

const cls = (batch: number, distillation?: Record<string, unknown>) => parseConfig({
  task: 'classification', data: { train: 'x.jsonl', maxLength: 64 }, perDeviceTrainBatchSize: batch,
  model: { nLayer: 2, nHead: 4, nEmbd: 128 }, ...(distillation ? { distillation: { teacher: 'runs/t', ...distillation } } : {}),
});

test('a transfer set counts in the batch: 32 + 96 transfer texts estimate as a batch of 128; a huge transferBatchSize is named', () => {
  const est = (c: ReturnType<typeof cls>) => estimateTrainingMemory(c, 1000).bytes;
  assert.equal(est(cls(32, { transferData: 't.jsonl', transferBatchSize: 96 })), est(cls(128)));
  assert.equal(est(cls(32, { transferData: 't.jsonl' })), est(cls(64)));
  assert.equal(est(cls(32, { transferBatchSize: 96 })), est(cls(32)), 'no transferData: no transfer rows');
  assert.throws(() => checkTrainingMemory(cls(32, { transferData: 't.jsonl', transferBatchSize: 100_000 }), 1000, 8e9),
    /distillation\.transferBatchSize: 100000 (needs about|makes)/);
});

test("the teacher's forward on every batch (no cache) counts: hand count for a tiny teacher, and the check names the transfer batch", async () => {
  const { estimateTeacherMemory, checkTeacherMemory } = await import('../../src/tasks/memory-estimate.js');
  const student = cls(32, { transferData: 't.jsonl', transferBatchSize: 96 });
  const teacher = parseConfig({ task: 'classification', data: { train: 'x.jsonl', maxLength: 64 }, model: { nLayer: 1, nHead: 2, nEmbd: 8 } });
  // 1 block, C 8, H 2, inner 32, V 1000, 128 rows of 64 tokens: weights 1000·8 + (3·64 + 64 + 2·8·32);
  // per block 8·128·64·8 + 2·128·64·32 + 128·2·64·64 (attention probabilities); 4·128·64·8 outside the blocks.
  const floats = 1000 * 8 + (3 * 64 + 64 + 2 * 8 * 32) + (8 * 128 * 64 * 8 + 2 * 128 * 64 * 32 + 128 * 2 * 64 * 64) + 4 * 128 * 64 * 8;
  assert.equal(estimateTeacherMemory(student, teacher, 1000), 4 * floats);
  const own = estimateTrainingMemory(student, 1000).bytes;
  const both = own + estimateTeacherMemory(student, student, 1000);
  checkTrainingMemory(student, 1000, (own + both) / 2); // the student alone fits…
  assert.throws(() => checkTeacherMemory(student, student, 1000, (own + both) / 2), // …with a teacher of its size it does not
    /^ConfigError: distillation\.transferBatchSize: 96 needs about [\d.]+ GB for one training step, [\d.]+ GB of it the teacher's forward on the batch's 128 rows/);
  checkTeacherMemory(student, student, 1000, both + 1);
});
