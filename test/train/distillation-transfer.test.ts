// Distillation with a transfer set (distillation.transferData, issue 15): the loss of a batch mixing
// labelled rows and transfer rows (label ignoreIndex) against a float64 hand computation, the
// seeded transfer order, the student run through the Trainer (batch makeup, cache rows, terms,
// reproducibility) and one-line errors for a bad transfer file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transferIndices } from '../../src/data/index.js';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { readSafetensorsFile } from '../../src/io/safetensors.js';
import { createTask } from '../../src/tasks/index.js';
import type { ClassificationTask } from '../../src/tasks/classification.js';
import { classObjective } from '../../src/tasks/objective.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { classificationConfig, metricLines, trainRun } from './distillation-fixture.js';
import * as T from '../../src/tensor/index.js';

// log-softmax of one row in float64.
function logSoftmax(row: number[]): number[] {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
  return row.map((x) => x - lse);
}

test('mixed batch: total = (1 − α)·mean ce over labelled rows + α·T²·mean KL over all rows; transfer rows get only the kd gradient', () => {
  const s = [[1.0, -0.5, 0.3], [0.2, 0.1, -1.2], [-0.7, 0.9, 0.4], [2.0, -1.0, 0.5]];
  const t = [[0.5, 0.5, -1.0], [-0.3, 1.2, 0.0], [1.5, -0.2, 0.3], [0.0, 0.0, 2.5]];
  const target = [0, 2, -100, -100]; // rows 2 and 3: transfer texts, no label
  const temp = 2, alpha = 0.3;
  // Hand computation (float64).
  const ce = (-logSoftmax(s[0])[0] - logSoftmax(s[1])[2]) / 2;
  let kl = 0;
  const q: number[][] = [], p: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const lq = logSoftmax(s[i].map((x) => x / temp)), lp = logSoftmax(t[i].map((x) => x / temp));
    q.push(lq.map(Math.exp)); p.push(lp.map(Math.exp));
    for (let j = 0; j < 3; j++) kl += p[i][j] * (lp[j] - lq[j]);
  }
  const kd = (temp * temp * kl) / 4;
  const want = (1 - alpha) * ce + alpha * kd;

  const logits = T.tensor(Float32Array.from(s.flat()), [4, 3]).requiresGrad_();
  const out = classObjective(logits, T.tensor(Int32Array.from(target), [4], 'int32'), { ce: 1 - alpha, kd: alpha }, {
    teacher: { logits: T.tensor(Float32Array.from(t.flat()), [4, 3]) }, temperature: temp, kdAllRows: true,
  });
  assert.ok(Math.abs(out.terms.ce - ce) < 1e-5, `ce ${out.terms.ce} vs ${ce}`);
  assert.ok(Math.abs(out.terms.kd - kd) < 1e-5, `kd ${out.terms.kd} vs ${kd}`);
  assert.ok(Math.abs(out.loss.item() - want) < 1e-5, `total ${out.loss.item()} vs ${want}`);
  T.backward(out.loss);
  // d kd / d s_i = T²·(1/N)·(q_i − p_i)/T; a transfer row has no ce part.
  const g = logits.grad!.data();
  for (const i of [2, 3]) {
    for (let j = 0; j < 3; j++) {
      const w = alpha * temp * (q[i][j] - p[i][j]) / 4;
      assert.ok(Math.abs(g[i * 3 + j] - w) < 1e-6, `row ${i} class ${j}: ${g[i * 3 + j]} vs ${w}`);
    }
  }
  // Without kdAllRows the transfer rows would drop out of kd too (lm padding semantics): a different value.
  const padded = classObjective(T.tensor(Float32Array.from(s.flat()), [4, 3]), T.tensor(Int32Array.from(target), [4], 'int32'), { kd: 1 }, {
    teacher: { logits: T.tensor(Float32Array.from(t.flat()), [4, 3]) }, temperature: temp,
  });
  assert.ok(Math.abs(padded.terms.kd - kd) > 1e-3);
});

test('transferIndices: each text once per pass over the set, the same for the same (seed, step), wraps when b > m', () => {
  const m = 10, b = 4;
  const seq = Array.from({ length: 5 }, (_, step) => Array.from(transferIndices(m, b, 7, step))).flat(); // 20 = two passes
  for (const pass of [seq.slice(0, 10), seq.slice(10, 20)]) assert.deepEqual([...pass].sort((x, y) => x - y), [...Array(10).keys()]);
  assert.notDeepEqual(seq.slice(0, 10), seq.slice(10, 20)); // a new permutation each pass
  assert.deepEqual(transferIndices(m, b, 7, 3), transferIndices(m, b, 7, 3));
  assert.notDeepEqual(Array.from(transferIndices(m, b, 8, 0)), Array.from(transferIndices(m, b, 7, 0)));
  const wide = Array.from(transferIndices(3, 7, 1, 0));
  assert.equal(wide.length, 7);
  assert.deepEqual([...wide.slice(0, 3)].sort(), [0, 1, 2]);
  assert.throws(() => transferIndices(0, 4, 1, 0), RangeError);
});

