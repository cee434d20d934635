/**
 * Gradient accumulation is normalised by counted targets (issue 19): micro-batches that hold
 * different numbers of counted targets (padding / ignoreIndex in seq2seq, examples in
 * classification) accumulate to the gradient of ONE batch holding all of them, and the logged loss
 * is that batch's mean over its counted targets. Checked through the real Trainer: one SGD step
 * (lr 1, no clipping, no decay) from the same initial weights, with gradientAccumulationSteps 2
 * over [A, B] against gradientAccumulationSteps 1 over A ∪ B. The old rule (each micro-batch's mean
 * divided by 2) weighs A's few targets like B's many and fails both checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collateClassification, collateSeq2Seq, IGNORE_INDEX } from '../../src/data/index.js';
import { setLogger, silentLogger } from '../../src/logger.js';
import { createTask, type Task } from '../../src/tasks/index.js';
import type { ClassificationTask } from '../../src/tasks/classification.js';
import type { Seq2SeqTask } from '../../src/tasks/seq2seq.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-accum-'));
setLogger(silentLogger);

function jsonl(name: string, rows: object[]): string {
  const p = join(dir, name);
  writeFileSync(p, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return p;
}

const common = {
  seed: 3, model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }, optim: 'sgd', learningRate: 1, lrSchedulerType: 'constant',
  maxGradNorm: 0, weightDecay: 0, maxSteps: 1, loggingSteps: 1, evalStrategy: 'no', saveStrategy: 'no', disableTqdm: true,
};

/** One optimizer step over the micro-batches `make` builds; the parameter change and the logged train line. */
async function stepDelta(cfg: Record<string, unknown>, name: string, nBatches: number, make: (task: Task) => unknown[]) {
  const config = parseConfig({ ...cfg, outputDir: join(dir, name), gradientAccumulationSteps: nBatches });
  const task = await createTask(config);
  const queue = make(task);
  const batches = [...queue];
  task.nextBatch = () => queue.shift();
  const before = [...task.model.namedParameters()].map(([, p]) => Float32Array.from(p.data() as Float32Array));
  const r = await new Trainer({ config, task }).train();
  assert.equal(r.step, 1);
  const delta = [...task.model.namedParameters()].map(([, p], i) => Float64Array.from(p.data() as Float32Array, (v, j) => v - before[i][j]));
  const line = readFileSync(r.metricsPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.split === 'train');
  return { delta, loss: line.loss as number, terms: line.terms as Record<string, number>, counts: batches.map((b) => task.countTargets(b)) };
}

/** max |a − b| over max |b|, over every parameter. */
function relDiff(a: Float64Array[], b: Float64Array[]): number {
  let num = 0, den = 0;
  a.forEach((x, i) => x.forEach((v, j) => { num = Math.max(num, Math.abs(v - b[i][j])); den = Math.max(den, Math.abs(b[i][j])); }));
  return num / den;
}

test('seq2seq: accumulating micro-batches with unequal target counts equals one big batch; logged loss is the token mean', async () => {
  // Targets of 1 character against targets of 14: 2 + 2 counted tokens (with EOS) against 15 + 15.
  const pairs = [{ src: 'ab', tgt: 'x' }, { src: 'ba', tgt: 'y' }, { src: 'abba', tgt: 'xyzzyxxyzzyxyz' }, { src: 'baab', tgt: 'zyxxyzzyxxyzyx' }];
  const data = jsonl('pairs.jsonl', pairs);
  const cfg = { ...common, task: 'seq2seq', data: { train: data, validation: data, maxLength: 16, maxTargetLength: 16 } };
  const collate = (task: Task, idx: number[]) => {
    const t = task as Seq2SeqTask; // with a validation file given, trainSet is the file in order
    return collateSeq2Seq(idx.map((i) => t.trainSet[i]), { padId: t.tokenizer.padId!, bosId: t.tokenizer.bosId!, eosId: t.tokenizer.eosId!, ignoreIndex: IGNORE_INDEX });
  };
  const accum = await stepDelta(cfg, 's2s-accum', 2, (t) => [collate(t, [0, 1]), collate(t, [2, 3])]);
  const big = await stepDelta(cfg, 's2s-big', 1, (t) => [collate(t, [0, 1, 2, 3])]);
  assert.deepEqual(accum.counts, [4, 30]);
  assert.deepEqual(big.counts, [34]);
  const d = relDiff(accum.delta, big.delta);
  assert.ok(d < 1e-4, `gradient of the accumulated step differs from the big batch's by ${d} (relative)`);
  assert.ok(Math.abs(accum.loss - big.loss) < 1e-5 * big.loss, `logged loss ${accum.loss} vs token mean ${big.loss}`);
  assert.ok(Math.abs(accum.terms.ce - big.terms.ce) < 1e-5 * big.terms.ce);
});

test('classification: micro-batches of 1 and 3 examples accumulate to the 4-example batch (examples are the targets)', async () => {
  const rows = [{ text: 'good fun', label: 'pos' }, { text: 'bad dull awful', label: 'neg' }, { text: 'fine', label: 'pos' }, { text: 'dull', label: 'neg' }];
  const data = jsonl('cls.jsonl', rows);
  const cfg = { ...common, task: 'classification', data: { train: data, validation: data, maxLength: 16 } };
  const collate = (task: Task, idx: number[]) => {
    const t = task as ClassificationTask;
    return collateClassification(idx.map((i) => t.trainSet[i]), { padId: t.tokenizer.padId!, maxLength: 16 });
  };
  const accum = await stepDelta(cfg, 'cls-accum', 2, (t) => [collate(t, [0]), collate(t, [1, 2, 3])]);
  const big = await stepDelta(cfg, 'cls-big', 1, (t) => [collate(t, [0, 1, 2, 3])]);
  assert.deepEqual(accum.counts, [1, 3]);
  const d = relDiff(accum.delta, big.delta);
  assert.ok(d < 1e-4, `gradient of the accumulated step differs from the big batch's by ${d} (relative)`);
  assert.ok(Math.abs(accum.loss - big.loss) < 1e-5 * big.loss, `logged loss ${accum.loss} vs example mean ${big.loss}`);
});
