/**
 * A full disk never destroys what a run folder holds (outside trial: after a full disk metrics.jsonl
 * was left at 0 bytes): metrics.jsonl, trainformer_config.json and the tokenizer / labels files
 * (rewritten at every start, a resume included), report.html, and the run lock; each failure is one
 * line naming the file. The disk is made full by replacing `fs.writeSync` and `fs.appendFileSync` with functions
 * that write part of their bytes and then throw Node's ENOSPC error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs, { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TrainformerError } from '../../src/errors.js';
import { writeReport } from '../../src/report/index.js';
import { MetricsLogger } from '../../src/train/metrics.js';
import { writeRunFiles } from '../../src/train/run-folder.js';
import { lockRunFolder } from '../../src/train/run-lock.js';
import { cliPath } from '../cli/run-cli.js';

const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });

/**
 * Runs `f` with a full disk: fs.writeSync (the atomic writer's), fs.appendFileSync and fs.writeFileSync
 * (which write strings without calling fs.writeSync) write up to 5 bytes, then throw ENOSPC.
 */
function withFullDisk(f: () => void): void {
  const { writeSync, appendFileSync, writeFileSync } = fs;
  fs.writeSync = ((fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    if (typeof data === 'string') writeSync(fd, data.slice(0, 5));
    else writeSync(fd, data, (rest[0] as number | undefined) ?? 0, Math.min(5, (rest[1] as number | undefined) ?? data.byteLength));
    throw enospc();
  }) as typeof fs.writeSync;
  fs.appendFileSync = ((path: fs.PathOrFileDescriptor, data: string | Uint8Array) => {
    appendFileSync(path, data.slice(0, 5));
    throw enospc();
  }) as typeof fs.appendFileSync;
  fs.writeFileSync = ((path: fs.PathOrFileDescriptor, data: string | Uint8Array, opts?: fs.WriteFileOptions) => {
    writeFileSync(path, data.slice(0, 5), opts);
    throw enospc();
  }) as typeof fs.writeFileSync;
  syncBuiltinESMExports();
  try {
    f();
  } finally {
    Object.assign(fs, { writeSync, appendFileSync, writeFileSync });
    syncBuiltinESMExports();
  }
}

const earlier = '{"split":"train","step":1,"loss":2.5}\n{"split":"train","step":2,"loss":2.25}\n{"split":"eval","step":2,"loss":2.4}\n';

test('an append on a full disk: one error naming metrics.jsonl, the earlier lines kept whole, no torn line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-metrics-full-'));
  const m = new MetricsLogger(join(dir, 'metrics.jsonl'));
  m.reset([{ split: 'train', step: 1, loss: 2.5 }, { split: 'train', step: 2, loss: 2.25 }, { split: 'eval', step: 2, loss: 2.4 }]);
  assert.equal(readFileSync(m.path, 'utf8'), earlier);
  withFullDisk(() => assert.throws(() => m.log({ split: 'train', step: 3, loss: 2 }), (e: unknown) => e instanceof TrainformerError
    && e.message === `cannot append to ${m.path}: no space left on device (ENOSPC); its earlier lines are kept`));
  assert.equal(readFileSync(m.path, 'utf8'), earlier);
  m.log({ split: 'train', step: 3, loss: 2 });
  assert.equal(readFileSync(m.path, 'utf8'), `${earlier}{"split":"train","step":3,"loss":2}\n`, 'logging goes on once there is space');
});

test('a resume\'s rewrite (reset) on a full disk leaves metrics.jsonl as it was, and no temporary file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-metrics-full-'));
  const m = new MetricsLogger(join(dir, 'metrics.jsonl'));
  m.reset([{ split: 'train', step: 1, loss: 2.5 }, { split: 'train', step: 2, loss: 2.25 }, { split: 'eval', step: 2, loss: 2.4 }]);
  withFullDisk(() => assert.throws(() => m.reset([{ split: 'train', step: 1, loss: 2.5 }]), (e: unknown) => e instanceof TrainformerError
    && e.message === `cannot write ${m.path}: no space left on device (ENOSPC); the file is left as it was`));
  assert.equal(readFileSync(m.path, 'utf8'), earlier);
  assert.deepEqual(readdirSync(dir), ['metrics.jsonl']);
});

