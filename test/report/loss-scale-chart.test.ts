/**
 * The report's "Loss scale (mixed precision)" chart is drawn only where a loss scaler ran (fp16):
 * float32 and bf16 runs log lossScale 1 at every step, which drew a flat line at 1 in every report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport } from '../../src/report/index.js';
import { cliScratch, trainformer } from '../cli/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'tf-loss-scale-chart-'));

/** A run folder with three train lines of the given loss scales and, unless null, a config. */
function runDir(name: string, scales: number[], config: Record<string, unknown> | null): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'metrics.jsonl'), scales.map((s, i) => JSON.stringify({ split: 'train', step: i + 1, loss: 3 - i / 10, lr: 1e-3, gradNorm: 1, tokensPerSecond: 100, lossScale: s, time: 1.7e12 + i })).join('\n') + '\n');
  if (config) writeFileSync(join(dir, 'trainformer_config.json'), JSON.stringify(config));
  return dir;
}

const ids = async (dir: string): Promise<string[]> => (await buildReport(dir)).charts.map((c) => c.id);

test('loss scale chart: left out for float32 and bf16 runs (a constant 1), drawn for fp16 and for any scale other than 1', async () => {
  assert.ok(!(await ids(runDir('f32', [1, 1, 1], { task: 'lm', fp16: false, bf16: false }))).includes('lossScale'));
  assert.ok(!(await ids(runDir('bf16', [1, 1, 1], { task: 'lm', bf16: true }))).includes('lossScale'));
  assert.ok(!(await ids(runDir('noconfig-1', [1, 1, 1], null))).includes('lossScale'));
  // The other charts are still there.
  assert.ok((await ids(runDir('f32b', [1, 1, 1], { task: 'lm' }))).includes('loss'));
  const fp16 = await buildReport(runDir('fp16', [65536, 65536, 32768], { task: 'lm', fp16: true }));
  const ls = fp16.charts.find((c) => c.id === 'lossScale');
  assert.ok(ls);
  assert.deepEqual(ls.series[0]!.values, [65536, 65536, 32768]);
  // fp16 whose scale is 1 (it fell that far) still draws it; a scale other than 1 without a config too.
  assert.ok((await ids(runDir('fp16-1', [1, 1, 1], { task: 'lm', fp16: true }))).includes('lossScale'));
  assert.ok((await ids(runDir('noconfig-scaled', [1024, 512, 512], null))).includes('lossScale'));
});

test('loss scale chart: a float32 training\'s report.html has none, an fp16 one has it', () => {
  const s = cliScratch('tf-loss-scale-cli-', { maxSteps: 2, saveSteps: 100, evalSteps: 100, maxEvalBatches: 1 });
  const f32 = join(s.dir, 'f32'), fp16 = join(s.dir, 'fp16');
  assert.equal(trainformer(['train', '--config', s.config(s.lm({ outputDir: f32 }))]).code, 0);
  assert.equal(trainformer(['train', '--config', s.config(s.lm({ outputDir: fp16, fp16: true }))]).code, 0);
  assert.ok(!readFileSync(join(f32, 'report.html'), 'utf8').includes('Loss scale (mixed precision)'));
  assert.ok(readFileSync(join(fp16, 'report.html'), 'utf8').includes('Loss scale (mixed precision)'));
});
