/**
 * The CLI's reading of configs as a Hugging Face user writes them: data paths relative to the config
 * file's folder (run from another working directory), snake_case and kebab-case flags, a
 * training_args.json with one warning for the fields trainformer lacks, and `train --help`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fieldReference } from '../../src/cli/config-help.js';
import { TrainConfigSchema } from '../../src/train/config.js';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, '../../src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'tf-names-'));

function trainformer(cwd: string, ...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', env: { ...process.env, TRAINFORMER_DEBUG: '' }, timeout: HANG_GUARD_MS });
}

// A project folder: configs/run.json names its data as data/tiny.txt, relative to configs/.
const project = join(dir, 'project');
mkdirSync(join(project, 'configs', 'data'), { recursive: true });
writeFileSync(join(project, 'configs', 'data', 'tiny.txt'), 'to be or not to be, that is the question.\n'.repeat(40));
const config = {
  task: 'lm', seed: 1,
  data: { train: 'data/tiny.txt', block_size: 8 },
  model: { n_layer: 1, n_head: 2, n_embd: 16 },
  learning_rate: 1e-2, per_device_train_batch_size: 4, max_steps: 4, logging_steps: 2, eval_steps: 2, save_steps: 4,
  generation: { prompt: 'to ', max_new_tokens: 5 },
};
writeFileSync(join(project, 'configs', 'run.json'), JSON.stringify(config));

test('data paths resolve against the config file, from any working directory; snake/kebab flags override', () => {
  const elsewhere = join(dir, 'elsewhere');
  mkdirSync(elsewhere);
  const r = trainformer(elsewhere, 'train', '--config', join(project, 'configs', 'run.json'), '--output-dir', 'out', '--max_steps', '3', '--disable-tqdm', 'true');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^trained 3 steps/m);
  const saved = JSON.parse(readFileSync(join(elsewhere, 'out', 'trainformer_config.json'), 'utf8')) as { data: { train: string; blockSize: number }; maxSteps: number; model: { nEmbd: number } };
  assert.equal(saved.data.train, join(project, 'configs', 'data', 'tiny.txt'), 'stored absolute, so eval from the checkpoint finds it');
  assert.equal(saved.data.blockSize, 8);
  assert.equal(saved.model.nEmbd, 16);
  assert.equal(saved.maxSteps, 3);
  const e = trainformer(dir, 'eval', join(elsewhere, 'out'));
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stdout, /validation loss [0-9.]+ nats\/char/);
});

test('--training-args reads a Hugging Face training_args.json and names the fields it ignores in one warning', () => {
  const args = { output_dir: join(dir, 'hf-out'), learning_rate: 0.02, max_steps: 2, logging_steps: 1, eval_steps: 2, save_steps: 2, seed: 3, fp16: false, report_to: ['none'], push_to_hub: false, data_seed: null, disable_tqdm: true, tf32: false };
  writeFileSync(join(dir, 'training_args.json'), JSON.stringify(args));
  const r = trainformer(project, 'train', '--config', 'configs/run.json', '--training-args', join(dir, 'training_args.json'));
  assert.equal(r.status, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0]!, /2 fields trainformer does not have, ignored: push_to_hub, tf32$/);
  const saved = JSON.parse(readFileSync(join(dir, 'hf-out', 'trainformer_config.json'), 'utf8')) as { learningRate: number; maxSteps: number; seed: number; fp16: boolean; reportTo: string[] };
  assert.deepEqual([saved.learningRate, saved.maxSteps, saved.seed, saved.fp16, saved.reportTo], [0.02, 2, 3, false, ['none']]);
});

test('train --help lists every config field with its type and default', () => {
  const r = trainformer(dir, 'train', '--help');
  assert.equal(r.status, 0);
  for (const f of fieldReference(TrainConfigSchema)) {
    const line = r.stdout.split('\n').find((l) => l.trimStart().startsWith(`${f.path} `));
    assert.ok(line, `${f.path} is listed`);
    assert.ok(line.includes(f.type), `${f.path}: type ${f.type}`);
    assert.ok(f.default === 'required' ? line.includes('required') : f.default === 'none' ? line.includes('optional') : line.includes(`default ${f.default}`), `${f.path}: default`);
  }
  assert.match(r.stdout, /learningRate +number > 0 +default 0\.00005\n +Peak learning rate of the schedule\n/);
});
