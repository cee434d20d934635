// Distillation through the Trainer: a teacher run, a student with `distillation`, the kd and ce
// terms and objective attribution in metrics.jsonl, the teacher-logit cache (its content, reuse and
// invalidation), and one-line errors for a teacher that does not fit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collateClassification, sequentialBatches } from '../../src/data/index.js';
import { ConfigError } from '../../src/errors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../../src/io/safetensors.js';
import { createTask } from '../../src/tasks/index.js';
import type { ClassificationTask } from '../../src/tasks/classification.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { classificationConfig, metricLines, trainRun } from './distillation-fixture.js';
import * as T from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-distill-'));
const words = ['apple', 'river', 'stone', 'cloud', 'green', 'table', 'music', 'light'];
function line(i: number, extra = ''): string {
  const pos = i % 2 === 0;
  const filler = [words[i % 8], words[(i * 3) % 8], words[(i * 5 + 1) % 8]];
  filler.splice(i % 3, 0, pos ? 'good' : 'bad');
  return JSON.stringify({ text: filler.join(' ') + extra, label: pos ? 'pos' : 'neg' });
}
writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 48 }, (_, i) => line(i)).join('\n') + '\n');
writeFileSync(join(dir, 'other.jsonl'), Array.from({ length: 48 }, (_, i) => line(i, ' zebra')).join('\n') + '\n');
writeFileSync(join(dir, 'valid.jsonl'), Array.from({ length: 16 }, (_, i) => line(i + 1000)).join('\n') + '\n');
writeFileSync(join(dir, 'text.txt'), 'to be or not to be, that is the question. '.repeat(40));

const cls = classificationConfig(dir, 16);
const lines = metricLines;
const train = trainRun;

const teacherDir = join(dir, 'teacher');
const teacher2Dir = join(dir, 'teacher2');
const ready = (async () => {
  await train(cls({ outputDir: teacherDir }));
  await train(cls({ outputDir: teacher2Dir, seed: 4, numTrainEpochs: 1 }));
})();

test('classification student: loss = (1 − α)·ce + α·kd per logged step, attribution logged, cache = the teacher\'s logits', async () => {
  await ready;
  const run = join(dir, 'student');
  const config = cls({ outputDir: run, distillation: { teacher: teacherDir, temperature: 2, alpha: 0.25 }, objectiveAttribution: true, loggingSteps: 2 });
  await train(config);
  const tr = lines(run).filter((l) => l.split === 'train');
  assert.equal(tr.length, 3); // 6 steps, logged every 2
  for (const l of tr) {
    assert.ok(l.terms.kd > 0 && l.terms.ce > 0);
    assert.ok(Math.abs(l.loss - (0.75 * l.terms.ce + 0.25 * l.terms.kd)) < 1e-5, JSON.stringify(l));
    for (const k of ['ce', 'kd']) {
      const a = l.attribution[k];
      assert.ok(a.gradNorm > 0 && a.cosine >= -1 - 1e-9 && a.cosine <= 1 + 1e-9, JSON.stringify(a));
    }
  }
  // The cache holds the teacher's logits of every training example (live forward for comparison).
  const cache = readSafetensorsFile(join(run, 'teacher-logits.safetensors'));
  assert.deepEqual(cache.tensors.logits.shape, [48, 2]);
  const task = (await createTask(cls({ outputDir: join(dir, 'probe'), distillation: { teacher: teacherDir, cache: false } }))) as ClassificationTask;
  const { attachTeacher } = await import('../../src/train/teacher.js');
  attachTeacher(task.config as ReturnType<typeof cls>, task, join(dir, 'probe'));
  const teacher = (task as unknown as { teacher: { targets(b: unknown, i?: Int32Array): { logits: T.Tensor } } }).teacher;
  const batch = sequentialBatches(task.trainSet.slice(0, 8), 8, (it) => collateClassification(it, { padId: task.tokenizer.padId!, maxLength: 8 })).next().value!;
  const live = teacher.targets(batch).logits.data();
  const cached = (cache.tensors.logits.data as Float32Array).subarray(0, 16);
  for (let i = 0; i < 16; i++) assert.ok(Math.abs(live[i] - cached[i]) < 1e-5, `${live[i]} vs ${cached[i]}`);
});

