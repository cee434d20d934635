import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFormatError, TrainformerError } from '../../src/errors.js';
import * as T from '../../src/tensor/index.js';
import { copyInto, latestCheckpoint, listCheckpoints, loadCheckpoint, pruneCheckpoints, removeStaleTemporaries, saveCheckpoint, toSafe } from '../../src/train/checkpoint.js';

function contents(v: number) {
  const w = T.tensor(new Float32Array([v, v + 0.5, -v, 1e-30]), [2, 2]);
  return { model: { w: toSafe(w) }, optimizer: {}, trainerState: { step: v }, config: { a: 1 }, artifacts: { 'tokenizer.json': { kind: 'char' } } };
}

test('save, list, load: values bit for bit, artifacts and state kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-ck-'));
  const p = saveCheckpoint(dir, 5, contents(5));
  assert.equal(p, join(dir, 'checkpoint-5'));
  const c = loadCheckpoint(p);
  assert.deepEqual(Array.from(c.model.w.data as Float32Array), Array.from(new Float32Array([5, 5.5, -5, 1e-30])));
  assert.deepEqual(c.trainerState, { step: 5 });
  assert.deepEqual(c.artifacts, { 'tokenizer.json': { kind: 'char' } });
  // On disk under trainformer's names, not Hugging Face's.
  assert.deepEqual(readdirSync(p).sort(), ['model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'trainformer_config.json', 'trainformer_tokenizer.json']);
  const target = T.zeros([2, 2]);
  copyInto([['w', target]], c.model, 'x');
  assert.deepEqual(target.toArray(), Array.from(new Float32Array([5, 5.5, -5, 1e-30])));
  assert.throws(() => copyInto([['v', target]], c.model, 'ck'), /ck: tensor "v" is missing/);
  assert.throws(() => copyInto([['w', T.zeros([4])]], c.model, 'ck'), /ck: tensor "w" has shape \[2, 2\], the model needs \[4\]/);
  // Strict like PyTorch's load_state_dict: a tensor the model lacks is refused, and nothing is copied.
  const untouched = T.zeros([2, 2]);
  const extra = { ...c.model, 'h.9.weight': c.model.w };
  assert.throws(() => copyInto([['w', untouched]], extra, 'ck'), /^FileFormatError: ck: holds tensor "h\.9\.weight" that the model built from the run's config does not have/);
  assert.deepEqual(untouched.toArray(), [0, 0, 0, 0]);
  // A checkpoint from before the rename (config.json, tokenizer.json) reads the same.
  renameSync(join(p, 'trainformer_config.json'), join(p, 'config.json'));
  renameSync(join(p, 'trainformer_tokenizer.json'), join(p, 'tokenizer.json'));
  const old = loadCheckpoint(p);
  assert.deepEqual(old.config, { a: 1 });
  assert.deepEqual(old.artifacts, { 'tokenizer.json': { kind: 'char' } });
  // Saving the same step again replaces it.
  saveCheckpoint(dir, 5, contents(6));
  assert.deepEqual(loadCheckpoint(p).trainerState, { step: 6 });
  assert.deepEqual(readdirSync(dir), ['checkpoint-5']);
});

test('saveTotalLimit keeps the newest checkpoints (and the one asked to keep)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-ck-'));
  for (const s of [10, 20, 30, 40]) saveCheckpoint(dir, s, contents(s));
  assert.deepEqual(listCheckpoints(dir).map((c) => c.step), [10, 20, 30, 40]);
  pruneCheckpoints(dir, 2, join(dir, 'checkpoint-10'));
  assert.deepEqual(listCheckpoints(dir).map((c) => c.step), [10, 40]);
  assert.equal(latestCheckpoint(dir), join(dir, 'checkpoint-40'));
  assert.deepEqual(pruneCheckpoints(dir, null), []);
});

test('an interrupted save leaves no checkpoint folder; leftovers are removed; incomplete folders are not checkpoints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-ck-'));
  mkdirSync(join(dir, '.tmp-checkpoint-7-123'));
  mkdirSync(join(dir, 'checkpoint-9')); // no trainer_state.json: not complete
  assert.equal(latestCheckpoint(dir), null);
  removeStaleTemporaries(dir);
  assert.ok(!existsSync(join(dir, '.tmp-checkpoint-7-123')));
  assert.throws(() => loadCheckpoint(join(dir, 'checkpoint-1')), (e: unknown) => e instanceof FileFormatError && /checkpoint-1: checkpoint folder does not exist/.test((e as Error).message));
  assert.throws(() => loadCheckpoint(join(dir, 'checkpoint-9')), /checkpoint-9\/(model\.safetensors|trainer_state\.json): no such file$/);
});

test('a failed write (disk full) names the checkpoint, outputDir and file; the temporary folder is removed, an earlier save of the step kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-ck-'));
  saveCheckpoint(dir, 10, contents(1));
  // What fs.writeSync throws on a full disk (Node's message and code), after part of the file is written;
  // into each of the checkpoint's files in turn, the safetensors ones included.
  const diskFullAt = (failing: string) => (path: string, data: string | Uint8Array) => {
    writeFileSync(path, typeof data === 'string' ? data.slice(0, 3) : data.subarray(0, 3));
    if (path.endsWith(`/${failing}`)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  };
  for (const failing of ['model.safetensors', 'optimizer.safetensors', 'trainer_state.json', 'trainformer_tokenizer.json']) {
    assert.throws(() => saveCheckpoint(dir, 10, contents(2), diskFullAt(failing)), (e: unknown) => e instanceof TrainformerError
      && e.message === `cannot save checkpoint-10 in ${dir}: writing ${failing}: no space left on device (ENOSPC)`);
    assert.deepEqual(readdirSync(dir), ['checkpoint-10'], 'no .tmp-checkpoint-10-<pid> folder left');
    const kept = loadCheckpoint(join(dir, 'checkpoint-10'));
    assert.deepEqual(kept.trainerState, { step: 1 }, 'the earlier checkpoint-10 is kept');
    assert.deepEqual(Array.from(kept.model.w.data as Float32Array), [1, 1.5, -1, Math.fround(1e-30)], 'with its weights');
  }
  assert.throws(() => saveCheckpoint(dir, 20, contents(2), diskFullAt('model.safetensors')), /^TrainformerError: cannot save checkpoint-20 in .*: writing model\.safetensors: no space left on device \(ENOSPC\)$/);
  assert.deepEqual(readdirSync(dir), ['checkpoint-10']);
});
