/** The report plots BLEU/chrF and EM/F1 of eval lines and shows the last evaluation's samples. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport } from '../../src/report/index.js';

test('BLEU / chrF and exact match / F1 curves from eval lines; the sample table escapes its text', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-report-scores-'));
  const lines = [
    { split: 'train', step: 10, loss: 3 },
    { split: 'eval', step: 10, loss: 2.5, bleu: 12.5, chrf: 30.25 },
    { split: 'eval', step: 20, loss: 2.1, bleu: 20, chrf: 41 },
    { split: 'eval', step: 30, loss: 2.1, exactMatch: 40, f1: 55.5 },
  ];
  writeFileSync(join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  writeFileSync(join(dir, 'eval_samples.json'), JSON.stringify({ task: 'seq2seq', samples: [
    { source: 'I <3 you.', prediction: 'Je t\'aime.', reference: 'Je t\'aime.' },
    { source: 'Go.', prediction: 'Va & viens', reference: 'Va !' },
  ] }));
  const r = await buildReport(dir);
  const tr = r.charts.find((c) => c.id === 'evalTranslation')!;
  assert.deepEqual(tr.series.map((s) => s.label), ['eval BLEU', 'eval chrF2']);
  assert.deepEqual(tr.series[0].values.filter((v) => v !== null), [12.5, 20]);
  assert.deepEqual(tr.series[1].values.filter((v) => v !== null), [30.25, 41]);
  const qa = r.charts.find((c) => c.id === 'evalQa')!;
  assert.deepEqual(qa.series[1].values.filter((v) => v !== null), [55.5]);
  assert.match(r.html, /<h2>Sample predictions \(last evaluation\)<\/h2>/);
  assert.match(r.html, /<td>I &lt;3 you\.<\/td><td>Je t(&#39;|&#x27;)aime\.<\/td><td>Je t(&#39;|&#x27;)aime\.<\/td><td>=<\/td>/);
  assert.match(r.html, /<td>Va &amp; viens<\/td><td>Va !<\/td><td><\/td>/);
});

test('no eval_samples.json, no table; no scores, no score charts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-report-noscores-'));
  writeFileSync(join(dir, 'metrics.jsonl'), JSON.stringify({ split: 'eval', step: 1, loss: 1 }) + '\n');
  const r = await buildReport(dir);
  assert.ok(!r.charts.some((c) => c.id === 'evalTranslation' || c.id === 'evalQa'));
  assert.ok(!r.html.includes('Sample predictions'));
});