test('the cache is reused for the same teacher and data, rewritten for another teacher; top-k keeps k columns and their classes', async () => {
  await ready;
  const cacheFile = join(dir, 'shared-cache.safetensors');
  const d = (teacher: string, cacheTopK?: number) => ({ teacher, cacheFile, cacheTopK });
  await train(cls({ outputDir: join(dir, 's1'), numTrainEpochs: 1, distillation: d(teacherDir) }));
  const key1 = readSafetensorsFile(cacheFile).metadata.key;
  const m1 = statSync(cacheFile).mtimeMs;
  await train(cls({ outputDir: join(dir, 's2'), numTrainEpochs: 1, seed: 9, distillation: d(teacherDir) }));
  assert.equal(statSync(cacheFile).mtimeMs, m1, 'same teacher and data: not rewritten');
  await train(cls({ outputDir: join(dir, 's3'), numTrainEpochs: 1, distillation: d(teacher2Dir) }));
  const key2 = readSafetensorsFile(cacheFile).metadata.key;
  assert.notEqual(key2, key1);
  await train(cls({ outputDir: join(dir, 's4'), numTrainEpochs: 1, distillation: d(teacher2Dir, 1) }));
  const top = readSafetensorsFile(cacheFile);
  assert.deepEqual(top.tensors.logits.shape, [48, 1]);
  assert.deepEqual(top.tensors.indices.shape, [48, 1]);
  assert.equal(top.metadata.topK, '1');
});

