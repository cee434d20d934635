/**
 * `trainformer export <run> --format hf <dir>`: a GPT run (GPT-2 BPE tokenizer) written as a Hugging
 * Face GPT-2 folder, reloaded three ways — trainformer's loadHFGPT2 (the same logits, bit for bit),
 * a GPT-2 forward written in plain PyTorch (test/models/fixtures/torch_gpt2.py, /usr/bin/python3 with
 * Debian's python3-torch; logits within 1e-5), and @huggingface/tokenizers on the exported
 * tokenizer.json (the same ids as the run's tokenizer). A run folder written before the file rename
 * (config.json, tokenizer.json) still evaluates and generates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as HfLib } from '@huggingface/tokenizers';
import { Gpt2Tokenizer } from '../../src/data/index.js';
import { loadHFGPT2 } from '../../src/models/hf-gpt2.js';
import { GPT as GPTModel } from '../../src/models/gpt.js';
import { saveOnnxGPT } from '../../src/models/onnx-gpt.js';
import { taskFromCheckpoint } from '../../src/cli/checkpoint-task.js';
import type { GPT } from '../../src/models/gpt.js';
import * as T from '../../src/tensor/index.js';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, '../../src/cli/main.js');
const torchGpt2 = resolve(here, '../../../test/models/fixtures/torch_gpt2.py');
const dir = mkdtempSync(join(tmpdir(), 'tf-export-'));

function trainformer(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, TRAINFORMER_DEBUG: '' }, timeout: HANG_GUARD_MS });
  const errLines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('trainformer: native backend'));
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, errLines };
}

/** `got` has `ours`'s length and lies within `tol` of it everywhere (NaN fails); prints the largest difference. */
function assertLogitsClose(got: ArrayLike<number>, ours: ArrayLike<number>, tol: number, who: string): void {
  assert.equal(got.length, ours.length);
  let maxDiff = 0;
  for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - ours[i]));
  assert.ok(maxDiff <= tol, `${who} logits differ by ${maxDiff}`);
  process.stdout.write(`# ${who} vs trainformer logits: max |diff| ${maxDiff.toExponential(2)} over ${ours.length} values\n`);
}

const text = 'First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n'.repeat(30);
writeFileSync(join(dir, 'corpus.txt'), text);
const run = join(dir, 'run');
writeFileSync(join(dir, 'cfg.json'), JSON.stringify({
  task: 'lm', outputDir: run, seed: 3,
  data: { train: join(dir, 'corpus.txt'), blockSize: 8, tokenizer: { type: 'gpt2' } },
  model: { nLayer: 2, nHead: 2, nEmbd: 16 },
  learningRate: 1e-2, perDeviceTrainBatchSize: 2, maxSteps: 3, loggingSteps: 1, evalSteps: 3, saveSteps: 3, maxEvalBatches: 1,
  generation: { prompt: 'All:', maxNewTokens: 2 },
}));
const trained = trainformer('train', '--config', join(dir, 'cfg.json'));
const ids = [[5962, 22307, 25, 198, 8421, 356, 5120, 597], [198, 3237, 25, 198, 5248, 461, 11, 2740]];

/** [B, T, V] logits of a GPT as a flat array. */
function logitsOf(model: GPT): Float32Array {
  return T.noGrad(() => model.forward(T.tensor(Int32Array.from(ids.flat()), [ids.length, ids[0].length], 'int32'))).data() as Float32Array;
}

test('export --format hf: config.json, model.safetensors, tokenizer.json, generation_config.json; reloaded logits equal', async () => {
  assert.equal(trained.code, 0, trained.stderr);
  const out = join(dir, 'hf');
  const r = trainformer('export', run, '--format', 'hf', out);
  assert.equal(r.code, 0, r.stderr);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) assert.ok(existsSync(join(out, f)), `${f} missing`);
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual([cfg.model_type, cfg.architectures[0], cfg.vocab_size, cfg.n_embd, cfg.n_layer, cfg.n_head, cfg.n_positions, cfg.bos_token_id, cfg.eos_token_id],
    ['gpt2', 'GPT2LMHeadModel', 50257, 16, 2, 2, 8, 50256, 50256]);
  const gen = JSON.parse(readFileSync(join(out, 'generation_config.json'), 'utf8'));
  assert.deepEqual([gen.bos_token_id, gen.eos_token_id], [50256, 50256]);
  // GPT2LMHeadModel's names, Conv1D weights [in, out].
  const header = JSON.parse(readFileSync(join(out, 'model.safetensors')).subarray(8, 8 + Number(readFileSync(join(out, 'model.safetensors')).readBigUInt64LE(0))).toString('utf8'));
  assert.deepEqual(header['transformer.h.0.attn.c_attn.weight'].shape, [16, 48]);
  assert.deepEqual(header['transformer.h.1.mlp.c_proj.weight'].shape, [64, 16]);
  assert.deepEqual(header['transformer.wte.weight'].shape, [50257, 16]);

  const { task } = await taskFromCheckpoint(run, [], { noData: true });
  const ours = logitsOf(task.model as unknown as GPT);
  const reloaded = logitsOf(loadHFGPT2(out));
  assert.deepEqual(Array.from(reloaded), Array.from(ours));
  writeFileSync(join(dir, 'ids.json'), JSON.stringify(ids));
  const py = JSON.parse(execFileSync('/usr/bin/python3', [torchGpt2, out, join(dir, 'ids.json')], { encoding: 'utf8', maxBuffer: 1 << 28 })) as { logits: number[][][] };
  assertLogitsClose(py.logits.flat(2), ours, 1e-5, 'PyTorch');
});