test('the first append of a new log on a full disk leaves no file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-metrics-full-'));
  const m = new MetricsLogger(join(dir, 'metrics.jsonl'));
  withFullDisk(() => assert.throws(() => m.log({ split: 'train', step: 1, loss: 2 }), /^TrainformerError: cannot append to .*metrics\.jsonl: no space left on device \(ENOSPC\); its earlier lines are kept$/));
  assert.deepEqual(readdirSync(dir), []);
});

test('a start or resume on a full disk keeps trainformer_config.json and the tokenizer file as they were', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-runfiles-full-'));
  writeRunFiles(dir, { task: 'lm', seed: 1 }, { 'tokenizer.json': { kind: 'char' } });
  const config = readFileSync(join(dir, 'trainformer_config.json'), 'utf8');
  const tokenizer = readFileSync(join(dir, 'trainformer_tokenizer.json'), 'utf8');
  withFullDisk(() => assert.throws(() => writeRunFiles(dir, { task: 'lm', seed: 2 }, { 'tokenizer.json': { kind: 'word' } }), (e: unknown) => e instanceof TrainformerError
    && e.message === `cannot write ${join(dir, 'trainformer_config.json')}: no space left on device (ENOSPC); the file is left as it was`));
  assert.equal(readFileSync(join(dir, 'trainformer_config.json'), 'utf8'), config);
  assert.equal(readFileSync(join(dir, 'trainformer_tokenizer.json'), 'utf8'), tokenizer);
  assert.deepEqual(readdirSync(dir).sort(), ['trainformer_config.json', 'trainformer_tokenizer.json']);
});

test('the run lock on a full disk: one line naming it, and no empty lock file left behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-lock-full-'));
  withFullDisk(() => assert.throws(() => lockRunFolder(dir), (e: unknown) => e instanceof TrainformerError
    && e.message === `outputDir: cannot write the run lock ${join(dir, 'trainformer.lock')}: no space left on device (ENOSPC)`));
  assert.deepEqual(readdirSync(dir), []);
  lockRunFolder(dir)();
});

test('report.html on a full disk: one line naming it, the earlier report kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-report-full-'));
  writeRunFiles(dir, { task: 'lm', outputDir: dir }, {});
  const m = new MetricsLogger(join(dir, 'metrics.jsonl'));
  m.reset([{ split: 'train', step: 1, loss: 2.5 }, { split: 'train', step: 2, loss: 2.25 }]);
  const { html } = await writeReport(dir);
  const before = readFileSync(html, 'utf8');
  m.log({ split: 'train', step: 3, loss: 2 });
  const { writeSync } = fs;
  fs.writeSync = (() => { throw enospc(); }) as typeof fs.writeSync;
  try {
    await assert.rejects(writeReport(dir), (e: unknown) => e instanceof TrainformerError
      && e.message === `cannot write ${html}: no space left on device (ENOSPC); the file is left as it was`);
  } finally {
    fs.writeSync = writeSync;
  }
  assert.equal(readFileSync(html, 'utf8'), before);
});

test('`trainformer train` on a full disk: the checkpoint error and the report that could not be written make one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-cli-full-'));
  const text = join(dir, 'text.txt');
  writeFileSync(text, 'some training text that is long enough for a few blocks.\n'.repeat(20));
  const out = join(dir, 'run');
  const cfg = join(dir, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({ task: 'lm', outputDir: out, data: { train: text, blockSize: 8 }, model: { nLayer: 1, nHead: 2, nEmbd: 8 }, maxSteps: 4, saveSteps: 2, disableTqdm: true }));
  const preload = pathToFileURL(resolve(cliPath, '../../../test/util/full-disk.js')).href;
  // The checkpoint's temporary folder and the report are on the full disk.
  const r = spawnSync(process.execPath, ['--import', preload, cliPath, 'train', '--config', cfg], {
    encoding: 'utf8', env: { ...process.env, TRAINFORMER_DEBUG: '', TF_TEST_FULL_DISK: '/\\.tmp-checkpoint-|report\\.html|loss\\.svg' },
  });
  assert.equal(r.status, 1, r.stderr);
  const said = r.stderr.split('\n').filter((l) => /^(warning|error|config error):/.test(l));
  assert.deepEqual(said, [`error: cannot save checkpoint-2 in ${out}: writing model.safetensors: no space left on device (ENOSPC); `
    + `report not written: cannot write ${join(out, 'report.html')}: no space left on device (ENOSPC); the file is left as it was`]);
  assert.equal(existsSync(join(out, 'checkpoint-2')), false);
});
