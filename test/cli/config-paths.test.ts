/**
 * Paths in a config file are taken from the file's folder — data files, and (fresh-user trial) the
 * folders of earlier runs it reads: distillation.teacher was taken from the working directory,
 * unlike every other path the file reads. A run folder found only relative to the working
 * directory is one line saying what to write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveDataPaths } from '../../src/cli/config-file.js';
import { assertOneLineError, trainformer } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-config-paths-'));
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('distillation.teacher and model.fromPretrained in a config file are relative to its folder, like data.train', () => {
  const sub = join(dir, 'configs');
  const raw = resolveDataPaths({
    data: { train: 'd/train.jsonl' }, model: { fromPretrained: 'hf/gpt2' }, distillation: { teacher: '../runs/teacher', transferData: 't.jsonl' }, outputDir: 'runs/student',
  }, sub);
  assert.deepEqual(raw, {
    data: { train: join(sub, 'd/train.jsonl') }, model: { fromPretrained: join(sub, 'hf/gpt2') },
    distillation: { teacher: join(dir, 'runs/teacher'), transferData: join(sub, 't.jsonl') }, outputDir: 'runs/student',
  });
});

test('a teacher found only relative to the working directory: one line naming the field, where it looked and what to write', () => {
  const sub = join(dir, 'cfgdir');
  mkdirSync(sub);
  mkdirSync(join(dir, 'runs', 'teacher'), { recursive: true });
  writeFileSync(join(sub, 'train.jsonl'), '{"text": "a b", "label": "x"}\n{"text": "b c", "label": "y"}\n');
  const cfg = join(sub, 'student.json');
  writeFileSync(cfg, JSON.stringify({
    task: 'classification', outputDir: join(dir, 'student'), data: { train: 'train.jsonl', tokenizer: { type: 'word' }, maxLength: 8 },
    model: { nLayer: 1, nHead: 2, nEmbd: 8 }, maxSteps: 1, distillation: { teacher: 'runs/teacher' },
  }));
  assertOneLineError(trainformer(['train', '--config', cfg], { cwd: dir }), new RegExp(`^config error: distillation\\.teacher: ${esc(join(sub, 'runs/teacher'))}: no such folder \\(paths in a config file are relative to its folder, ${esc(sub)}\\); "runs/teacher" is found relative to the working directory: write "\\.\\./runs/teacher" or an absolute path$`));
});
