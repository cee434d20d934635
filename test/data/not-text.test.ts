/**
 * Binary data and folders given where a text file is expected (fresh-user trial): an executable used
 * as a corpus was reported as "looks like Latin-1", a folder as a bare EISDIR. Each is now one line
 * naming the file and saying what it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFormatError } from '../../src/errors.js';
import { asObject, readJsonl, stringField } from '../../src/data/jsonl.js';
import { readTextFile } from '../../src/data/text.js';
import { binaryEvidence } from '../../src/data/encoding.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-not-text-'));

function file(name: string, bytes: ArrayLike<number> | string): string {
  const p = join(dir, name);
  writeFileSync(p, typeof bytes === 'string' ? bytes : Uint8Array.from(Array.from(bytes)));
  return p;
}

async function message(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (e) {
    assert.ok(e instanceof FileFormatError, String(e));
    return e.message;
  }
  return assert.fail('read without an error');
}

// The first bytes of an x86-64 ELF executable (the header every Linux binary starts with), then code bytes.
const elf = [0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x3e, 0x00, 0x01, 0x00, 0x00, 0x00,
  0x48, 0x89, 0xe5, 0x48, 0x83, 0xec, 0x10, 0xc3];
// gzip's header (1f 8b, deflate, flags, mtime, xfl, OS) and deflate bytes: no NUL, not UTF-8.
const gzip = [0x1f, 0x8b, 0x08, 0x08, 0x5c, 0x2d, 0x6a, 0x65, 0x02, 0x03, 0x74, 0x2e, 0x74, 0x78, 0x74, 0x01, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0x28, 0xcf, 0x2f,
  0xca, 0x49, 0xe1, 0x02, 0x16, 0x9d, 0x84, 0x8f, 0x1e, 0x05, 0x07, 0x19, 0x1c, 0x12, 0x8e, 0x13, 0x14, 0x92];

test('an executable as a corpus or JSONL file is "not a text file", naming the NUL byte, not "looks like Latin-1"', async () => {
  const p = file('program', elf);
  assert.equal(await message(() => readTextFile(p)), `${p}: not a text file (binary data: a NUL byte at byte 7); give a UTF-8 text file`);
  assert.equal(await message(() => readJsonl(p, (v) => stringField(asObject(v), 'text'))), `${p}: not a text file (binary data: a NUL byte at byte 7); give a UTF-8 text file`);
});

test('valid UTF-8 holding a NUL byte is binary too (it used to be read as text in silence)', async () => {
  const p = file('nul.txt', 'hello\u0000world\n');
  assert.equal(await message(() => readTextFile(p)), `${p}: not a text file (binary data: a NUL byte at byte 5); give a UTF-8 text file`);
});

test('compressed bytes without a NUL: not text (control characters counted), where Latin-1 text stays "looks like Latin-1"', async () => {
  const p = file('data.gz', gzip);
  // 1f, 08, 08, 02, 03, 01, 02, 16, 1e, 05, 07, 19, 1c, 12, 13, 14: the C0 control bytes other than tab, line ends, form feed and escape.
  assert.equal(await message(() => readTextFile(p)), `${p}: not a text file (binary data: 16 control characters in its first ${gzip.length} bytes); give a UTF-8 text file`);
  const latin1 = file('latin1.txt', Buffer.from('caf\u00e9 na\u00efve\n\u00e9t\u00e9\n', 'latin1'));
  assert.equal(await message(() => readTextFile(latin1)), `${latin1}:1: not UTF-8 (looks like Latin-1 or Windows-1252); save it as UTF-8`);
  assert.equal(binaryEvidence(Buffer.from('tab\tand\r\nform\ffeed and \u001b[1mescape\u001b[0m\n')), null);
});

test('a folder where a text or JSONL file is expected: "is a folder, expected a file", not EISDIR', async () => {
  const d = join(dir, 'corpus');
  mkdirSync(d);
  assert.equal(await message(() => readTextFile(d)), `${d}: is a folder, expected a file`);
  assert.equal(await message(() => readJsonl(d, (v) => v)), `${d}: is a folder, expected a file`);
});