test('a teacher that does not fit is one line naming distillation.teacher', async () => {
  await ready;
  const fails = async (config: ReturnType<typeof cls>, re: RegExp) => {
    const task = await createTask(config);
    assert.throws(() => new Trainer({ config, task }), (e: Error) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'));
  };
  await fails(cls({ outputDir: join(dir, 'e1'), distillation: { teacher: join(dir, 'nowhere') } }), /^distillation\.teacher: .*nowhere: no such run folder$/);
  await fails(cls({ outputDir: join(dir, 'e2'), data: { train: join(dir, 'other.jsonl'), validation: join(dir, 'valid.jsonl'), tokenizer: { type: 'word' }, maxLength: 8 }, distillation: { teacher: teacherDir } }),
    /^distillation\.teacher: .* has a vocabulary of \d+ tokens; this run's tokenizer has \d+/);
  const lm = parseConfig({
    task: 'lm', outputDir: join(dir, 'e3'), data: { train: join(dir, 'text.txt'), tokenizer: { type: 'char' }, blockSize: 8 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16 }, maxSteps: 2, disableTqdm: true, distillation: { teacher: teacherDir },
  });
  await fails(lm, /^distillation\.teacher: .* was trained for task classification; this run is lm$/);
  // Labels that differ: one line naming the teacher's labels.json, the label and the student's data (was: both label maps as raw JSON).
  const meh = join(dir, 'meh.jsonl');
  writeFileSync(meh, Array.from({ length: 48 }, (_, i) => (i % 4 === 0 ? line(i).replace('"pos"', '"meh"') : line(i))).join('\n') + '\n');
  const esc = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await fails(cls({ outputDir: join(dir, 'e6'), data: { train: meh, validation: join(dir, 'valid.jsonl'), tokenizer: { type: 'word' }, maxLength: 8 }, distillation: { teacher: teacherDir } }),
    new RegExp(`^distillation\\.teacher: ${esc(join(teacherDir, 'labels.json'))}: the teacher has no label "meh", which ${esc(meh)} has \\(the teacher's labels: "neg", "pos"\\)$`));
  // A damaged labels.json: one line naming it (was: a raw SyntaxError).
  const broken = join(dir, 'teacher-broken');
  cpSync(teacherDir, broken, { recursive: true });
  writeFileSync(join(broken, 'labels.json'), '{"labels": ["neg", ');
  await fails(cls({ outputDir: join(dir, 'e7'), distillation: { teacher: broken } }), new RegExp(`^distillation\\.teacher: ${esc(join(broken, 'labels.json'))}: invalid JSON`));
  await assert.rejects(createTask(cls({ outputDir: join(dir, 'e4'), objective: { ce: 1, kd: 1 } })), /^ConfigError: objective\.kd: needs a distillation block/);
  await assert.rejects(createTask(cls({ outputDir: join(dir, 'e5'), objective: { ce: 1, kd: 1 }, distillation: { teacher: teacherDir } })), /objective\.kd: set by distillation\.alpha/);
});

test('a teacher in the student\'s outputDir, or with non-finite weights, is refused (fresh-user trial: both trained in silence)', async () => {
  await ready;
  // The student would overwrite its own teacher (--overwriteOutputDir true deleted it).
  for (const teacher of [teacherDir, join(teacherDir, 'checkpoint-6')]) {
    assert.throws(() => cls({ outputDir: teacherDir, overwriteOutputDir: true, distillation: { teacher } }),
      (e: Error) => e instanceof ConfigError && /^distillation\.teacher: .* is this run's outputDir or inside it/.test(e.message));
  }
  // A copy of the teacher with one NaN weight: one line naming the tensor, before any step.
  const nanDir = join(dir, 'teacher-nan');
  cpSync(teacherDir, nanDir, { recursive: true });
  const file = join(nanDir, 'model.safetensors');
  const st = readSafetensorsFile(file);
  const name = Object.keys(st.tensors).find((k) => k.endsWith('bias'))!;
  (st.tensors[name].data as Float32Array)[0] = NaN;
  writeSafetensorsFile(file, st.tensors);
  const config = cls({ outputDir: join(dir, 'e6'), distillation: { teacher: nanDir } });
  const task = await createTask(config);
  assert.throws(() => new Trainer({ config, task }),
    (e: Error) => e instanceof ConfigError && e.message.startsWith(`distillation.teacher: ${file}: tensor "${name}" holds a non-finite value (NaN) at flat index 0; `));
});

test('lm student: kd per token from a GPT teacher of the same tokenizer, terms and attribution logged', async () => {
  const lmCfg = (over: Record<string, unknown>) => parseConfig({
    task: 'lm', seed: 5, data: { train: join(dir, 'text.txt'), tokenizer: { type: 'char' }, blockSize: 16, valFraction: 0.1 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }, learningRate: 1e-2, perDeviceTrainBatchSize: 4, maxSteps: 4, loggingSteps: 2,
    evalStrategy: 'no', saveStrategy: 'no', disableTqdm: true, generation: { maxNewTokens: 4 }, stability: { spikeGuard: { enabled: false } }, ...over,
  });
  const t = join(dir, 'lm-teacher');
  await train(lmCfg({ outputDir: t, model: { nLayer: 1, nHead: 2, nEmbd: 32, dropout: 0 } }));
  const s = join(dir, 'lm-student');
  await train(lmCfg({ outputDir: s, distillation: { teacher: t, temperature: 1.5, alpha: 0.5 }, objectiveAttribution: true, objective: { ce: 1, zLoss: 1e-3 } }));
  const tr = lines(s).filter((l) => l.split === 'train');
  assert.equal(tr.length, 2);
  for (const l of tr) {
    assert.ok(l.terms.kd > 0 && l.terms.ce > 0 && l.terms.zLoss > 0);
    assert.ok(Math.abs(l.loss - (0.5 * l.terms.ce + 0.5 * l.terms.kd + 1e-3 * l.terms.zLoss)) < 1e-4, JSON.stringify(l));
    assert.deepEqual(Object.keys(l.attribution).sort(), ['ce', 'kd', 'zLoss']);
  }
});

test('with data.augment the teacher runs on every (augmented) batch: no cache file; an augment block with nothing enabled keeps the cache', async () => {
  await ready;
  const data = (augment: object) => ({ train: join(dir, 'train.jsonl'), validation: join(dir, 'valid.jsonl'), tokenizer: { type: 'word' as const }, maxLength: 8, augment });
  const on = join(dir, 'aug-on');
  await train(cls({ outputDir: on, numTrainEpochs: 1, data: data({ randomDeletion: 0.2 }), distillation: { teacher: teacherDir } }));
  assert.ok(!existsSync(join(on, 'teacher-logits.safetensors')));
  assert.ok(lines(on).filter((l) => l.split === 'train').every((l) => l.terms.kd > 0));
  const off = join(dir, 'aug-off');
  await train(cls({ outputDir: off, numTrainEpochs: 1, data: data({}), distillation: { teacher: teacherDir } }));
  assert.ok(existsSync(join(off, 'teacher-logits.safetensors')));
});
