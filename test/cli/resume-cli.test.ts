/**
 * Resume cases of the fresh-user trial, each one line: --resume into a folder with no checkpoint
 * (it used to start at step 0 in silence; Hugging Face errors), --resume with maxSteps at or below
 * the checkpoint's step (it ended in silence and rewrote the run's files), and a checkpoint trained
 * with other model.* fields, data.blockSize or tokenizer type (the error named only a tensor shape).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertErrorLine, assertOneLineError, cliScratch, esc, trainformer } from './run-cli.js';

const { dir, text, config, lm } = cliScratch('tf-resume-cli-', { maxSteps: 4, saveSteps: 2, evalSteps: 2, maxEvalBatches: 1 });

test('--resume into an outputDir that does not exist, or holds no checkpoint: one line naming the folder, exit 1, nothing created', () => {
  const none = join(dir, 'never-trained');
  assertOneLineError(trainformer(['train', '--config', config(lm({ outputDir: none })), '--resume']),
    new RegExp(`^config error: --resume: nothing to resume in outputDir ${esc(none)} \\(no such folder\\); train without --resume to start from step 0`));
  assert.equal(existsSync(none), false, 'the folder is not created');
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const r = trainformer(['train', '--config', config(lm({ outputDir: empty })), '--resume']);
  assertOneLineError(r, new RegExp(`^config error: --resume: nothing to resume in outputDir ${esc(empty)} \\(no checkpoint-<step> folder in it\\)`));
  assert.equal(r.code, 1);
  assert.equal(existsSync(join(empty, 'metrics.jsonl')), false, 'nothing was trained');
});

test('--resume with maxSteps at or below the checkpoint: one line, exit 0, the run folder untouched', () => {
  const out = join(dir, 'finished');
  const cfg = config(lm({ outputDir: out }));
  assert.equal(trainformer(['train', '--config', cfg]).code, 0);
  const files = ['model.safetensors', 'trainformer_config.json', 'metrics.jsonl', 'report.html'];
  const before = files.map((f) => readFileSync(join(out, f)));
  for (const maxSteps of ['2', '4']) {
    const r = trainformer(['train', '--config', cfg, '--resume', '--maxSteps', maxSteps]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.deepEqual(r.errLines.slice(-1), [`nothing to train: the checkpoint ${join(out, 'checkpoint-4')} is at step 4 ≥ maxSteps ${maxSteps}; raise --maxSteps to train further`]);
    assert.ok(!r.errLines.some((l) => l.startsWith('training ')), r.stderr);
    assert.deepEqual(files.map((f) => readFileSync(join(out, f))), before, 'final model, config, metrics and report are left as they were');
  }
});

test('--resume with a changed model.* field names each field with the checkpoint\'s and the config\'s value', () => {
  const out = join(dir, 'reshaped');
  const cfg = config(lm({ outputDir: out, maxSteps: 2 }));
  assert.equal(trainformer(['train', '--config', cfg]).code, 0);
  const r = trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '4', '--model.nEmbd', '16', '--model.dropout', '0.1']);
  const ck = join(out, 'checkpoint-2');
  assertErrorLine(r, new RegExp(`^config error: --resume: ${esc(ck)} was trained with another model \\(model\\.nEmbd: checkpoint 8, config 16; model\\.dropout: checkpoint 0, config 0\\.1\\); set the config back to resume it, or train into another outputDir$`));
});

test('--resume with a changed data.blockSize names it; a changed tokenizer type is refused before any data is read', () => {
  const out = join(dir, 'reblocked');
  const cfg = config(lm({ outputDir: out, maxSteps: 2 }));
  assert.equal(trainformer(['train', '--config', cfg]).code, 0);
  const ck = join(out, 'checkpoint-2');
  // It named only a tensor: `tensor "wpe.weight" has shape [8, 8], the model needs [16, 8]`.
  assertErrorLine(trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '4', '--data.blockSize', '16']),
    new RegExp(`^config error: --resume: ${esc(ck)} was trained with another model \\(data\\.blockSize: checkpoint 8, config 16\\); set the config back to resume it, or train into another outputDir$`));
  const metrics = readFileSync(join(out, 'metrics.jsonl'));
  const r = trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '4', '--data.tokenizer.type', 'word']);
  assertOneLineError(r, new RegExp(`^config error: --resume: ${esc(ck)} was trained with another tokenizer \\(data\\.tokenizer\\.type: checkpoint "char", config "word"\\); set the config back to resume it, or train into another outputDir$`));
  assert.deepEqual(readFileSync(join(out, 'metrics.jsonl')), metrics);
});

test('a resume says how many steps this run trained and names a switch of precision (third fresh-user trial)', () => {
  const out = join(dir, 'switched');
  const cfg = config(lm({ outputDir: out }));
  const first = trainformer(['train', '--config', cfg]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^trained 4 steps in \d+\.\d s$/m);
  // float32 checkpoint-4 resumed in bf16 up to step 6: 2 steps here, steps 5 and 6.
  const r = trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '6', '--bf16', 'true']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^trained 2 steps \(steps 5–6\) in \d+\.\d s$/m);
  assert.ok(r.errLines.includes(`${join(out, 'checkpoint-4')} was trained in float32; continuing in bf16 (float32 master weights either way)`), r.stderr);
  // And back: the bf16 checkpoint-6 resumed without bf16.
  const back = trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '7']);
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, /^trained 1 step \(step 7\) in \d+\.\d s$/m);
  assert.ok(back.errLines.includes(`${join(out, 'checkpoint-6')} was trained in bf16; continuing in float32 (float32 master weights either way)`), back.stderr);
});
