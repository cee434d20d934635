/**
 * Findings of the fresh-user trial s9 (/work/notes/trial-s9.md), each checked as the user met it,
 * through the built command:
 * - F3: the end of `train` names the final model.safetensors (what eval / generate / predict <run>
 *   load), not only the last checkpoint;
 * - F8: an fp16 training says once that float16 products are emulated (bf16 says so for its
 *   emulation; fp16 said nothing);
 * - F15: a key given twice in one object of a config file (or of --training-args) is one line naming
 *   the file, the line and the key (JSON.parse kept the last value in silence);
 * - F18: `predict` on a seq2seq run reads the run's source field (data.srcField, "src" by default,
 *   as --help says); a line holding "text" instead is refused and told to rename it (it was
 *   translated in silence), and a run with srcField "tgt" reads "tgt" (it read "src");
 * - F17: Ctrl-C (or SIGTERM) during the sample printed at the end of `train` ends the sample's line
 *   and says that the model and the report were written, exit 130 / 143 (the process was ended by
 *   the signal, no line).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { assertOneLineError, cliPath, cliScratch, esc, trainformer } from './run-cli.js';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const { dir, text, config, lm } = cliScratch('tf-trial-s9-', { maxSteps: 2, saveSteps: 100, evalSteps: 100, maxEvalBatches: 1 });

const FP16_NOTICE = 'trainformer: float16 products are emulated on this CPU (operands rounded to float16, float32 products), so fp16 trains slower than float32';

test('F3: the end of train names the final model.safetensors, which eval loads', () => {
  const out = join(dir, 'f3');
  const r = trainformer(['train', '--config', config(lm({ outputDir: out }))]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const model = join(out, 'model.safetensors');
  assert.ok(lines.includes(`model:      ${model}`), r.stdout);
  assert.ok(existsSync(model));
  // It comes before the checkpoint's line, with the other paths.
  assert.ok(lines.indexOf(`model:      ${model}`) < lines.findIndex((l) => l.startsWith('checkpoint: ')), r.stdout);
});

test('F8: fp16 says once that its products are emulated; bf16 and float32 do not say it', () => {
  const fp16 = trainformer(['train', '--config', config(lm({ outputDir: join(dir, 'f8-fp16') })), '--fp16', 'true']);
  assert.equal(fp16.code, 0, fp16.stderr);
  assert.equal(fp16.errLines.filter((l) => l === FP16_NOTICE).length, 1, fp16.stderr);
  // (\b: the addon's own notice on a CPU without AVX512_BF16 says "bfloat16 products are emulated".)
  assert.equal(fp16.errLines.filter((l) => /\bfloat16\b/.test(l)).length, 1, fp16.stderr);
  for (const [name, flags] of [['f8-bf16', ['--bf16', 'true']], ['f8-f32', []]] as const) {
    const r = trainformer(['train', '--config', config(lm({ outputDir: join(dir, name) })), ...flags]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!/\bfloat16\b/.test(r.stderr), r.stderr);
  }
});

test('F15: a key given twice in one object is one line naming the file, the line and the key; nothing trained', () => {
  const file = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, body);
    return p;
  };
  const base = lm({ outputDir: join(dir, 'f15') });
  // Written by hand: JSON.stringify cannot write a key twice. maxSteps on lines 3 and 5.
  const top = file('dup-top.json', `{\n  "task": "lm",\n  "maxSteps": 20,\n  "outputDir": ${JSON.stringify(base.outputDir)},\n  "maxSteps": 5,\n  "data": ${JSON.stringify(base.data)},\n  "model": ${JSON.stringify(base.model)}\n}\n`);
  assertOneLineError(trainformer(['train', '--config', top]),
    new RegExp(`^config error: ${esc(top)}:5: maxSteps: given twice \\(also on line 3\\); remove one \\(JSON keeps only the last, silently\\)$`));
  assert.equal(existsSync(base.outputDir as string), false);
  // Inside a block: the dotted path; the same key in two different objects is no duplicate.
  const nested = file('dup-nested.json', `{\n  "task": "lm", "outputDir": ${JSON.stringify(base.outputDir)}, "maxSteps": 2,\n  "model": { "nLayer": 1, "nHead": 2, "nEmbd": 8 },\n  "data": { "train": ${JSON.stringify(text)},\n    "blockSize": 8,\n    "tokenizer": { "type": "char" },\n    "blockSize": 16 }\n}\n`);
  assertOneLineError(trainformer(['train', '--config', nested]),
    new RegExp(`^config error: ${esc(nested)}:7: data\\.blockSize: given twice \\(also on line 5\\); remove one`));
  // Hugging Face training arguments: named as the flag's file.
  const ta = file('dup-ta.json', '{\n  "learning_rate": 0.001,\n  "num_train_epochs": 1,\n  "learning_rate": 0.01\n}\n');
  assertOneLineError(trainformer(['train', '--config', config(base), '--training-args', ta]),
    new RegExp(`^config error: --training-args: ${esc(ta)}:4: learning_rate: given twice \\(also on line 2\\); remove one`));
  // The examples have no duplicate (the check finds none where there is none).
  const ok = trainformer(['train', '--config', 'examples/shakespeare-char.json', '--maxSteps', '1', '--model.nLayer', '1', '--model.nEmbd', '16',
    '--evalSteps', '100', '--maxEvalBatches', '1', '--generation.maxNewTokens', '1', '--outputDir', join(dir, 'f15-ok')]);
  assert.equal(ok.code, 0, ok.stderr);
});

async function trainSeq2seq(name: string, fields: Record<string, string> = {}): Promise<string> {
  const outputDir = join(dir, name);
  const cfg = parseConfig({
    task: 'seq2seq', outputDir, seed: 1, model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }, perDeviceTrainBatchSize: 8, perDeviceEvalBatchSize: 2,
    maxSteps: 1, evalStrategy: 'no', saveStrategy: 'no', disableTqdm: true, generation: { maxNewTokens: 4 },
    data: { train: 'examples/data/eng_fra/train.jsonl', validation: 'examples/data/eng_fra/valid.jsonl', tokenizer: { type: 'word' }, limit: 16, maxLength: 12, maxTargetLength: 8, ...fields },
  });
  await new Trainer({ config: cfg, task: await createTask(cfg) }).train();
  return outputDir;
}

test('F18: predict on a seq2seq run reads its data.srcField; a line with "text" instead is refused, naming the field', async () => {
  const s2s = await trainSeq2seq('f18-eng-fra');
  const textLines = join(dir, 'f18-text.jsonl');
  writeFileSync(textLines, '{"text": "I am hungry."}\n');
  assertOneLineError(trainformer(['predict', s2s, '--file', textLines]),
    new RegExp(`^error: ${esc(textLines)}:1: field "src" is missing \\(a seq2seq run translates the "src" field, its data\\.srcField; this line has "text" instead: rename it to "src"\\)$`));
  const pairs = join(dir, 'f18-pairs.jsonl');
  writeFileSync(pairs, '{"src": "I am hungry.", "tgt": "J\'ai faim."}\n');
  const ok = trainformer(['predict', s2s, '--file', pairs]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout.trim()).src, 'I am hungry.');
  // The reverse run (as examples/fra-eng.json) translates "tgt", the field it was trained from.
  const rev = await trainSeq2seq('f18-fra-eng', { srcField: 'tgt', tgtField: 'src' });
  const back = trainformer(['predict', rev, '--file', pairs]);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(JSON.parse(back.stdout.trim()).src, 'J\'ai faim.');
  assertOneLineError(trainformer(['predict', rev, '--file', textLines]), /:1: field "tgt" is missing \(a seq2seq run translates the "tgt" field, its data\.srcField; this line has "text" instead: rename it to "tgt"\)$/);
});

test('F17: Ctrl-C or SIGTERM during the final sample ends its line and says the model and the report were written', () => {
  const preload = pathToFileURL(resolve(cliPath, '../../../test/util/sigint-at.js')).href;
  const cases = [
    // The signal comes as "sample:" is written: the sample stops at its first check, after 16
    // characters (character tokenizer: one per piece).
    { at: 'stdout:sample:', signal: 'SIGINT', code: 130, words: 'interrupted (Ctrl-C)', printed: 16 },
    { at: 'stdout:sample:', signal: 'SIGTERM', code: 143, words: 'stopped by SIGTERM', printed: 16 },
    // It comes with the "trained …" line, before the sample: no sample at all.
    { at: 'stdout', signal: 'SIGINT', code: 130, words: 'interrupted (Ctrl-C)', printed: null },
  ] as const;
  for (const c of cases) {
    const out = join(dir, `f17-${c.signal}-${c.printed}`);
    const r = spawnSync(process.execPath, ['--import', preload, cliPath, 'train', '--config', config(lm({ outputDir: out })), '--generation.maxNewTokens', '200'], {
      encoding: 'utf8', env: { ...process.env, TRAINFORMER_DEBUG: '', TF_TEST_SIGINT_AT: c.at, TF_TEST_SIGNAL: c.signal }, timeout: HANG_GUARD_MS,
    });
    assert.equal(r.signal, null, `ended by ${r.signal} (the sample did not catch it); stdout:\n${r.stdout}`);
    assert.equal(r.status, c.code, r.stderr);
    const errLines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('trainformer: native backend'));
    assert.equal(errLines.at(-1), `sample ${c.words}; training had finished: the model is saved in ${join(out, 'model.safetensors')}, the report in ${join(out, 'report.html')}`);
    assert.ok(existsSync(join(out, 'model.safetensors')) && existsSync(join(out, 'report.html')));
    assert.ok(r.stdout.startsWith('trained 2 steps in ') && !r.stdout.includes('model:      '), r.stdout);
    if (c.printed === null) {
      assert.ok(!r.stdout.includes('sample:'), r.stdout);
      continue;
    }
    const sample = r.stdout.slice(r.stdout.indexOf('sample:\n') + 'sample:\n'.length);
    assert.equal(sample.length, '\n'.length + c.printed + 1, JSON.stringify(r.stdout)); // the prompt "\n", 16 characters, the line's end
    assert.ok(sample.endsWith('\n'), r.stdout);
  }
});
