// Windows over documents longer than maxLength (data.longDocuments): start offsets and window ids
// against hand-written answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeClassification, LabelMap, tokenizerFromConfig, windowStarts } from '../../src/data/index.js';
import { ValueError } from '../../src/errors.js';

test('windowStarts: consecutive windows share `stride` tokens, the last one ends at the text end', () => {
  assert.deepEqual(windowStarts(3, 4, 1), [0]);
  assert.deepEqual(windowStarts(4, 4, 1), [0]);
  assert.deepEqual(windowStarts(10, 4, 1), [0, 3, 6]);
  assert.deepEqual(windowStarts(11, 4, 1), [0, 3, 6, 9]);
  assert.deepEqual(windowStarts(9, 4, 0), [0, 4, 8]);
  assert.throws(() => windowStarts(9, 4, 4), ValueError);
});

test('encodeClassification with windows: [CLS] chunk [SEP] per window, overlap = stride; short texts stay one row', () => {
  const tok = tokenizerFromConfig({ type: 'char', specialTokens: true }, ['abcdefghij']);
  const labels = LabelMap.fromLabels(['x']);
  const data = { path: 'd.jsonl', skipped: 0, examples: [{ text: 'abcdefghij', label: 'x', line: 1 }, { text: 'abc', label: 'x', line: 2 }] };
  const { examples } = encodeClassification(data, tok, labels, { maxLength: 6, windows: { stride: 1 } });
  const cls = tok.clsId!, sep = tok.sepId!;
  const ids = (s: string) => tok.encode(s);
  assert.deepEqual(examples[0].windows, [[cls, ...ids('abcd'), sep], [cls, ...ids('defg'), sep], [cls, ...ids('ghij'), sep]]);
  assert.deepEqual(examples[0].inputIds, examples[0].windows![0]);
  assert.equal(examples[1].windows, undefined);
  assert.deepEqual(examples[1].inputIds, [cls, ...ids('abc'), sep]);
  // Without windows the same text is truncated to its first window.
  assert.deepEqual(encodeClassification(data, tok, labels, { maxLength: 6 }).examples[0], { inputIds: [cls, ...ids('abcd'), sep], label: 0 });
  assert.throws(() => encodeClassification(data, tok, labels, { maxLength: 6, windows: { stride: 4 } }), /windows\.stride must be an integer >= 0 and below the 4 tokens/);
});
