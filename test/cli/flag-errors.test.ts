/**
 * A bad value given by a flag alone is named by the flag as typed, not by the config field it sets
 * (`--learning-rate -1` said `learningRate: must be > 0`, which the config file did not hold).
 * A bad value from the config file keeps its file and line.
 */
import { test } from 'node:test';
import { assertOneLineError, cliScratch, esc, trainformer } from './run-cli.js';

const s = cliScratch('tf-flag-errors-', { maxSteps: 1 });

test('a value from a flag is named by the flag as typed', () => {
  const cfg = s.config(s.lm());
  assertOneLineError(trainformer(['train', '--config', cfg, '--learning-rate', '-1']), /^config error: --learning-rate: must be > 0 \(got -1\)$/);
  assertOneLineError(trainformer(['train', '--config', cfg, '--learningRate', 'abc']), /^config error: --learningRate: must be a number \(got "abc"\)$/);
  assertOneLineError(trainformer(['train', '--config', cfg, '--per_device_train_batch_size=0']), /^config error: --per_device_train_batch_size: must be >= 1 \(got 0\)$/);
  // A check against a field of the file: the flag's value is what broke it.
  assertOneLineError(trainformer(['train', '--config', cfg, '--model.nHead', '3']), /^config error: --model\.nHead: must divide model\.nEmbd \(8\) \(got 3\)$/);
});

test('the same value from the config file names its file and line', () => {
  const cfg = s.config({ ...s.lm(), learningRate: -1 });
  assertOneLineError(trainformer(['train', '--config', cfg]), new RegExp(`^config error: ${esc(cfg)}:\\d+: learningRate: must be > 0 \\(got -1\\)$`));
});

test('eval: a bad override is named by its flag', () => {
  const lm = s.lm();
  const r = trainformer(['train', '--config', s.config(lm)]);
  if (r.code !== 0) throw new Error(r.stderr);
  assertOneLineError(trainformer(['eval', lm.outputDir as string, '--per-device-eval-batch-size', '0']), /^config error: --per-device-eval-batch-size: must be >= 1 \(got 0\)$/);
});
