/**
 * The README's "Trainer from code" program, taken from README.md as it stands (so the two cannot
 * drift) and run as a user would: an ES module importing 'trainformer' (the package's own name,
 * which resolves to this build). Its output is checked against metrics.jsonl it wrote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './data/paths.js';
import { HANG_GUARD_MS } from './util/hang-guard.js';

/** The code block between the readme-trainer markers of README.md. */
export function readmeProgram(readme: string): string {
  const m = /<!-- readme-trainer:begin -->\s*```js\n([\s\S]*?)```\s*<!-- readme-trainer:end -->/.exec(readme);
  assert.ok(m, 'README.md has the readme-trainer block');
  return m[1]!;
}

test("the README's Trainer program runs, and its callback stops training once accuracy passes 99%", () => {
  const program = readmeProgram(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(program.split('\n').length <= 25, 'about 20 lines');
  // Inside the package folder, so that `import ... from 'trainformer'` finds this package by its name.
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const file = join(ROOT, '.tmp', `readme-trainer-${process.pid}.mjs`);
  writeFileSync(file, program);
  const cwd = mkdtempSync(join(tmpdir(), 'tf-readme-'));
  try {
    const r = spawnSync(process.execPath, [file], { cwd, encoding: 'utf8', timeout: HANG_GUARD_MS });
    assert.equal(r.status, 0, r.stderr);
    const m = /^step (\d+): (.*), accuracy ([0-9.]+)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    const step = Number(m[1]);
    assert.equal(m[2], 'counting learned', 'the callback stopped the run');
    assert.ok(step < 300 && step % 10 === 0, `stopped at an evaluation step before maxSteps (${step})`);
    assert.ok(Number(m[3]) > 0.99);
    // metrics.jsonl: the eval line at the stopping step holds the accuracy computeMetrics returned,
    // and no earlier evaluation passed 0.99 (else the callback would have stopped there).
    const lines = readFileSync(join(cwd, 'runs', 'counting', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const evals = lines.filter((l) => l.split === 'eval');
    const atStop = evals.filter((l) => l.step === step && !l.final);
    assert.equal(atStop.length, 1);
    assert.ok((atStop[0]!.accuracy as number) > 0.99);
    for (const e of evals) if ((e.step as number) < step) assert.ok((e.accuracy as number) <= 0.99, `step ${e.step}`);
    assert.ok(lines.some((l) => l.split === 'train' && typeof l.loss === 'number'));
  } finally {
    rmSync(file, { force: true });
    rmSync(cwd, { recursive: true, force: true });
  }
});
