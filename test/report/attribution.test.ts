/** The report plots objective attribution: each term's gradient norm and cosine, from train lines that carry it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport } from '../../src/report/index.js';

test('attribution lines give a gradient-norm chart (log scale) and a cosine chart, one curve per term', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-report-attr-'));
  const lines = [
    { split: 'train', step: 10, loss: 3, terms: { ce: 2, kd: 4 }, attribution: { ce: { gradNorm: 0.5, cosine: 0.6 }, kd: { gradNorm: 2, cosine: 0.95 } } },
    { split: 'train', step: 20, loss: 2, terms: { ce: 1.5, kd: 2.5 }, attribution: { ce: { gradNorm: 0.25, cosine: -0.1 }, kd: { gradNorm: 1, cosine: 0.99 } } },
    { split: 'train', step: 30, loss: 2, terms: { ce: 1.4 } },
  ];
  writeFileSync(join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const r = await buildReport(dir);
  const gn = r.charts.find((c) => c.id === 'attributionGradNorm')!;
  assert.deepEqual(gn.series.map((s) => s.label), ['ce', 'kd']);
  assert.deepEqual(gn.series[0].values.filter((v) => v !== null), [0.5, 0.25]);
  assert.equal(gn.yLogBase, 10);
  const cos = r.charts.find((c) => c.id === 'attributionCosine')!;
  assert.deepEqual(cos.series[0].values.filter((v) => v !== null), [0.6, -0.1]);
  assert.deepEqual(cos.series[1].values.filter((v) => v !== null), [0.95, 0.99]);
  assert.equal(cos.yLogBase, null);
});

test('no attribution logged, no attribution charts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-report-noattr-'));
  writeFileSync(join(dir, 'metrics.jsonl'), JSON.stringify({ split: 'train', step: 1, loss: 1, terms: { ce: 1 } }) + '\n');
  const r = await buildReport(dir);
  assert.ok(!r.charts.some((c) => c.id.startsWith('attribution')));
});
