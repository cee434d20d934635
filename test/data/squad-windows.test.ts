/** Overlapping windows of long SQuAD contexts (Hugging Face run_qa's doc_stride features). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSquadWindows } from '../../src/data/squad-windows.js';
import { WordTokenizer } from '../../src/data/tokenizers/index.js';
import { ValueError } from '../../src/errors.js';

// 90 context words w0 … w89; the answer "w80 w81" (word tokens = words here).
const words = Array.from({ length: 90 }, (_, i) => `w${i}`);
const context = words.join(' ');
const start = context.indexOf('w80');
const example = { context, question: 'where q1 ?', answers: [{ text: 'w80 w81', start, end: start + 'w80 w81'.length }] };
const tok = WordTokenizer.fromCorpus([context, example.question], { lowercase: false });

test('a context longer than maxLength becomes windows that overlap by docStride tokens; only the window holding the answer points at it', () => {
  const maxLength = 30, docStride = 8;
  const ws = encodeSquadWindows(example, tok, { maxLength, docStride });
  const qLen = tok.encode(example.question).length; // 3: where q1 ?
  const room = maxLength - qLen - 3; // 24 context tokens a window
  assert.deepEqual(ws.map((w) => w.windowStart), [0, 16, 32, 48, 64, 80]);
  for (const w of ws) {
    assert.ok(w.inputIds.length <= maxLength);
    assert.equal(w.inputIds[0], tok.clsId);
    assert.equal(w.inputIds[w.contextStart - 1], tok.sepId);
    assert.equal(w.inputIds.at(-1), tok.sepId);
    // The window's first context token is word number windowStart.
    const [a, b] = w.offsets[w.contextStart]!;
    assert.equal(context.slice(a, b), `w${w.windowStart}`);
  }
  // Consecutive windows share docStride tokens: the last 8 of one are the first 8 of the next.
  for (let k = 1; k < ws.length; k++) {
    const prev = ws[k - 1].inputIds.slice(ws[k - 1].contextStart, ws[k - 1].contextStart + room);
    const cur = ws[k].inputIds.slice(ws[k].contextStart, ws[k].contextStart + docStride);
    assert.deepEqual(prev.slice(-docStride), cur);
  }
  // w80, w81 lie in windows starting at 64 (positions 16, 17) and 80 (positions 0, 1).
  const holding = ws.filter((w) => w.startPosition !== 0);
  assert.deepEqual(holding.map((w) => w.windowStart), [64, 80]);
  for (const w of holding) {
    const a = w.offsets[w.startPosition]!, b = w.offsets[w.endPosition]!;
    assert.equal(context.slice(a[0], b[1]), 'w80 w81');
  }
  for (const w of ws.filter((x) => x.startPosition === 0)) assert.equal(w.endPosition, 0);
});

test('a context that fits is one window; docStride must be smaller than the context room', () => {
  assert.equal(encodeSquadWindows(example, tok, { maxLength: 200, docStride: 128 }).length, 1);
  assert.throws(() => encodeSquadWindows(example, tok, { maxLength: 30, docStride: 24 }), (e: Error) =>
    e instanceof ValueError && /data\.docStride: must be an integer in \[0, 24\)/.test(e.message));
  assert.throws(() => encodeSquadWindows(example, tok, { maxLength: 5 }), /data\.maxLength: 5 leaves no room/);
});
