// The golden runner on synthetic case folders: comparison rule, verdicts, summary, CLI exit codes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { FileFormatError, ValueError } from '../../src/errors.js';
import { compareValue, decodeNumber, decodeTensor, registerKind } from '../../src/golden/registry.js';
import { formatGoldenSummary, runGoldenFolder } from '../../src/golden/run.js';
import type { HandlerResult } from '../../src/golden/types.js';
import { repoRoot } from './paths.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'golden-runner-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let folderCount = 0;
/** Writes case files into a fresh folder; `files` maps file name to its JSON text or object. */
function folder(files: Record<string, unknown>): string {
  const dir = path.join(tmp, `f${folderCount++}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const t64 = (shape: number[], data: unknown[]) => ({ dtype: 'float64', shape, data });

// A fake kind whose handler answers with what the test stored for the case's name.
const answers = new Map<string, () => HandlerResult>();
registerKind('test_fake', (c) => {
  const a = answers.get(c.name);
  if (!a) throw new Error(`no answer for ${c.name}`);
  return a();
});

/** Runs one fake case with `expected` (and extra fields) against the handler's `answer`. */
function judgeOne(caseFields: Record<string, unknown>, answer: () => HandlerResult) {
  const name = `c${answers.size}`;
  answers.set(name, answer);
  const dir = folder({
    'test_fake.json': { kind: 'test_fake', default_tolerance: { rtol: 1e-5, atol: 1e-6 }, cases: [{ name, kind: 'test_fake', options: {}, inputs: {}, ...caseFields }] },
  });
  const s = runGoldenFolder(dir, { kinds: ['test_fake'] });
  assert.equal(s.passed + s.failed, 1);
  return { passed: s.passed === 1, message: s.failures[0]?.message ?? '' };
}

describe('decodeNumber / decodeTensor', () => {
  test('non-finite strings become numbers; others are errors', () => {
    assert.ok(Number.isNaN(decodeNumber('NaN')));
    assert.equal(decodeNumber('Infinity'), Infinity);
    assert.equal(decodeNumber('-Infinity'), -Infinity);
    assert.equal(decodeNumber(2.5), 2.5);
    assert.throws(() => decodeNumber('inf'), FileFormatError);
    assert.throws(() => decodeNumber(null), FileFormatError);
  });
  test('float32 data is rounded to float32; bool to 1/0; shape [] holds one value', () => {
    const t = decodeTensor({ dtype: 'float32', shape: [3], data: [0.1, 'NaN', '-Infinity'] });
    assert.equal(t.data[0], Math.fround(0.1));
    assert.ok(Number.isNaN(t.data[1]!));
    assert.equal(t.data[2], -Infinity);
    assert.deepEqual([...decodeTensor({ dtype: 'bool', shape: [2], data: [true, false] }).data], [1, 0]);
    assert.deepEqual([...decodeTensor({ dtype: 'float64', shape: [], data: [0.1] }).data], [0.1]);
    assert.deepEqual(decodeTensor({ dtype: 'int64', shape: [2, 0], data: [] }).shape, [2, 0]);
  });
  test('malformed tensors throw FileFormatError naming the problem', () => {
    assert.throws(() => decodeTensor({ dtype: 'float32', shape: [2], data: [1] }), /needs 2 values, got 1/);
    assert.throws(() => decodeTensor({ dtype: 'half', shape: [1], data: [1] }), /dtype must be one of/);
    assert.throws(() => decodeTensor({ dtype: 'int64', shape: [1], data: [1.5] }), /data\[0\] = 1.5 is not a valid int64/);
    assert.throws(() => decodeTensor({ dtype: 'uint16', shape: [1], data: [70000] }), FileFormatError);
    assert.throws(() => decodeTensor({ dtype: 'float64', shape: [-1], data: [] }), /shape must be/);
    assert.throws(() => decodeTensor([1, 2]), FileFormatError);
  });
});

describe('comparison rule', () => {
  const tol = { rtol: 1e-5, atol: 1e-6 };
  test('within atol + rtol*|e| passes, beyond fails with the index', () => {
    const e = t64([2, 2], [1, 2, 3, 1000]);
    assert.equal(compareValue(e, { shape: [2, 2], data: [1 + 1.9e-6, 2, 3, 1000 + 0.0099] }, tol, 'expected.y'), null);
    const m = compareValue(e, { shape: [2, 2], data: [1, 2, 3, 1000 + 0.0111] }, tol, 'expected.y');
    assert.match(m!, /^expected\.y\[1, 1\]: got 1000\.0111, expected 1000/);
    assert.match(m!, /1 of 4 elements differ/);
  });
  test('NaN needs NaN, infinities must match exactly, NaN never matches a number', () => {
    const e = t64([3], ['NaN', 'Infinity', '-Infinity']);
    assert.equal(compareValue(e, { shape: [3], data: [NaN, Infinity, -Infinity] }, tol, 'e'), null);
    assert.notEqual(compareValue(e, { shape: [3], data: [0, Infinity, -Infinity] }, tol, 'e'), null);
    assert.notEqual(compareValue(e, { shape: [3], data: [NaN, -Infinity, -Infinity] }, tol, 'e'), null);
    assert.notEqual(compareValue(e, { shape: [3], data: [NaN, 1e308, -Infinity] }, tol, 'e'), null);
    assert.notEqual(compareValue(t64([1], [1]), { shape: [1], data: [NaN] }, tol, 'e'), null);
    assert.notEqual(compareValue(t64([1], [1]), { shape: [1], data: [Infinity] }, { rtol: Infinity, atol: 0 }, 'e'), null);
  });
  test('shapes must be equal exactly (same size is not enough)', () => {
    assert.match(compareValue(t64([2, 2], [1, 2, 3, 4]), { shape: [4], data: [1, 2, 3, 4] }, tol, 'g.x')!, /shape \[4\], expected \[2, 2\]/);
    assert.match(compareValue(t64([2], [1, 2]), { shape: [2], data: [1] }, tol, 'g.x')!, /data has 1 values/);
  });
  test('integer and bool dtypes, bare integers and booleans are exact', () => {
    assert.notEqual(compareValue({ dtype: 'int64', shape: [1], data: [3] }, { shape: [1], data: [3 + 1e-12] }, tol, 'e'), null);
    assert.notEqual(compareValue({ dtype: 'uint16', shape: [1], data: [16256] }, { shape: [1], data: [16257] }, { rtol: 1, atol: 1 }, 'e'), null);
    assert.equal(compareValue({ dtype: 'bool', shape: [2], data: [true, false] }, { shape: [2], data: [1, 0] }, tol, 'e'), null);
    assert.notEqual(compareValue({ dtype: 'bool', shape: [1], data: [true] }, { shape: [1], data: [0] }, tol, 'e'), null);
    assert.notEqual(compareValue(3, 3.000001, { rtol: 1, atol: 1 }, 'e'), null);
    assert.equal(compareValue(true, true, tol, 'e'), null);
    assert.match(compareValue(true, false, tol, 'e.found_inf')!, /^e\.found_inf: got false, expected true/);
  });
  test('a plain number stands for a shape-[] tensor', () => {
    assert.equal(compareValue(t64([], [0.5]), 0.5, tol, 'e'), null);
    assert.notEqual(compareValue(t64([1], [0.5]), 0.5, tol, 'e'), null);
  });
  test('lists and objects nest; the first mismatch is reported with its path', () => {
    const expected = { steps: [{ found_inf: false, scale: t64([], [2]) }, { found_inf: true, scale: t64([], [1]) }] };
    const ok = { steps: [{ found_inf: false, scale: 2 }, { found_inf: true, scale: { shape: [], data: [1] }, extra: 1 }] };
    assert.equal(compareValue(expected, ok, tol, 'expected'), null);
    const bad = { steps: [{ found_inf: false, scale: 2 }, { found_inf: false, scale: 1 }] };
    assert.match(compareValue(expected, bad, tol, 'expected')!, /^expected\.steps\[1\]\.found_inf:/);
    assert.match(compareValue(expected, { steps: [ok.steps[0]] }, tol, 'expected')!, /list of 1, expected 2/);
    assert.match(compareValue(expected, { steps: [{ scale: 2 }, ok.steps[1]] }, tol, 'expected')!, /found_inf: missing/);
  });
});

describe('case verdicts', () => {
  const y = { y: t64([2], [1, 'NaN']) };
  test('a correct answer passes, a wrong one fails with its first mismatch', () => {
    assert.ok(judgeOne({ expected: y }, () => ({ expected: { y: { shape: [2], data: [1, NaN] } } })).passed);
    const r = judgeOne({ expected: y }, () => ({ expected: { y: { shape: [2], data: [1.1, NaN] } } }));
    assert.equal(r.passed, false);
    assert.match(r.message, /^expected\.y\[0\]: got 1\.1, expected 1/);
  });
  test('the case tolerance wins over the file default', () => {
    const ans = () => ({ expected: { y: { shape: [1], data: [1.001] } } });
    assert.equal(judgeOne({ expected: { y: t64([1], [1]) } }, ans).passed, false);
    assert.ok(judgeOne({ expected: { y: t64([1], [1]) }, tolerance: { rtol: 1e-2, atol: 0 } }, ans).passed);
  });
  test('grads are compared too, and every key must be present', () => {
    const grads = { x: t64([1], [2]), w: t64([1], [3]) };
    const ok = () => ({ expected: { y: { shape: [2], data: [1, NaN] } }, grads: { x: { shape: [1], data: [2] }, w: { shape: [1], data: [3] } } });
    assert.ok(judgeOne({ expected: y, grads }, ok).passed);
    const missing = judgeOne({ expected: y, grads }, () => ({ expected: ok().expected, grads: { x: { shape: [1], data: [2] } } }));
    assert.match(missing.message, /^grads\.w: missing/);
    const none = judgeOne({ expected: y, grads }, () => ({ expected: ok().expected }));
    assert.match(none.message, /grads\.x: missing/);
  });
  test('a handler exception fails a normal case and passes an expected_error case', () => {
    const boom = () => {
      throw new ValueError('n must be > 1, got 1');
    };
    const r = judgeOne({ expected: y }, boom);
    assert.equal(r.passed, false);
    assert.match(r.message, /ValueError: n must be > 1, got 1/);
    assert.ok(judgeOne({ expected_error: 'Expected more than 1 value per channel' }, boom).passed);
    const returned = judgeOne({ expected_error: 'boom' }, () => ({}));
    assert.match(returned.message, /expected an error/);
  });
  test('property cases: every listed check reported and passed', () => {
    const checks = [{ check: 'zero_fraction' }, { check: 'mean_ratio' }];
    const both = (p: boolean) => () => ({ checks: [{ name: 'zero_fraction', passed: true }, { name: 'mean_ratio', passed: p, detail: 'ratio 1.3' }] });
    assert.ok(judgeOne({ property: true, checks }, both(true)).passed);
    assert.match(judgeOne({ property: true, checks }, both(false)).message, /'mean_ratio' failed \(ratio 1\.3\)/);
    const one = judgeOne({ property: true, checks }, () => ({ checks: [{ name: 'zero_fraction', passed: true }] }));
    assert.match(one.message, /check 'mean_ratio' not reported/);
  });
  test('a case with nothing to compare fails', () => {
    assert.equal(judgeOne({}, () => ({})).passed, false);
  });
});

describe('runGoldenFolder', () => {
  test('counts per kind, skips unregistered kinds and non-case files, filters kinds', () => {
    answers.set('a1', () => ({ expected: { v: 1 } }));
    answers.set('a2', () => ({ expected: { v: 2 } }));
    const dir = folder({
      'index.json': { files: {}, cases: [{ name: 'should not be read', kind: 'test_fake' }] },
      'notes.json': { hello: 'not a case file' },
      'readme.txt': 'ignored',
      'fake.json': { kind: 'test_fake', cases: [{ name: 'a1', inputs: {}, expected: { v: 1 } }, { name: 'a2', inputs: {}, expected: { v: 3 } }] },
      'other.json': { kind: 'test_no_handler', cases: [{ name: 'b1', inputs: {}, expected: { v: 1 } }] },
    });
    const s = runGoldenFolder(dir);
    assert.deepEqual(s.perKind, { test_fake: { passed: 1, failed: 1, skipped: 0 }, test_no_handler: { passed: 0, failed: 0, skipped: 1 } });
    assert.deepEqual([s.passed, s.failed, s.skipped], [1, 1, 1]);
    assert.equal(s.files.length, 2);
    assert.equal(s.failures[0]!.name, 'a2');
    assert.equal(s.failures[0]!.line, 1);
    const lines = formatGoldenSummary(s);
    assert.deepEqual(lines[0], 'test_fake: 1 passed, 1 failed, 0 skipped');
    assert.deepEqual(lines[1], 'test_no_handler: 0 passed, 0 failed, 1 skipped');
    assert.match(lines[2]!, /^FAIL test_fake\/a2 \(fake\.json:1\): expected\.v: got 2, expected 3/);
    assert.equal(lines.at(-1), '1 passed, 1 failed, 1 skipped');
    const only = runGoldenFolder(dir, { kinds: ['test_no_handler'] });
    assert.deepEqual(Object.keys(only.perKind), ['test_no_handler']);
  });
  test('a case line is found in a multi-line file; options get non-finite numbers', () => {
    let seen: unknown;
    registerKind('test_options', (c) => {
      seen = c.options;
      return { expected: { v: 0 } };
    });
    const text = '{"kind": "test_options",\n"cases": [\n{"name": "o1", "options": {"norm_type": "Infinity", "b": ["NaN", 2]}, "inputs": {}, "expected": {"v": 1}}\n]}';
    const s = runGoldenFolder(folder({ 'o.json': text }));
    assert.equal(s.failures[0]!.line, 3);
    const o = seen as { norm_type: number; b: number[] };
    assert.equal(o.norm_type, Infinity);
    assert.ok(Number.isNaN(o.b[0]!));
  });
  test('bad folders and bad JSON throw FileFormatError naming the path (and line)', () => {
    assert.throws(() => runGoldenFolder(path.join(tmp, 'does-not-exist')), (e: unknown) => e instanceof FileFormatError && /no such file/.test(e.message));
    assert.throws(() => runGoldenFolder(folder({ 'a.txt': 'x' })), /no case files/);
    const dir = folder({ 'broken.json': '{"kind": "x",\n"cases": [\n{"name": oops}\n]}' });
    assert.throws(() => runGoldenFolder(dir), (e: unknown) => e instanceof FileFormatError && /broken\.json:3:10: invalid JSON/.test(e.message));
    const trailing = folder({ 't.json': '{"cases": []}\n\n,' });
    assert.throws(() => runGoldenFolder(trailing), /t\.json:3:1: invalid JSON/);
    const badEscape = folder({ 'e.json': '{"cases": [],\n "x": "a\\qb"}' });
    assert.throws(() => runGoldenFolder(badEscape), /e\.json:2:9: invalid JSON/);
  });
});

describe('CLI (node dist/src/cli/golden.js)', () => {
  const cli = path.join(repoRoot(), 'dist/src/cli/golden.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  test('bad folder: one-line error, exit 2', () => {
    const r = run(path.join(tmp, 'nope'));
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^golden: golden folder .*nope: no such file or directory/);
    assert.equal(run().status, 2);
    assert.equal(run('--bogus', tmp).status, 2);
  });
  test('a failing case: its name and first mismatch, final totals, exit 1', () => {
    const lr = { dtype: 'float64', shape: [3], data: [0.1, 0.1, 0.2] };
    const dir = folder({
      'lr_schedule.json': { kind: 'lr_schedule', cases: [{ name: 'wrong_constant', options: { schedule: 'constant', base_lr: 0.1 }, inputs: { num_steps: 2 }, expected: { lr }, tolerance: { rtol: 1e-7, atol: 1e-12 } }] },
      'mystery.json': { kind: 'mystery', cases: [{ name: 'm', inputs: {}, expected: { v: 1 } }] },
    });
    const r = run(dir);
    assert.equal(r.status, 1);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['lr_schedule: 0 passed, 1 failed, 0 skipped', 'mystery: 0 passed, 0 failed, 1 skipped']);
    assert.match(lines[2]!, /^FAIL lr_schedule\/wrong_constant \(lr_schedule\.json:1\): expected\.lr\[2\]: got 0\.1, expected 0\.2/);
    assert.equal(lines.at(-1), '0 passed, 1 failed, 1 skipped');
    const passing = run(dir, '--kinds', 'mystery');
    assert.equal(passing.status, 0);
    assert.equal(passing.stdout.trim().split('\n').at(-1), '0 passed, 0 failed, 1 skipped');
  });
});
