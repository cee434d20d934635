/**
 * `model: { fromPretrained: <dir> }` and `generate` / `eval` on a Hugging Face GPT-2 folder. The
 * folders are written by PyTorch (test/models/fixtures/make_gpt2_folder.py: random N(0, 0.02) weights
 * in GPT2LMHeadModel's layout, vocabulary 50,257, one file or sharded with an index); the tokenizer is
 * GPT-2's BPE as tokenizer.json or as vocab.json + merges.txt. A short fine-tune from the CLI lowers
 * the loss, and its export gives the same logits in a plain-PyTorch GPT-2 (1e-5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gpt2Tokenizer, gpt2VocabAndMerges, hfTokenizerConfig, hfTokenizerJson, tokenizerFromPretrained } from '../../src/data/index.js';
import { loadHFGPT2 } from '../../src/models/hf-gpt2.js';
import { taskFromCheckpoint } from '../../src/cli/checkpoint-task.js';
import type { GPT } from '../../src/models/gpt.js';
import * as T from '../../src/tensor/index.js';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, '../../src/cli/main.js');
const fixtures = resolve(here, '../../../test/models/fixtures');
const shakespeare = readFileSync(resolve(here, '../../../examples/data/tinyshakespeare/input.txt'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'tf-pretrained-'));

function trainformer(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, TRAINFORMER_DEBUG: '' }, timeout: HANG_GUARD_MS });
  const errLines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('trainformer: native backend'));
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, errLines };
}

function makeFolder(name: string, shards = 1): string {
  const d = join(dir, name);
  mkdirSync(d);
  execFileSync('/usr/bin/python3', [join(fixtures, 'make_gpt2_folder.py'), d, '2', '32', '2', '64', '--shards', String(shards), '--seed', '5']);
  return d;
}

const single = makeFolder('gpt2-single');
const sharded = makeFolder('gpt2-sharded', 3);
const gpt2 = new Gpt2Tokenizer();
writeFileSync(join(sharded, 'tokenizer.json'), JSON.stringify(hfTokenizerJson(gpt2)));
writeFileSync(join(sharded, 'tokenizer_config.json'), JSON.stringify(hfTokenizerConfig(gpt2, 64)));
{
  const { vocab, merges } = gpt2VocabAndMerges();
  writeFileSync(join(single, 'vocab.json'), JSON.stringify(vocab));
  writeFileSync(join(single, 'merges.txt'), `#version: 0.2\n${merges.join('\n')}\n`);
}
const ids = [[5962, 22307, 25, 198, 8421, 356, 5120, 597, 2252, 11, 3285, 502, 2740, 13, 198, 198]];

function logitsOf(model: GPT): number[] {
  return Array.from(T.noGrad(() => model.forward(T.tensor(Int32Array.from(ids.flat()), [1, ids[0].length], 'int32'))).data());
}

function torchLogits(folder: string): number[] {
  writeFileSync(join(dir, 'ids.json'), JSON.stringify(ids));
  const out = execFileSync('/usr/bin/python3', [join(fixtures, 'torch_gpt2.py'), folder, join(dir, 'ids.json')], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return (JSON.parse(out) as { logits: number[][][] }).logits.flat(2);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('a sharded folder (model.safetensors.index.json) loads the same weights as one file; both match PyTorch', () => {
  const a = logitsOf(loadHFGPT2(single)), b = logitsOf(loadHFGPT2(sharded));
  assert.deepEqual(b, a);
  assert.ok(maxDiff(a, torchLogits(single)) <= 1e-5);
});

test('vocab.json + merges.txt and tokenizer.json give GPT-2\'s ids', () => {
  const text = shakespeare.slice(0, 2000) + ' café 🤖';
  const want = gpt2.encode(text);
  assert.deepEqual(tokenizerFromPretrained(single).encode(text), want);
  assert.deepEqual(tokenizerFromPretrained(sharded).encode(text), want);
  assert.equal(tokenizerFromPretrained(sharded).eosId, 50256);
});

test('generate and eval take a Hugging Face folder; random N(0, 0.02) weights score ln(50257) nats/token', () => {
  const g = trainformer('generate', sharded, '--prompt', 'ROMEO:', '--maxNewTokens', '4', '--seed', '1');
  assert.equal(g.code, 0, g.stderr);
  assert.ok(g.stdout.startsWith('ROMEO:'));
  writeFileSync(join(dir, 'val.txt'), shakespeare.slice(0, 4000));
  const e = trainformer('eval', single, '--data', join(dir, 'val.txt'), '--data.blockSize', '32');
  assert.equal(e.code, 0, e.stderr);
  const m = JSON.parse(e.stdout.trim().split('\n').at(-1)!) as { loss: number };
  assert.ok(Math.abs(m.loss - Math.log(50257)) < 0.02, `loss ${m.loss}`);
  const none = trainformer('eval', single);
  assert.equal(none.errLines.length, 1, none.stderr);
  assert.match(none.errLines[0], /a Hugging Face model folder has no validation data; give --data <text file>$/);
});

test('fine-tune from the CLI with model.fromPretrained: the loss falls; export → PyTorch logits equal (1e-5)', async () => {
  writeFileSync(join(dir, 'train.txt'), shakespeare.slice(0, 30000));
  const run = join(dir, 'run');
  writeFileSync(join(dir, 'ft.json'), JSON.stringify({
    task: 'lm', outputDir: run, seed: 1,
    model: { fromPretrained: sharded },
    data: { train: join(dir, 'train.txt'), blockSize: 16 },
    learningRate: 1e-2, warmupSteps: 0, perDeviceTrainBatchSize: 2, maxSteps: 12, loggingSteps: 1, evalSteps: 12, saveSteps: 12,
    maxEvalBatches: 2, generation: { prompt: 'A', maxNewTokens: 2 },
  }));
  const r = trainformer('train', '--config', join(dir, 'ft.json'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /vocabulary 50257/);
  const losses = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .filter((l) => l.split === 'train').map((l) => l.loss as number);
  const first = losses.slice(0, 3).reduce((a, b) => a + b) / 3, last = losses.slice(-3).reduce((a, b) => a + b) / 3;
  assert.ok(first > 10.5 && last < first - 0.5, `train loss ${first} → ${last}`);
  // The run's config holds the architecture: it reloads without reading the folder.
  const saved = JSON.parse(readFileSync(join(run, 'trainformer_config.json'), 'utf8'));
  assert.deepEqual([saved.model.nLayer, saved.model.nEmbd, saved.model.nHead, saved.model.vocabSize, saved.model.maxPositions], [2, 32, 2, 50257, 64]);
  const x = trainformer('export', run, '--format', 'hf', join(dir, 'exported'));
  assert.equal(x.code, 0, x.stderr);
  const { task } = await taskFromCheckpoint(run, [], { noData: true });
  const ours = logitsOf(task.model as unknown as GPT);
  assert.deepEqual(logitsOf(loadHFGPT2(join(dir, 'exported'))), ours);
  assert.ok(maxDiff(ours, torchLogits(join(dir, 'exported'))) <= 1e-5);
  assert.notDeepEqual(ours, logitsOf(loadHFGPT2(sharded)));
});

test('folders that are not a GPT-2 layout: one line naming the file', () => {
  const cases: Array<[string, (d: string) => void, RegExp]> = [
    ['llama', (d) => writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'llama', hidden_size: 64 })), /config\.json: model_type is "llama"; only GPT-2 layouts \(model_type "gpt2"\) are read$/],
    ['bin', (d) => { writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_embd: 32, n_layer: 1, n_head: 2 })); writeFileSync(join(d, 'pytorch_model.bin'), 'x'); }, /model\.safetensors: not found \(the folder has pytorch_model\.bin; only safetensors weights are read\)$/],
    ['empty', () => undefined, /bad-empty\/config\.json: not found \(a GPT-2 folder needs config\.json and model\.safetensors\)$/],
    ['notok', (d) => execFileSync('/usr/bin/python3', [join(fixtures, 'make_gpt2_folder.py'), d, '1', '8', '2', '16']), /bad-notok: no tokenizer\.json, nor vocab\.json \+ merges\.txt \(the tokenizer of a pretrained folder\)$/],
  ];
  for (const [name, fill, re] of cases) {
    const d = join(dir, `bad-${name}`);
    mkdirSync(d);
    fill(d);
    const cfg = join(dir, `bad-${name}.json`);
    writeFileSync(cfg, JSON.stringify({ task: 'lm', outputDir: join(dir, `out-${name}`), model: { fromPretrained: d }, data: { train: join(dir, 'val.txt') } }));
    const r = trainformer('train', '--config', cfg);
    assert.notEqual(r.code, 0);
    assert.equal(r.errLines.length, 1, r.stderr);
    assert.match(r.errLines[0], /^config error: model\.fromPretrained: /);
    assert.match(r.errLines[0], re);
  }
});
