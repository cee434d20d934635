import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  answerFromSpan, charSpanToTokenSpan, codePointToUtf16, encodeSquadExample, loadSquadJsonl,
} from '../../src/data/squad.js';
import { collateQa } from '../../src/data/collate.js';
import { Gpt2Tokenizer, WordTokenizer } from '../../src/data/tokenizers/index.js';
import { FileFormatError, ValueError } from '../../src/errors.js';
import { DATA, FIXTURES } from './paths.js';

test('answer_start in code points is converted to UTF-16; a wrong span names file:line', async () => {
  assert.equal(codePointToUtf16('a😀b', 2), 3);
  assert.equal(codePointToUtf16('a😀b', 3), 4);
  assert.equal(codePointToUtf16('ab', 3), -1);
  const d = await loadSquadJsonl(`${FIXTURES}squad-astral.jsonl`, { skipMalformed: true });
  assert.equal(d.skipped, 2);
  const ex = d.examples[0];
  assert.equal(ex.context.slice(ex.answers[0].start, ex.answers[0].end), 'Paris');
  assert.equal(ex.answers[0].start, 25); // code point 24, after one astral character
  await assert.rejects(loadSquadJsonl(`${FIXTURES}squad-astral.jsonl`), (e: Error) =>
    e instanceof FileFormatError && /squad-astral\.jsonl:2: answers\.answer_start\[0\] = 25 does not point at answers\.text\[0\]/.test(e.message));
});

test('charSpanToTokenSpan: first and last overlapping tokens', () => {
  const offs: Array<[number, number]> = [[0, 3], [4, 9], [9, 10], [11, 15]];
  assert.deepEqual(charSpanToTokenSpan(offs, 4, 9), [1, 1]);
  assert.deepEqual(charSpanToTokenSpan(offs, 5, 12), [1, 3]);
  assert.deepEqual(charSpanToTokenSpan(offs, 3, 4), null); // only the space
  assert.deepEqual(charSpanToTokenSpan(offs, 0, 15), [0, 3]);
});

test('SQuAD valid (1,070 real questions): mapped answer tokens decode back to the answer text', async (t) => {
  const d = await loadSquadJsonl(`${DATA}squad/valid.jsonl`);
  assert.equal(d.examples.length, 1070); // README
  const tok = WordTokenizer.fromCorpus(d.examples.flatMap((e) => [e.context, e.question]));
  let answers = 0;
  let aligned = 0;
  for (const ex of d.examples) {
    const { ids, offsets } = tok.encodeWithOffsets(ex.context);
    for (const a of ex.answers) {
      answers++;
      const span = charSpanToTokenSpan(offsets, a.start, a.end);
      assert.ok(span, `${ex.id}: no token for ${JSON.stringify(a.text)}`);
      const [s, e] = span;
      const covered = ex.context.slice(offsets[s][0], offsets[e][1]);
      // The token span always covers the answer...
      assert.ok(offsets[s][0] <= a.start && offsets[e][1] >= a.end, `${ex.id}: span does not cover the answer`);
      assert.ok(covered.includes(a.text));
      // ...and where the answer starts and ends on token boundaries it is exactly the answer, and
      // the tokens decode to what the answer text itself tokenizes to.
      if (offsets[s][0] === a.start && offsets[e][1] === a.end) {
        aligned++;
        assert.equal(covered, a.text);
        assert.equal(tok.decode(ids.slice(s, e + 1)), tok.decode(tok.encode(a.text)), `${ex.id}: ${JSON.stringify(a.text)}`);
      }
    }
  }
  // Answers in SQuAD are almost always whole words; this measures the tokenizer's agreement.
  assert.ok(aligned / answers > 0.98, `only ${aligned} of ${answers} answers align with word boundaries`);
  t.diagnostic(`squad valid: ${aligned}/${answers} answers (${((100 * aligned) / answers).toFixed(2)}%) on token boundaries`);
});

test('encodeSquadExample on real lines: [CLS] q [SEP] c [SEP], positions point at the answer', async () => {
  const d = await loadSquadJsonl(`${DATA}squad/train.jsonl`, { limit: 300 });
  assert.equal(d.examples.length, 300);
  const tok = WordTokenizer.fromCorpus(d.examples.flatMap((e) => [e.context, e.question]));
  let inside = 0;
  for (const ex of d.examples) {
    const f = encodeSquadExample(ex, tok, { maxLength: 128 });
    assert.ok(f.inputIds.length <= 128);
    assert.equal(f.inputIds[0], tok.clsId);
    assert.equal(f.inputIds[f.contextStart - 1], tok.sepId);
    assert.equal(f.inputIds[f.inputIds.length - 1], tok.sepId);
    assert.equal(f.tokenTypeIds[f.contextStart - 1], 0);
    assert.equal(f.tokenTypeIds[f.contextStart], 1);
    if (f.startPosition === 0) {
      assert.equal(f.endPosition, 0); // answer cut off by truncation
      const { offsets } = tok.encodeWithOffsets(ex.context);
      assert.ok(charSpanToTokenSpan(offsets, ex.answers[0].start, ex.answers[0].end)![1] >= f.inputIds.length - f.contextStart - 1);
      continue;
    }
    inside++;
    assert.ok(f.startPosition >= f.contextStart && f.endPosition >= f.startPosition);
    assert.ok(answerFromSpan(ex.context, f, f.startPosition, f.endPosition).includes(ex.answers[0].text));
  }
  assert.ok(inside > 200);
  const batch = collateQa(d.examples.slice(0, 4).map((e) => encodeSquadExample(e, tok, { maxLength: 128 })), { padId: tok.padId! });
  assert.equal(batch.shape[0], 4);
  assert.equal(batch.startPositions.length, 4);
  assert.throws(() => encodeSquadExample(d.examples[0], new Gpt2Tokenizer()), ValueError);
});
