import { test, describe, mock, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ValueError } from '../../src/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../../src/io/atomic.js';

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-atomic-'));
  tmpDirs.push(d);
  return d;
}
process.on('exit', () => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});
afterEach(() => mock.restoreAll());

function enospc(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
}

describe('writeFileAtomic', () => {
  test('creates a file (string as UTF-8, bytes as is) and leaves nothing else in the folder', () => {
    const dir = tmpDir();
    const a = path.join(dir, 'a.txt');
    const b = path.join(dir, 'b.bin');
    writeFileAtomic(a, 'héllo ✓\n');
    writeFileAtomic(b, Uint8Array.from([0, 1, 255, 128]));
    assert.equal(fs.readFileSync(a, 'utf8'), 'héllo ✓\n');
    assert.deepEqual([...fs.readFileSync(b)], [0, 1, 255, 128]);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.txt', 'b.bin']);
  });

  test('replaces an existing file, keeping its permission bits', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'state.json');
    fs.writeFileSync(p, 'old contents that are longer than the new ones');
    fs.chmodSync(p, 0o640);
    writeFileAtomic(p, 'new');
    assert.equal(fs.readFileSync(p, 'utf8'), 'new');
    assert.equal(fs.statSync(p).mode & 0o777, 0o640);
    assert.deepEqual(fs.readdirSync(dir), ['state.json']);
  });

  test('a subarray view writes only its own bytes; an empty write gives an empty file', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'v');
    writeFileAtomic(p, Uint8Array.from([9, 8, 7, 6, 5]).subarray(1, 3));
    assert.deepEqual([...fs.readFileSync(p)], [8, 7]);
    writeFileAtomic(p, '');
    assert.equal(fs.statSync(p).size, 0);
  });

  test('a write that fails part-way leaves the old file intact and no temp file', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'model.safetensors');
    fs.writeFileSync(p, 'OLD');
    const realWrite = fs.writeSync;
    // Write a few bytes for real, then fail as a full disk would.
    mock.method(fs, 'writeSync', (fd: number, buf: Uint8Array, off: number, len: number, pos?: number | null) => {
      realWrite(fd, buf, off, Math.min(len, 3), pos);
      throw enospc();
    });
    assert.throws(() => writeFileAtomic(p, 'NEW CONTENTS, MUCH LONGER'), /ENOSPC/);
    mock.restoreAll();
    assert.equal(fs.readFileSync(p, 'utf8'), 'OLD');
    assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  });

  test('short writes are continued until every byte is written', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'big');
    const data = new Uint8Array(10_000).map((_, i) => (i * 7) & 255);
    const realWrite = fs.writeSync;
    let calls = 0;
    mock.method(fs, 'writeSync', (fd: number, buf: Uint8Array, off: number, len: number, pos?: number | null) => {
      calls++;
      return realWrite(fd, buf, off, Math.min(len, 999), pos);
    });
    writeFileAtomic(p, data);
    mock.restoreAll();
    assert.ok(calls >= 11);
    assert.deepEqual(new Uint8Array(fs.readFileSync(p)), data);
  });

  test('a failing fsync leaves the old file intact and no temp file', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'f');
    fs.writeFileSync(p, 'OLD');
    mock.method(fs, 'fsyncSync', () => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    });
    assert.throws(() => writeFileAtomic(p, 'NEW'), /EIO/);
    mock.restoreAll();
    assert.equal(fs.readFileSync(p, 'utf8'), 'OLD');
    assert.deepEqual(fs.readdirSync(dir), ['f']);
  });

  test('a failing rename (target is a non-empty folder) removes the temp file and keeps the folder', () => {
    const dir = tmpDir();
    const target = path.join(dir, 'checkpoint-10');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inner'), 'x');
    assert.throws(() => writeFileAtomic(target, 'data'), (e: NodeJS.ErrnoException) => typeof e.code === 'string');
    assert.deepEqual(fs.readdirSync(dir), ['checkpoint-10']);
    assert.equal(fs.readFileSync(path.join(target, 'inner'), 'utf8'), 'x');
  });

  test('a missing folder throws ENOENT and creates nothing', () => {
    const dir = tmpDir();
    assert.throws(() => writeFileAtomic(path.join(dir, 'no', 'such', 'file'), 'x'), { code: 'ENOENT' });
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  test('readers never see a partial file: the old or the new contents, whole', () => {
    // Swap contents many times; after each write the file holds exactly one complete version.
    const dir = tmpDir();
    const p = path.join(dir, 'r');
    const versions = ['A'.repeat(5000), 'B'.repeat(3)];
    writeFileAtomic(p, versions[0]!);
    for (let i = 0; i < 50; i++) {
      const before = fs.openSync(p, 'r'); // a reader holding the old file open keeps the old bytes
      writeFileAtomic(p, versions[(i + 1) % 2]!);
      const old = new Uint8Array(6000);
      const n = fs.readSync(before, old, 0, 6000, 0);
      fs.closeSync(before);
      assert.equal(new TextDecoder().decode(old.subarray(0, n)), versions[i % 2]);
      assert.equal(fs.readFileSync(p, 'utf8'), versions[(i + 1) % 2]);
    }
    assert.deepEqual(fs.readdirSync(dir), ['r']);
  });
});

describe('writeJsonAtomic', () => {
  test('writes indented JSON with a trailing newline that parses back to the value', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'trainer_state.json');
    const value = { step: 10, logHistory: [{ loss: 2.5 }], nested: { a: null, s: 'ü' } };
    writeJsonAtomic(p, value);
    const text = fs.readFileSync(p, 'utf8');
    assert.ok(text.endsWith('}\n'));
    assert.ok(text.includes('\n  "step": 10'));
    assert.deepEqual(JSON.parse(text), value);
    writeJsonAtomic(p, [1, 2], 0);
    assert.equal(fs.readFileSync(p, 'utf8'), '[1,2]\n');
  });

  test('values without a JSON form are ValueErrors and leave the old file alone', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'config.json');
    fs.writeFileSync(p, '{"old":true}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [undefined, () => 1, { n: 1n }, cyclic]) {
      assert.throws(() => writeJsonAtomic(p, bad), (e: unknown) => e instanceof ValueError && e.message.includes(p));
    }
    assert.equal(fs.readFileSync(p, 'utf8'), '{"old":true}');
    assert.deepEqual(fs.readdirSync(dir), ['config.json']);
  });
});
