/**
 * `trainformer score` as sacreBLEU's command: the README example scored from stdin with two
 * reference files (BLEU 48.53, chrF2 59.73), --json, and bad input as one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const cli = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'tf-score-'));
const file = (name: string, lines: string[]) => { const p = join(dir, name); writeFileSync(p, lines.join('\n') + '\n'); return p; };
const ref1 = file('ref1.txt', ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.']);
const ref2 = file('ref2.txt', ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.']);
const hyp = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'].join('\n') + '\n';

function score(args: string[], input = hyp) {
  const r = spawnSync(process.execPath, [cli, 'score', ...args], { input, encoding: 'utf8', timeout: HANG_GUARD_MS });
  const errLines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('trainformer: native backend'));
  return { code: r.status, stdout: r.stdout, errLines };
}

test('score from stdin with two references: sacreBLEU README lines', () => {
  const r = score(['--metrics', 'bleu,chrf', '--ref', ref1, '--ref', ref2]);
  assert.equal(r.code, 0, r.errLines.join('\n'));
  assert.equal(r.stdout,
    'BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)\n' +
    'chrF2|nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no = 59.73\n');
});

test('score --json, --tokenize none, --lowercase', () => {
  const r = score(['--metrics', 'bleu', '--tokenize', 'none', '--ref', ref1, '--ref', ref2, '--json']);
  assert.equal(r.code, 0);
  const out = JSON.parse(r.stdout) as Array<{ name: string; score: number; signature: string }>;
  assert.equal(out[0].name, 'BLEU');
  assert.ok(Math.abs(out[0].score - 49.1919566) < 1e-6);
  assert.match(out[0].signature, /tok:none/);
  const lc = score(['--ref', ref1, '--lowercase'], 'THE DOG BIT THE MAN.\nIT WAS NOT UNEXPECTED.\nTHE MAN BIT HIM FIRST.\n');
  assert.match(lc.stdout, /^BLEU\|nrefs:1\|case:lc\|.* = 100\.00 /);
});

test('bad input: one line naming the file, the metric or the flag', () => {
  let r = score(['--ref', ref1], 'only one line\n');
  assert.equal(r.code, 1);
  assert.deepEqual(r.errLines.length, 1);
  assert.match(r.errLines[0], /ref1\.txt: 3 lines, but the hypotheses \(stdin\) have 1/);
  r = score(['--ref', ref1, '--metrics', 'bleu,ter']);
  assert.match(r.errLines.join('\n'), /^config error: --metrics: unknown metric "ter"/);
  r = score(['--ref', ref1, '--metrics', '']);
  assert.notEqual(r.code, 0);
  assert.match(r.errLines.join('\n'), /^config error: --metrics: names no metric/);
  r = score(['--ref', join(dir, 'missing.txt')]);
  assert.match(r.errLines.join('\n'), /missing\.txt: no such file$/m);
  r = score([]);
  assert.match(r.errLines.join('\n'), /--ref: give at least one reference file/);
  // a reference that is not UTF-8 (Latin-1 é): one line naming it, never scored as U+FFFD
  const latin1 = join(dir, 'latin1.txt');
  writeFileSync(latin1, new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a, 0x62, 0x0a, 0x63, 0x0a]));
  r = score(['--ref', latin1]);
  assert.equal(r.code, 1);
  assert.equal(r.errLines.length, 1);
  assert.match(r.errLines[0], /latin1\.txt:1: not UTF-8/);
  // an empty corpus has no BLEU (0/0): one line, not "ratio = NaN" with exit 0
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '');
  r = score(['--ref', empty], '');
  assert.equal(r.code, 1);
  assert.deepEqual(r.errLines, ['error: stdin: no hypothesis lines to score']);
});
