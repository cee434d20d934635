/**
 * Non-finite weights are refused when loaded, as they are when saved (outside trial: a run whose
 * model.safetensors held one NaN bias evaluated to "loss NaN", predicted one class for every text
 * and printed probability null, without a word). Each loader — `eval`, `predict`, `train --resume`,
 * `model.fromPretrained`, the library's loadHFGPT2 — stops with one line naming the file and the
 * tensor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFormatError } from '../../src/errors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../../src/io/safetensors.js';
import { GPT } from '../../src/models/gpt.js';
import { loadHFGPT2, saveHFGPT2 } from '../../src/models/hf-gpt2.js';
import { assertErrorLine, assertOneLineError, trainformer } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-nonfinite-'));
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const rows = Array.from({ length: 24 }, (_, i) => JSON.stringify({ text: i % 2 ? 'good fine nice' : 'bad awful poor', label: i % 2 ? 'pos' : 'neg' })).join('\n');
writeFileSync(join(dir, 'cls.jsonl'), `${rows}\n`);
const run = join(dir, 'run');
const cfgPath = join(dir, 'cls.json');
writeFileSync(cfgPath, JSON.stringify({
  task: 'classification', outputDir: run, data: { train: join(dir, 'cls.jsonl'), validation: join(dir, 'cls.jsonl'), maxLength: 8 },
  model: { nLayer: 1, nHead: 2, nEmbd: 8 }, perDeviceTrainBatchSize: 4, maxSteps: 2, evalSteps: 2, saveSteps: 2, disableTqdm: true,
}));
const trained = trainformer(['train', '--config', cfgPath]);

/** Sets element `index` of tensor `name` (the first whose name ends with `suffix`) in `file` to `value`; returns the name. */
function poison(file: string, suffix: string, value: number, index = 0): string {
  const st = readSafetensorsFile(file);
  const name = Object.keys(st.tensors).find((k) => k.endsWith(suffix))!;
  (st.tensors[name].data as Float32Array)[index] = value;
  writeSafetensorsFile(file, st.tensors);
  return name;
}

test('eval and predict of a run whose model.safetensors holds a NaN: one line naming the file and the tensor', () => {
  assert.equal(trained.code, 0, trained.stderr);
  const bad = join(dir, 'nan-run');
  cpSync(run, bad, { recursive: true });
  const file = join(bad, 'model.safetensors');
  const name = poison(file, 'classifier.bias', NaN);
  const line = new RegExp(`^error: ${esc(file)}: tensor "${esc(name)}" holds a non-finite value \\(NaN\\) at flat index 0; weights with NaN or Inf are not loaded`);
  assertOneLineError(trainformer(['eval', bad]), line);
  const p = trainformer(['predict', bad, '--text', 'good']);
  assertOneLineError(p, line);
  assert.equal(p.stdout, '', 'no prediction printed');
});

test('train --resume from a checkpoint holding +Inf: one line naming the checkpoint file and the tensor', () => {
  assert.equal(trained.code, 0, trained.stderr);
  const bad = join(dir, 'inf-run');
  cpSync(run, bad, { recursive: true });
  const file = join(bad, 'checkpoint-2', 'model.safetensors');
  const name = poison(file, 'weight', Infinity, 3);
  const r = trainformer(['train', '--config', cfgPath, '--outputDir', bad, '--resume', '--maxSteps', '4']);
  assertErrorLine(r, new RegExp(`^error: ${esc(file)}: tensor "${esc(name)}" holds a non-finite value \\(Infinity\\) at flat index 3; `));
});

test('a Hugging Face folder with a NaN weight: loadHFGPT2 throws naming the file and tensor; model.fromPretrained is one line', () => {
  const hf = join(dir, 'hf');
  saveHFGPT2(new GPT({ vocabSize: 16, nLayer: 1, nHead: 2, nEmbd: 8, blockSize: 8 }), hf);
  const file = join(hf, 'model.safetensors');
  const name = poison(file, 'ln_f.bias', NaN, 2);
  assert.throws(() => loadHFGPT2(hf), (e: Error) => e instanceof FileFormatError
    && e.message.startsWith(`${file}: tensor "${name}" holds a non-finite value (NaN) at flat index 2; `));
  writeFileSync(join(dir, 'text.txt'), 'some text that is long enough for a few blocks.\n'.repeat(10));
  const lmCfg = join(dir, 'lm.json');
  writeFileSync(lmCfg, JSON.stringify({ task: 'lm', outputDir: join(dir, 'lm-run'), data: { train: join(dir, 'text.txt'), blockSize: 8 }, model: { fromPretrained: hf }, maxSteps: 1 }));
  assertErrorLine(trainformer(['train', '--config', lmCfg]),
    new RegExp(`error: .*model\\.fromPretrained: ${esc(file)}: tensor "${esc(name)}" holds a non-finite value \\(NaN\\) at flat index 2; `));
});

test('train --resume from a checkpoint whose optimizer state holds NaN: one line naming optimizer.safetensors and the parameter', () => {
  assert.equal(trained.code, 0, trained.stderr);
  const bad = join(dir, 'nan-optimizer-run');
  cpSync(run, bad, { recursive: true });
  const file = join(bad, 'checkpoint-2', 'optimizer.safetensors');
  // Adam's second moment of a parameter: the first update after the resume would be NaN. State 7:
  // Hugging Face's grouping puts the 7 matrices (encoder wte, wpe, c_attn, attn.c_proj, c_fc,
  // mlp.c_proj weights, classifier.weight) in the decay group first, then the no-decay group in the
  // model's order, whose first is encoder.ln_emb.weight.
  const name = poison(file, 'state.7.expAvgSq', NaN, 1);
  assert.equal(name, 'state.7.expAvgSq');
  const r = trainformer(['train', '--config', cfgPath, '--outputDir', bad, '--resume', '--maxSteps', '4']);
  assertErrorLine(r, new RegExp(`^error: ${esc(file)}: optimizer state expAvgSq of parameter "encoder\\.ln_emb\\.weight" \\("state\\.7\\.expAvgSq"\\) holds a non-finite value \\(NaN\\) at flat index 1; optimizer state with NaN or Inf is not loaded`));
});
