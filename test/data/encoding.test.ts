/**
 * Files that are not UTF-8 are named as such (issue 19): JSONL in UTF-16 or Latin-1 used to become
 * U+FFFD characters in silence. The error names the file, the line and the encoding it looks like;
 * a UTF-8 byte-order mark is accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFormatError } from '../../src/errors.js';
import { asObject, readJsonl, stringField } from '../../src/data/jsonl.js';
import { readTextFile } from '../../src/data/text.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-encoding-'));
const lines = '{"text": "caf\u00e9 na\u00efve", "label": "a"}\n{"text": "second \u00e9t\u00e9", "label": "b"}\n';
const parse = (v: unknown) => stringField(asObject(v), 'text');

/** Concatenated bytes. */
function cat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(Array.from(p), o); o += p.length; }
  return out;
}

function file(name: string, bytes: ArrayLike<number>): string {
  const p = join(dir, name);
  writeFileSync(p, cat(bytes));
  return p;
}

async function jsonlError(p: string): Promise<string> {
  try {
    await readJsonl(p, parse);
  } catch (e) {
    assert.ok(e instanceof FileFormatError, String(e));
    return e.message;
  }
  assert.fail('read without an error');
}

test('JSONL in UTF-16LE (with or without a byte-order mark) is "not UTF-8 (looks like UTF-16LE)"', async () => {
  const le = Buffer.from(lines, 'utf16le');
  const withBom = file('bom16.jsonl', cat(...[Buffer.from([0xff, 0xfe]), le]));
  assert.equal(await jsonlError(withBom), `${withBom}:1: not UTF-8 (looks like UTF-16LE); save it as UTF-8`);
  const noBom = file('nobom16.jsonl', le);
  assert.equal(await jsonlError(noBom), `${noBom}:1: not UTF-8 (looks like UTF-16LE); save it as UTF-8`);
  const be = Uint8Array.from(le);
  for (let i = 0; i + 1 < be.length; i += 2) { const t = be[i]; be[i] = be[i + 1]; be[i + 1] = t; }
  const bigEndian = file('be16.jsonl', cat(...[Buffer.from([0xfe, 0xff]), be]));
  assert.match(await jsonlError(bigEndian), /:1: not UTF-8 \(looks like UTF-16BE\)/);
});

test('JSONL in Latin-1 names the first line that is not UTF-8', async () => {
  const p = file('latin1.jsonl', Buffer.from('{"text": "plain ascii", "label": "a"}\n' + lines, 'latin1'));
  assert.equal(await jsonlError(p), `${p}:2: not UTF-8 (looks like Latin-1 or Windows-1252); save it as UTF-8`);
});

test('a text corpus in UTF-16 or Latin-1 is an error; UTF-8 with a byte-order mark is read without it', async () => {
  const p16 = file('corpus16.txt', cat(...[Buffer.from([0xff, 0xfe]), Buffer.from('to be or not to be', 'utf16le')]));
  await assert.rejects(readTextFile(p16), (e: Error) => e instanceof FileFormatError && e.message === `${p16}:1: not UTF-8 (looks like UTF-16LE); save it as UTF-8`);
  const p1 = file('corpus1.txt', Buffer.from('line one\nline two caf\u00e9\n', 'latin1'));
  await assert.rejects(readTextFile(p1), (e: Error) => e instanceof FileFormatError && e.message === `${p1}:2: not UTF-8 (looks like Latin-1 or Windows-1252); save it as UTF-8`);
  const bom = file('bom8.txt', cat(...[Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('caf\u00e9', 'utf8')]));
  assert.equal(await readTextFile(bom), 'caf\u00e9');
});

test('valid UTF-8 JSONL, with a byte-order mark and astral characters, reads unchanged', async () => {
  const p = file('ok.jsonl', cat(...[Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(lines + '{"text": "\u{1F600}\u{1F1EB}\u{1F1F7}"}\n', 'utf8')]));
  const r = await readJsonl(p, parse);
  assert.deepEqual(r.records, ['caf\u00e9 na\u00efve', 'second \u00e9t\u00e9', '\u{1F600}\u{1F1EB}\u{1F1F7}']);
});

test('a character the tokenizer cannot encode names the file and line that hold it', async () => {
  const { CharTokenizer, LabelMap, encodeClassification } = await import('../../src/data/index.js');
  const { encodeText } = await import('../../src/data/text.js');
  const tok = CharTokenizer.fromCorpus(['ab\n']);
  assert.throws(() => encodeText('ab\nba\nax', tok, 'corpus.txt'), (e: unknown) => e instanceof FileFormatError && /^corpus\.txt:3: char tokenizer: character "x"/.test(e.message));
  assert.throws(() => encodeText('x', tok, 'val.txt', 10), /val\.txt:10: /);
  const data = { path: 'train.jsonl', skipped: 0, examples: [{ text: 'ab', label: 'p', line: 1 }, { text: 'bz', label: 'p', line: 4 }] };
  assert.throws(() => encodeClassification(data, tok, new LabelMap(['p'])), (e: unknown) => e instanceof FileFormatError && /^train\.jsonl:4: char tokenizer: character "z"/.test(e.message));
});
