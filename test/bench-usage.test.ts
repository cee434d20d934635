// The bench scripts' command lines (bench/args.ts): `--help` prints the usage line and exits 0, an
// unknown flag gives one line naming it and exit 2 — no stack, no benchmark started. And
// bench/train-step.js, imported as a module, runs nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HANG_GUARD_MS } from './util/hang-guard.js';

const bench = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bench');
const scripts: [string, ...string[]][] = [
  ['attention'], ['bf16-gemm'], ['data-efficiency'], ['data-efficiency-distill'], ['ddp-step'], ['ddp'], ['decode'], ['fused-lce'],
  ['run'], ['run', '--seq'], ['seq-step'], ['sgemm'], ['soak'], ['step-profile'], ['tasks'], ['train-step'], ['trainer-step-memory'],
];

for (const [name, ...pre] of scripts) {
  const file = path.join(bench, `${name}.js`);
  const label = [name, ...pre].join(' ');
  test(`bench ${label}: --help prints the usage line; an unknown flag is one line`, () => {
    const help = spawnSync(process.execPath, [file, ...pre, '--help'], { encoding: 'utf8', timeout: HANG_GUARD_MS });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^usage: \S.*\n$/);
    assert.equal(help.stderr, '');
    const bad = spawnSync(process.execPath, [file, ...pre, '--no-such-flag'], { encoding: 'utf8', timeout: HANG_GUARD_MS });
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^[\w.-]+\.js: Unknown option '--no-such-flag'[^\n]*\(--help for usage\)\n$/);
  });
}

test('bench train-step, run and attention: an unknown --dtype is one line naming the flag', () => {
  for (const name of ['train-step', 'run', 'attention']) {
    const r = spawnSync(process.execPath, [path.join(bench, `${name}.js`), '--dtype', 'fp8'], { encoding: 'utf8', timeout: HANG_GUARD_MS });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^${name}\\.js: --dtype must be float32[^\\n]*got 'fp8'\\n$`));
  }
});

test('bench numeric flags: a value that is not a number of the right kind is one line naming the flag, exit 2, nothing run', () => {
  const cases: [string[], string][] = [
    [['run', '--steps', 'abc'], "run.js: --steps must be an integer >= 1, got 'abc'"],
    [['run', '--max-seconds', '0'], "run.js: --max-seconds must be a number > 0, got '0'"],
    [['run', '--seq', '--seqs', '512,x'], "run.js: --seqs must be a comma-separated list of integers >= 1, got '512,x'"],
    [['train-step', '--warmup=-1'], "train-step.js: --warmup must be an integer >= 0, got '-1'"],
    [['sgemm', '--size', '1.5'], "sgemm.js: --size must be an integer >= 1, got '1.5'"],
    [['fused-lce', '--eps', 'NaN'], "fused-lce.js: --eps must be a finite number, got 'NaN'"],
    [['soak', '--steps', ''], "soak.js: --steps must be an integer >= 1, got ''"],
    [['data-efficiency', '--seeds', '1,,2'], "data-efficiency.js: --seeds must be a comma-separated list of integers >= 0, got '1,,2'"],
  ];
  for (const [[name, ...args], line] of cases) {
    const r = spawnSync(process.execPath, [path.join(bench, `${name}.js`), ...args], { encoding: 'utf8', timeout: HANG_GUARD_MS });
    assert.equal(r.stderr, `${line}\n`, `${name} ${args.join(' ')}`);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
  }
});

test('importing bench/train-step.js runs no benchmark', () => {
  const url = pathToFileURL(path.join(bench, 'train-step.js')).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(url)}); console.log(typeof m.loadBenchConfigs);`],
    { encoding: 'utf8', timeout: HANG_GUARD_MS });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'function\n');
});
