/**
 * `runLrFind` and `trainformer lr-find` on a tiny character LM: lr_find.jsonl in the report's
 * format (sweep points in increasing lr, then the suggestion and its rule), the report written, the
 * suggestion being the rule applied to the logged curve, and one-line errors for bad flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTask } from '../../../src/tasks/index.js';
import { parseConfig } from '../../../src/train/config.js';
import { centeredHalfWidth, centeredMovingAverage, suggestLrs } from '../../../src/train/stability/index.js';
import { runLrFind } from '../../../src/train/stability/lr-find-run.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-lrfind-'));
const text = join(dir, 'input.txt');
writeFileSync(text, readFileSync(new URL('../../../../examples/data/tinyshakespeare/input.txt', import.meta.url), 'utf8').slice(0, 50_000));
const raw = {
  task: 'lm', outputDir: join(dir, 'run'), seed: 3,
  data: { train: text, blockSize: 16, tokenizer: { type: 'char' } },
  model: { nLayer: 1, nHead: 2, nEmbd: 16 }, perDeviceTrainBatchSize: 4, warmupSteps: 10,
};
const configPath = join(dir, 'config.json');
writeFileSync(configPath, JSON.stringify(raw));

/** Runs the built CLI in a child process (the test runner reports on this process's stdout). */
function cli(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url)), ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('runLrFind: sweep log in the report format; the suggestion is the rule applied to the logged losses', async () => {
  const config = parseConfig(raw);
  const task = await createTask(config);
  const r = runLrFind(config, task, { startLr: 1e-5, endLr: 100, numSteps: 60 });
  const lines = readFileSync(r.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const pts = lines.filter((l) => 'lr' in l);
  assert.equal(pts.length, r.points.length);
  for (let i = 1; i < pts.length; i++) assert.ok(pts[i].lr > pts[i - 1].lr);
  const last = lines.at(-1);
  assert.equal(last.suggestedLr, r.suggestedLr);
  assert.match(last.rule, /^minimum: /);
  // Independently: the centred average of the logged losses, its minimum.
  const h = centeredHalfWidth(60, 1e-5, 100);
  const c = centeredMovingAverage(pts.map((p) => p.loss), h);
  const iMin = c.indexOf(Math.min(...c));
  assert.equal(r.suggestedLr, pts[iMin].lr);
  assert.deepEqual(suggestLrs(pts.map((p, i) => ({ lr: p.lr, smoothed: c[i] })), h), r.suggestions);
  // A sweep to lr 100 on a tiny model diverges before its end (to lr 10 it only just did, on the
  // last step, so float32 rounding decided the outcome).
  assert.equal(r.stoppedBy === 'diverged' || r.stoppedBy === 'non-finite', true);
});

test('trainformer lr-find: prints the suggestion with its rule, writes lr_find.jsonl and report.html', () => {
  const r = cli(['lr-find', '--config', configPath, '--numSteps', '40', '--startLr', '1e-5', '--outputDir', join(dir, 'cli')]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^suggested learning rate: \S+ \(rule: minimum: /m);
  assert.match(r.out, /other rules: minimum\/10 \S+, steepest \S+, valley \S+/);
  assert.ok(existsSync(join(dir, 'cli', 'lr_find.jsonl')));
  const html = readFileSync(join(dir, 'cli', 'report.html'), 'utf8');
  assert.match(html, /Learning-rate range test/);
});

test('trainformer lr-find: bad flags are one-line errors naming the flag', () => {
  for (const [args, re] of [
    [['--rule', 'median'], /^config error: --rule: must be one of minimum, minimum\/10, steepest, valley \(got "median"\)\n$/],
    [['--numSteps', '2.5'], /^config error: --numSteps: must be a positive integer \(got "2.5"\)\n$/],
    [['--startLr', '1', '--endLr', '0.1'], /^config error: --endLr: must be > --startLr \(1\) \(got 0.1\)\n$/],
    [['--learningRate', '-1'], /^config error: --learningRate: must be > 0 \(got -1\)\n$/],
  ] as const) {
    const r = cli(['lr-find', '--config', configPath, ...args]);
    assert.equal(r.code, 1);
    assert.match(r.err, re);
  }
});
