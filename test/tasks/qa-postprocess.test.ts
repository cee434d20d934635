/**
 * Best span over windows (run_qa's postprocess_qa_predictions for SQuAD v1), and end to end: a
 * tiny QA model trained on windows answers a question whose answer lies in the last window of a
 * context three times longer than maxLength.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSquadWindows } from '../../src/data/squad-windows.js';
import { WordTokenizer } from '../../src/data/tokenizers/index.js';
import { bestAnswers } from '../../src/tasks/qa-postprocess.js';
import { createTask } from '../../src/tasks/index.js';
import type { ExtractiveQaTask } from '../../src/tasks/extractive-qa.js';
import { parseConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { noGrad } from '../../src/tensor/index.js';

test('bestAnswers: best start+end over all windows, within maxAnswerLength, end >= start, inside the context', () => {
  const context = Array.from({ length: 40 }, (_, i) => `t${i}`).join(' ');
  const tok = WordTokenizer.fromCorpus([context, 'q'], { lowercase: false });
  const ws = encodeSquadWindows({ context, question: 'q', answers: [] }, tok, { maxLength: 20, docStride: 4 });
  assert.ok(ws.length >= 3);
  const logits = ws.map((feature) => ({ feature, startLogits: new Float32Array(20), endLogits: new Float32Array(20) }));
  const last = logits.at(-1)!, lf = last.feature;
  // Highest logits on [CLS] and the question (not context): ignored.
  for (const l of logits) { l.startLogits[0] = 50; l.endLogits[0] = 50; l.startLogits[1] = 40; }
  // In the last window: a long span (start p, end p+5) with the highest sum, and a short one.
  const p = lf.contextStart;
  last.startLogits[p] = 10; last.endLogits[p + 5] = 10; // 6 tokens: too long for maxAnswerLength 3
  last.startLogits[p + 1] = 6; last.endLogits[p + 2] = 5; // 2 tokens, score 11
  last.endLogits[p] = 9; // end before the start p+1 for that start, but (p, p) is a valid 1-token span: 10 + 9 = 19
  const best = bestAnswers(context, logits, { nBestSize: 5, maxAnswerLength: 3 });
  const word = (pos: number) => { const [a, b] = lf.offsets[pos]!; return context.slice(a, b); };
  assert.equal(best[0].text, word(p));
  assert.equal(best[0].score, 19);
  assert.equal(context.slice(best[0].start, best[0].end), best[0].text);
  assert.ok(best.every((a) => a.text.split(' ').length <= 3));
  assert.ok(best.some((a) => a.text === `${word(p + 1)} ${word(p + 2)}` && a.score === 11));
  assert.ok(best.length <= 5);
  // maxAnswerLength 6 lets the long span win (score 20).
  assert.equal(bestAnswers(context, logits, { nBestSize: 5, maxAnswerLength: 6 })[0].text, `${word(p)} ${word(p + 1)} ${word(p + 2)} ${word(p + 3)} ${word(p + 4)} ${word(p + 5)}`);
});

test('a context three times longer than maxLength whose answer lies in the last window is answered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-qa-win-'));
  // Filler words around one colour word; the question asks for the colour. Training contexts are
  // long enough to need windows too (maxLength 24).
  const fill = Array.from({ length: 12 }, (_, i) => `f${i}`);
  const colours = ['red', 'green', 'blue', 'amber', 'violet', 'teal'];
  let seed = 7;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const line = (len: number, at: number, colour: string) => {
    const w = Array.from({ length: len }, () => fill[rnd(fill.length)]);
    w[at] = colour;
    const context = w.join(' ');
    const start = w.slice(0, at).join(' ').length + (at > 0 ? 1 : 0);
    return JSON.stringify({ id: String(seed), context, question: 'which colour ?', answers: { text: [colour], answer_start: [start] } });
  };
  const train = Array.from({ length: 160 }, () => { const len = 10 + rnd(30); return line(len, rnd(len), colours[rnd(colours.length)]); });
  writeFileSync(join(dir, 'train.jsonl'), train.join('\n') + '\n');
  writeFileSync(join(dir, 'valid.jsonl'), train.slice(0, 8).join('\n') + '\n');
  const config = parseConfig({
    task: 'extractive-qa', outputDir: join(dir, 'run'), seed: 3, disableTqdm: true,
    model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }, learningRate: 1e-2, perDeviceTrainBatchSize: 16, maxSteps: 60,
    loggingSteps: 30, evalSteps: 1000, saveSteps: 1000,
    data: { train: join(dir, 'train.jsonl'), validation: join(dir, 'valid.jsonl'), tokenizer: { type: 'word' }, maxLength: 24, docStride: 6 },
  });
  const task = (await createTask(config)) as ExtractiveQaTask;
  await new Trainer({ config, task }).train();
  task.model.eval();
  // 3 × 24 = 72 words; the answer at word 70, in the last window only.
  const w = Array.from({ length: 72 }, (_, i) => fill[i % fill.length]);
  w[70] = 'violet';
  const context = w.join(' ');
  const windows = encodeSquadWindows({ context, question: 'which colour ?', answers: [] }, task.tokenizer, { maxLength: 24, docStride: 6 });
  assert.ok(windows.length >= 4, `${windows.length} windows`);
  const [a] = noGrad(() => task.answer([{ context, question: 'which colour ?' }]));
  assert.equal(a.text, 'violet');
  assert.equal(context.slice(a.start, a.end), 'violet');
  assert.equal(a.start, context.lastIndexOf('violet'));
});