test('the exported tokenizer.json encodes a text to the run tokenizer\'s ids (@huggingface/tokenizers)', () => {
  const out = join(dir, 'hf');
  const json = JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8'));
  const tcfg = JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8'));
  assert.equal(json.model.merges.length, 50000); // GPT-2's merges.txt has 50,000 merges
  const lib = new HfLib(json, tcfg);
  const sample = `${readFileSync(resolve(here, '../../../examples/data/tinyshakespeare/input.txt'), 'utf8').slice(0, 3000)} naïve café 日本 🤖 don't  it's\t\n  x`;
  const want = new Gpt2Tokenizer().encode(sample);
  assert.deepEqual(lib.encode(sample, { add_special_tokens: false }).ids, want);
  assert.equal(lib.decode(want, { skip_special_tokens: false, clean_up_tokenization_spaces: false }), sample);
  // Known ids (GPT-2's published vocabulary): "Hello world" = [15496, 995], " the" = 262, <|endoftext|> = 50256.
  assert.deepEqual(lib.encode('Hello world', { add_special_tokens: false }).ids, [15496, 995]);
  assert.equal(lib.token_to_id('Ġthe'), 262);
  assert.equal(lib.token_to_id('<|endoftext|>'), 50256);
});

test('a run folder from before the rename (config.json, tokenizer.json) still evaluates, generates and exports', () => {
  const old = join(dir, 'old-run');
  cpSync(run, old, { recursive: true });
  for (const d of [old, join(old, 'checkpoint-3')]) {
    renameSync(join(d, 'trainformer_config.json'), join(d, 'config.json'));
    renameSync(join(d, 'trainformer_tokenizer.json'), join(d, 'tokenizer.json'));
  }
  const a = trainformer('generate', run, '--prompt', 'All:', '--maxNewTokens', '5', '--seed', '1');
  const b = trainformer('generate', old, '--prompt', 'All:', '--maxNewTokens', '5', '--seed', '1');
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stdout, a.stdout);
  const e1 = trainformer('eval', run), e2 = trainformer('eval', join(old, 'checkpoint-3'));
  assert.equal(e2.code, 0, e2.stderr);
  assert.match(e2.stdout, /validation loss/);
  assert.equal(e1.code, 0, e1.stderr);
  const x = trainformer('export', old, '--format', 'hf', join(dir, 'hf-old'));
  assert.equal(x.code, 0, x.stderr);
  assert.equal(readFileSync(join(dir, 'hf-old', 'model.safetensors')).toString('base64'), readFileSync(join(dir, 'hf', 'model.safetensors')).toString('base64'));
});

test('export --format onnx: onnxruntime-node gives the run\'s logits within 1e-4 (dynamic batch and sequence)', async () => {
  const out = join(dir, 'onnx');
  const r = trainformer('export', run, '--format', 'onnx', out);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(out, 'tokenizer.json')));
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(join(out, 'model.onnx'));
  const { task } = await taskFromCheckpoint(run, [], { noData: true });
  const ours = logitsOf(task.model as unknown as GPT);
  const res = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.flat().map(BigInt)), [ids.length, ids[0].length]) });
  assertLogitsClose(res.logits.data as Float32Array, ours, 1e-4, 'onnxruntime');
});

test('export errors: one line for an unknown format and for a run that is not a GPT', () => {
  const r = trainformer('export', run, '--format', 'tflite', join(dir, 'x'));
  assert.notEqual(r.code, 0);
  assert.deepEqual(r.errLines, ['config error: --format: expected hf or onnx, got "tflite"']);
  const none = trainformer('export', join(dir, 'nothing'), '--format', 'hf', join(dir, 'y'));
  assert.equal(none.errLines.length, 1, none.stderr);
  assert.match(none.errLines[0], /nothing: no such run or checkpoint folder$/);
});

test('export into a run folder is refused and the run\'s model.safetensors is untouched (found by a fresh-user trial)', () => {
  assert.equal(trained.code, 0, trained.stderr);
  const before = readFileSync(join(run, 'model.safetensors'), 'base64');
  for (const fmt of ['hf', 'onnx']) {
    const r = trainformer('export', run, '--format', fmt, run);
    assert.notEqual(r.code, 0, `--format ${fmt} into its own run folder succeeded`);
    assert.equal(r.errLines.length, 1, r.stderr);
    assert.match(r.errLines[0], /holds a trainformer run \(/);
  }
  assert.ok(readFileSync(join(run, 'model.safetensors'), 'base64') === before, 'the run\'s model.safetensors changed');
});

test('saveOnnxGPT refuses a non-finite weight and writes nothing (as saveHFGPT2)', () => {
  const model = new GPTModel({ vocabSize: 8, nLayer: 1, nHead: 1, nEmbd: 8, blockSize: 8 });
  (model.stateDict()['wte.weight'].data() as Float32Array)[5] = Infinity;
  const file = join(dir, 'nan-onnx', 'model.onnx');
  assert.throws(() => saveOnnxGPT(model, file), /weight 'wte\.weight' has a non-finite value \(Infinity\) at flat index 5; nothing written/);
  assert.ok(!existsSync(file));
});