const dir = mkdtempSync(join(tmpdir(), 'tf-transfer-'));
const words = ['apple', 'river', 'stone', 'cloud', 'green', 'table', 'music', 'light'];
function line(i: number, withLabel = true): string {
  const pos = i % 2 === 0;
  const filler = [words[i % 8], words[(i * 3) % 8], words[(i * 5 + 1) % 8]];
  filler.splice(i % 3, 0, pos ? 'good' : 'bad');
  return JSON.stringify(withLabel ? { text: filler.join(' '), label: pos ? 'pos' : 'neg' } : { text: filler.join(' ') });
}
writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 32 }, (_, i) => line(i)).join('\n') + '\n');
writeFileSync(join(dir, 'valid.jsonl'), Array.from({ length: 16 }, (_, i) => line(i + 1000)).join('\n') + '\n');
// 20 transfer texts, half with a label field (ignored).
writeFileSync(join(dir, 'transfer.jsonl'), Array.from({ length: 20 }, (_, i) => line(i + 100, i % 2 === 0)).join('\n') + '\n');

const cls = classificationConfig(dir, 8);
const lines = metricLines;
const train = trainRun;
const teacherDir = join(dir, 'teacher');
const ready = train(cls({ outputDir: teacherDir, model: { nLayer: 1, nHead: 2, nEmbd: 24, dropout: 0, pooling: 'mean' } }));

test('student with a transfer set: labelled + transfer rows per batch, steps unchanged, cache covers both, loss = mixture, reproducible', async () => {
  await ready;
  const d = { teacher: teacherDir, temperature: 2, alpha: 0.5, transferData: join(dir, 'transfer.jsonl'), transferBatchSize: 5 };
  const probe = (await createTask(cls({ outputDir: join(dir, 'probe'), distillation: d }))) as ClassificationTask;
  assert.equal(probe.transferSet.length, 20);
  const b = probe.nextBatch();
  assert.equal(b.labels.length, 13);
  assert.deepEqual(Array.from(b.labels).slice(8), [-100, -100, -100, -100, -100]);
  assert.ok(Array.from(b.labels).slice(0, 8).every((l) => l === 0 || l === 1));

  const runs = [join(dir, 'st1'), join(dir, 'st2')];
  for (const r of runs) await train(cls({ outputDir: r, distillation: d }));
  const [a, c] = runs.map((r) => lines(r).filter((l) => l.split === 'train'));
  assert.equal(a.length, 8); // 32 labelled examples / 8 × 2 epochs: the steps of the student alone
  for (const l of a) {
    assert.ok(l.terms.ce > 0 && l.terms.kd > 0);
    assert.ok(Math.abs(l.loss - (0.5 * l.terms.ce + 0.5 * l.terms.kd)) < 1e-5, JSON.stringify(l));
  }
  assert.deepEqual(a.map((l) => [l.loss, l.terms.ce, l.terms.kd]), c.map((l) => [l.loss, l.terms.ce, l.terms.kd]));
  assert.deepEqual(readSafetensorsFile(join(runs[0], 'teacher-logits.safetensors')).tensors.logits.shape, [32 + 20, 2]);
  // A run without the transfer set differs (the transfer rows change the kd term).
  await train(cls({ outputDir: join(dir, 'st0'), distillation: { teacher: teacherDir, temperature: 2, alpha: 0.5 } }));
  assert.notEqual(lines(join(dir, 'st0')).filter((l) => l.split === 'train')[0].terms.kd, a[0].terms.kd);
});

test('a bad transfer file is one line naming the file (and line); lm refuses a transfer set', async () => {
  await ready;
  writeFileSync(join(dir, 'empty.jsonl'), '\n');
  writeFileSync(join(dir, 'notext.jsonl'), `${line(1, false)}\n{"label": "pos"}\n`);
  const fails = async (file: string, re: RegExp) => {
    await assert.rejects(createTask(cls({ outputDir: join(dir, 'bad'), distillation: { teacher: teacherDir, transferData: file } })),
      (e: Error) => (e instanceof FileFormatError || e instanceof ConfigError) && re.test(e.message) && !e.message.includes('\n'));
  };
  await fails(join(dir, 'nowhere.jsonl'), /distillation\.transferData: \S*nowhere\.jsonl: no such file$/);
  await fails(join(dir, 'empty.jsonl'), /empty\.jsonl: no texts \(distillation\.transferData must hold/);
  await fails(join(dir, 'notext.jsonl'), /notext\.jsonl:2: field "text" is missing$/);
  const lm = parseConfig({
    task: 'lm', outputDir: join(dir, 'lm'), data: { train: join(dir, 'valid.jsonl'), tokenizer: { type: 'char' }, blockSize: 8 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16 }, maxSteps: 2, disableTqdm: true, distillation: { teacher: teacherDir, transferData: join(dir, 'transfer.jsonl') },
  });
  await assert.rejects(createTask(lm), /distillation\.transferData: classification only/);
});
