/**
 * Messages the outside trial found unclear, each now one line naming the flag, field or file:
 * lrSchedulerKwargs options another schedule takes (the "known" list showed the schedule's
 * internals type, baseLr, warmupSteps, numTrainingSteps), a resume with another lrSchedulerType
 * ("loadStateDict got the state of a … schedule"), a flag whose value breaks a check with a file's
 * field (the file's line was blamed), a JSONL null ("got null null"), an outputDir or --output under a
 * file (raw ENOTDIR), a back-translate --data that cannot be read (the flag unnamed), and blank
 * --training-args / config / --data files (no line:column; "Unexpected end of JSON input").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/train/config.js';
import { assertErrorLine, assertOneLineError, cliScratch, esc, trainformer } from './run-cli.js';
import { configError } from '../util/config-error.js';

const { dir, text, config, lm } = cliScratch('tf-clear-messages-', { maxSteps: 2, saveSteps: 2, evalSteps: 2, maxEvalBatches: 1 });


test('lrSchedulerKwargs: the options the schedule takes, or that it takes none, and which schedules take the option', () => {
  assert.equal(configError(lm({ lrSchedulerType: 'linear', lrSchedulerKwargs: { minLrRate: 0.1 } })),
    'lrSchedulerKwargs.minLrRate: the linear schedule takes no lrSchedulerKwargs; minLrRate is an option of cosine_with_min_lr');
  assert.equal(configError(lm({ lrSchedulerType: 'cosine', lrSchedulerKwargs: { minLr: 0.1 } })),
    'lrSchedulerKwargs.minLr: not an option of the cosine schedule (its options: numCycles); minLr is an option of cosine_with_min_lr, nanogpt_cosine');
  assert.equal(configError(lm({ lrSchedulerType: 'cosine', lrSchedulerKwargs: { foo: 1 } })),
    'lrSchedulerKwargs.foo: unknown option of the cosine schedule (known: numCycles)');
  // The common options come from their own fields; in lrSchedulerKwargs they used to override them (type too).
  assert.equal(configError(lm({ lrSchedulerType: 'cosine', lrSchedulerKwargs: { type: 'linear' } })),
    'lrSchedulerKwargs.type: set by the config field lrSchedulerType, not by lrSchedulerKwargs');
  assert.equal(configError(lm({ lrSchedulerKwargs: { numTrainingSteps: 9 } })),
    'lrSchedulerKwargs.numTrainingSteps: set by the config field maxSteps (or numTrainEpochs), not by lrSchedulerKwargs');
  assert.deepEqual(parseConfig(lm({ lrSchedulerType: 'cosine_with_min_lr', lrSchedulerKwargs: { minLrRate: 0.1 } })).lrSchedulerKwargs, { minLrRate: 0.1 });
});

test('--resume with another lrSchedulerType: one line naming the field, both values and the kwargs that differ', () => {
  const out = join(dir, 'sched');
  const cfg = config(lm({ outputDir: out, lrSchedulerType: 'cosine_with_min_lr', lrSchedulerKwargs: { minLrRate: 0.1 } }));
  const first = trainformer(['train', '--config', cfg]);
  assert.equal(first.code, 0, first.stderr);
  const r = trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '4', '--lrSchedulerType', 'cosine', '--lrSchedulerKwargs', '{}']);
  assertOneLineError(r, new RegExp(`^config error: --resume: ${esc(join(out, 'checkpoint-2'))} was trained with another learning-rate schedule \\(lrSchedulerType: checkpoint "cosine_with_min_lr", config "cosine"; lrSchedulerKwargs\\.minLrRate: checkpoint 0\\.1, config unset\\); set the config back to resume it, or train into another outputDir$`));
  // Another option of the same schedule resumes, as Hugging Face's Trainer does (it rebuilds the
  // schedule from its arguments), and says so in one line (it was silent).
  const same = trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '4', '--lrSchedulerKwargs', '{"minLrRate": 0.2}']);
  assert.equal(same.code, 0, same.stderr);
  assert.deepEqual(same.errLines.filter((l) => l.includes('schedule')), [`--resume: ${join(out, 'checkpoint-2')} was trained with other learning-rate schedule options (lrSchedulerKwargs.minLrRate: checkpoint 0.1, config 0.2); continuing with the config's (the schedule is rebuilt from the config, as in Hugging Face's Trainer)`]);
  // The options were used: step 4's learning rate is Hugging Face's cosine_with_min_lr at progress
  // 3/4 with min_lr = 0.2 × lr (0.1 would give 0.2318 × lr).
  const { learningRate } = JSON.parse(readFileSync(join(out, 'trainformer_config.json'), 'utf8')) as { learningRate: number };
  const step4 = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { split?: string; step?: number; lr?: number })
    .find((l) => l.split === 'train' && l.step === 4)!;
  const expected = learningRate * (0.2 + 0.8 * 0.5 * (1 + Math.cos(Math.PI * 3 / 4)));
  assert.ok(Math.abs(step4.lr! - expected) <= 1e-6 * expected, `lr at step 4: ${step4.lr}, expected ${expected}`);
});

test('--resume with nothing to train says that, not that the schedule changed (it was refused for the schedule)', () => {
  const out = join(dir, 'sched-done');
  const cfg = config(lm({ outputDir: out, lrSchedulerType: 'cosine_with_min_lr', lrSchedulerKwargs: { minLrRate: 0.1 } }));
  assert.equal(trainformer(['train', '--config', cfg]).code, 0);
  const r = trainformer(['train', '--config', cfg, '--resume', '--lrSchedulerType', 'cosine', '--lrSchedulerKwargs', '{}']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.errLines.slice(-1), [`nothing to train: the checkpoint ${join(out, 'checkpoint-2')} is at step 2 ≥ maxSteps 2; raise --maxSteps to train further`]);
  assert.ok(!r.errLines.some((l) => l.includes('schedule')), r.stderr);
});

test('a flag whose value breaks a check with a field of the file names the flag first, then the file\'s line', () => {
  const cfg = join(dir, 'heads.json');
  writeFileSync(cfg, JSON.stringify(lm({ model: { nLayer: 1, nHead: 4, nEmbd: 8 } }), null, 2));
  const r = trainformer(['train', '--config', cfg, '--model.nEmbd', '130']);
  assertOneLineError(r, new RegExp(`^config error: --model\\.nEmbd 130, with ${esc(cfg)}:\\d+: model\\.nHead: must divide model\\.nEmbd \\(130\\) \\(got 4\\)$`));
});

test('a null label is "got null", not "got null null"', () => {
  const data = join(dir, 'null-label.jsonl');
  writeFileSync(data, '{"text": "a", "label": null}\n{"text": "b", "label": "x"}\n');
  const r = trainformer(['train', '--config', config({ task: 'classification', outputDir: join(dir, 'nl'), data: { train: data, validation: data, maxLength: 8 }, model: { nLayer: 1, nHead: 2, nEmbd: 8 }, maxSteps: 1 })]);
  assertErrorLine(r, new RegExp(`${esc(data)}:1: field "label" must be a string or an integer, got null$`));
});

test('an outputDir or --output under a file: one line naming the flag and the file in the way', () => {
  const r = trainformer(['train', '--config', config(lm({ outputDir: join(text, 'run') }))]);
  assertOneLineError(r, new RegExp(`^error: outputDir: cannot create ${esc(join(text, 'run'))} \\(${esc(text)} is a file, not a folder\\)$`));
  const out = join(dir, 'sched');
  for (const output of [join(text, 'm.json'), join(text, 'a', 'm.json')]) {
    assertOneLineError(trainformer(['eval', out, '--output', output]), new RegExp(`^config error: --output: ${esc(output)}: ${esc(text)} is a file, not a folder$`));
  }
});

test('back-translate: a --data file that cannot be read names --data', () => {
  const missing = join(dir, 'no-such.jsonl');
  const run = join(dir, 'sched');
  const r = trainformer(['back-translate', '--forward', run, '--backward', run, '--data', missing, '--output', join(dir, 'bt.jsonl')]);
  assertOneLineError(r, new RegExp(`^config error: --data: ${esc(missing)}: no such file$`));
});

test('blank --training-args, config and --data files: line:column and what the file holds', () => {
  const cfg = config(lm({ outputDir: join(dir, 'ta') }));
  const empty = join(dir, 'ta-empty.json'), newlines = join(dir, 'ta-newlines.json');
  writeFileSync(empty, '');
  writeFileSync(newlines, '\n\n\n');
  assertOneLineError(trainformer(['train', '--config', cfg, '--training-args', empty]),
    new RegExp(`^config error: --training-args: ${esc(empty)}:1:1: invalid JSON \\(the file is empty\\)$`));
  assertOneLineError(trainformer(['train', '--config', cfg, '--training-args', newlines]),
    new RegExp(`^config error: --training-args: ${esc(newlines)}:4:1: invalid JSON \\(the file holds only 3 blank lines\\)$`));
  assertOneLineError(trainformer(['train', '--config', newlines]), new RegExp(`^config error: ${esc(newlines)}:4:1: invalid JSON \\(the file holds only 3 blank lines\\)$`));
  assertOneLineError(trainformer(['eval', join(dir, 'sched'), '--data', newlines]),
    new RegExp(`^error: --data: ${esc(newlines)}: no examples to evaluate \\(the file holds only 3 blank lines\\)$`));
});
