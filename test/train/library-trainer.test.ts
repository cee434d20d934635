/**
 * The library Trainer (Hugging Face-style constructor) with user-made datasets: a classifier on a
 * generated iterable, computeMetrics checked against accuracy recomputed here from the model's own
 * predictions, a callback that observes every log line, and bad examples named by index.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncoderForSequenceClassification, GPT, Trainer, ValueError, noGrad, tensor, type TrainerCallback } from '../../src/index.js';

/** Label 1 when token 3 occurs in the sequence: a task a small encoder learns quickly. */
function* examples(n: number, seed: number): Generator<{ inputIds: number[]; label: number }> {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < n; i++) {
    const len = 3 + Math.floor(rnd() * 6);
    const ids = Array.from({ length: len }, () => 4 + Math.floor(rnd() * 8));
    const label = i % 2;
    if (label === 1) ids[Math.floor(rnd() * len)] = 3;
    yield { inputIds: ids, label };
  }
}

test('Trainer({ model, args, trainDataset: iterable, evalDataset, computeMetrics, callbacks }) trains a classifier', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-lib-'));
  try {
    const model = new EncoderForSequenceClassification({ vocabSize: 12, nLayer: 1, nHead: 2, nEmbd: 32, blockSize: 16, numLabels: 2, seed: 5 });
    const evalSet = [...examples(64, 99)];
    const logged: number[] = [];
    const observer: TrainerCallback = { onLog: (_t, rec) => { if (rec.split === 'train') logged.push(rec.step as number); } };
    let seen: { predictions: unknown; labelIds: unknown } | null = null;
    const trainer = new Trainer({
      model,
      args: { outputDir: dir, learningRate: 3e-3, per_device_train_batch_size: 16, max_steps: 60, logging_steps: 10, eval_steps: 30, seed: 1 },
      trainDataset: examples(256, 7),
      evalDataset: evalSet,
      computeMetrics: (p) => {
        seen = p;
        const pr = p.predictions as number[];
        return { accuracy: pr.filter((x, i) => x === (p.labelIds as number[])[i]).length / pr.length };
      },
      callbacks: [observer],
    });
    const r = await trainer.train();
    assert.equal(r.step, 60);
    assert.deepEqual(logged, [10, 20, 30, 40, 50, 60]);
    assert.ok(r.finalMetrics && r.finalMetrics.accuracy! > 0.9, `accuracy ${r.finalMetrics?.accuracy}`);
    assert.deepEqual((seen as unknown as { labelIds: number[] }).labelIds, evalSet.map((e) => e.label));
    // The accuracy reported equals the model's own predictions, recomputed here one example at a time.
    model.eval();
    const ok = noGrad(() => evalSet.filter((e) => {
      const logits = model.forward(tensor(Int32Array.from(e.inputIds), [1, e.inputIds.length])).data();
      return (logits[1]! > logits[0]! ? 1 : 0) === e.label;
    }).length);
    assert.equal(r.finalMetrics!.accuracy, ok / evalSet.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad examples and arguments are named: trainDataset[i], args fields', () => {
  const model = new GPT({ vocabSize: 8, nLayer: 1, nHead: 1, nEmbd: 8, blockSize: 8 });
  assert.throws(() => new Trainer({ model, trainDataset: [{ inputIds: [1, 2] }, { inputIds: [] }] }), (e: unknown) => e instanceof ValueError && /trainDataset\[1\]: inputIds is empty/.test(e.message));
  assert.throws(() => new Trainer({ model, trainDataset: [{ inputIds: [1, 2.5] }] }), /trainDataset\[0\]\.inputIds\[1\]: 2\.5 is not an int32 token id/);
  assert.throws(() => new Trainer({ model, args: { learning_rate: -1 }, trainDataset: [{ inputIds: [1, 2] }] }), /learningRate: must be > 0 \(got -1\)/);
});

test('library Trainer with a user dataset resumes exactly: checkpoint-4 copied to a new folder, a fresh model, 4 more steps', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-lib-resume-'));
  try {
    // Sequences of unequal lengths (3..10 tokens), a fixed pseudo-random stream.
    let s = 11;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const data = Array.from({ length: 30 }, () => ({ inputIds: Array.from({ length: 3 + Math.floor(rnd() * 8) }, () => Math.floor(rnd() * 10)) }));
    const evalData = data.slice(0, 6);
    const gpt = () => new GPT({ vocabSize: 10, nLayer: 1, nHead: 2, nEmbd: 16, blockSize: 16, dropout: 0.1, seed: 4 });
    const args = (outputDir: string) => ({ outputDir, learning_rate: 3e-3, per_device_train_batch_size: 4, gradient_accumulation_steps: 2, max_steps: 8, save_steps: 4, eval_steps: 4, logging_steps: 1, seed: 2 });
    const straight = join(dir, 'straight'), resumed = join(dir, 'resumed');
    const a = await new Trainer({ model: gpt(), args: args(straight), trainDataset: data, evalDataset: evalData }).train();
    // 30 examples / batch 4 = 8 batches per epoch, 2 per step: step 4 ends the first epoch, the resumed run reshuffles.
    cpSync(join(straight, 'checkpoint-4'), join(resumed, 'checkpoint-4'), { recursive: true });
    const b = await new Trainer({ model: gpt(), args: args(resumed), trainDataset: data, evalDataset: evalData, resume: true }).train();
    assert.equal(b.step, 8);
    const bytes = (d: string) => readFileSync(join(d, 'checkpoint-8', 'model.safetensors')).toString('base64');
    assert.equal(bytes(resumed), bytes(straight));
    assert.deepEqual(b.finalMetrics, a.finalMetrics);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing model, trainDataset or argument is one ValueError naming it, not a TypeError', () => {
  const model = new GPT({ vocabSize: 8, nLayer: 1, nHead: 1, nEmbd: 8, blockSize: 8 });
  const named = (re: RegExp) => (e: unknown) => e instanceof ValueError && re.test(e.message) && !e.message.includes('\n');
  // @ts-expect-error: the library user forgot the argument
  assert.throws(() => new Trainer(), named(/^Trainer requires a `model` and a `trainDataset`/));
  // @ts-expect-error: no model
  assert.throws(() => new Trainer({ args: { output_dir: '/tmp/x' }, trainDataset: [{ inputIds: [1, 2] }] }), named(/^Trainer requires a `model`/));
  // @ts-expect-error: no trainDataset
  assert.throws(() => new Trainer({ model, args: { output_dir: '/tmp/x' } }), named(/^Trainer: training requires a `trainDataset`/));
  // @ts-expect-error: not iterable
  assert.throws(() => new Trainer({ model, trainDataset: 5 }), named(/trainDataset must be an array or iterable of examples \(got number\)/));
});
