import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabelMap, encodeClassification, loadClassificationJsonl } from '../../src/data/classification.js';
import { encodePairs, loadPairsJsonl } from '../../src/data/pairs.js';
import { WordTokenizer } from '../../src/data/tokenizers/index.js';
import { FileFormatError } from '../../src/errors.js';
import { DATA, FIXTURES } from './paths.js';

const MALFORMED = `${FIXTURES}malformed.jsonl`;

test('a malformed line is a FileFormatError naming file:line and the problem', async () => {
  await assert.rejects(loadClassificationJsonl(MALFORMED), (e: Error) => {
    assert.ok(e instanceof FileFormatError);
    assert.match(e.message, /malformed\.jsonl:3: invalid JSON/);
    return true;
  });
  // Each kind of problem, line by line (the fixture's lines 5-8).
  const one = async (content: string, re: RegExp) => {
    const dir = mkdtempSync(join(tmpdir(), 'tf-jsonl-'));
    const p = join(dir, 'x.jsonl');
    writeFileSync(p, `{"text": "ok", "label": "a"}\n${content}\n`);
    try {
      await assert.rejects(loadClassificationJsonl(p), (e: Error) => e instanceof FileFormatError && re.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  await one('{"text": "no label here"}', /x\.jsonl:2: field "label" is missing/);
  await one('{"text": "float", "label": 1.5}', /x\.jsonl:2: field "label" must be a string or an integer, got number 1\.5/);
  await one('{"text": 42, "label": "a"}', /x\.jsonl:2: field "text" must be a string, got number 42/);
  await one('["not", "an", "object"]', /x\.jsonl:2: expected a JSON object, got array/);
});

test('skipMalformed skips and counts bad lines; blank lines are ignored', async () => {
  const d = await loadClassificationJsonl(MALFORMED, { skipMalformed: true });
  assert.equal(d.skipped, 5); // lines 3, 5, 6, 7, 8
  assert.deepEqual(d.examples.map((e) => e.line), [1, 2, 9]);
  assert.deepEqual(d.examples.map((e) => e.label), ['spam', 'ham', 'ham']);
});

test('a missing file is a FileFormatError naming the path', async () => {
  await assert.rejects(loadClassificationJsonl(`${FIXTURES}nope.jsonl`), (e: Error) => e instanceof FileFormatError && /nope\.jsonl: no such file$/.test(e.message));
});

test('SMS Spam and SNIPS: line counts and label sets as their READMEs state', async () => {
  const sms = await loadClassificationJsonl(`${DATA}sms_spam/train.jsonl`);
  assert.equal(sms.examples.length, 4127);
  assert.deepEqual(LabelMap.fromLabels(sms.examples.map((e) => e.label)).labels, ['ham', 'spam']);
  const snips = await loadClassificationJsonl(`${DATA}snips_intents/valid.jsonl`);
  assert.equal(snips.examples.length, 1562);
  assert.deepEqual(LabelMap.fromLabels(snips.examples.map((e) => e.label)).labels,
    ['AddToPlaylist', 'BookRestaurant', 'GetWeather', 'PlayMusic', 'RateBook', 'SearchCreativeWork', 'SearchScreeningEvent']);
});

test('LabelMap: integer labels map to themselves in order; JSON round trip; unknown label names file:line', async () => {
  const d = await loadClassificationJsonl(`${FIXTURES}int-labels.jsonl`);
  const m = LabelMap.fromLabels(d.examples.map((e) => e.label));
  assert.deepEqual(m.labels, [0, 1, 2, 10]);
  assert.equal(m.id(10), 3);
  assert.equal(LabelMap.fromJSON(JSON.parse(JSON.stringify(m))).id(2), 2);
  const tok = WordTokenizer.fromCorpus(d.examples.map((e) => e.text));
  const enc = encodeClassification(d, tok, m, { maxLength: 3 });
  assert.deepEqual(enc.examples[0], { inputIds: [2, tok.tokenToId('zero')!, 3], label: 0 });
  const small = LabelMap.fromLabels([0, 1]);
  assert.throws(() => encodeClassification(d, tok, small), (e: Error) => e instanceof FileFormatError && /int-labels\.jsonl:2: label 2 is not in the label map/.test(e.message));
  assert.equal(encodeClassification(d, tok, small, { skipUnknownLabels: true }).skipped, 2);
});

test('encodeClassification truncates to maxLength with [CLS] … [SEP] kept', async () => {
  const d = { path: 'mem', skipped: 0, examples: [{ text: 'a b c d e f', label: 'x', line: 1 }] };
  const tok = WordTokenizer.fromCorpus(['a b c d e f']);
  const enc = encodeClassification(d, tok, LabelMap.fromLabels(['x']), { maxLength: 4 });
  assert.deepEqual(enc.examples[0].inputIds.map((i) => tok.idToToken(i)), ['[CLS]', 'a', 'b', '[SEP]']);
  const bare = encodeClassification(d, tok, LabelMap.fromLabels(['x']), { maxLength: 4, addSpecialTokens: false });
  assert.deepEqual(bare.examples[0].inputIds.map((i) => tok.idToToken(i)), ['a', 'b', 'c', 'd']);
});

test('pairs: eng_fra streams 2,000 validation pairs; a missing field names file:line', async () => {
  const d = await loadPairsJsonl(`${DATA}eng_fra/valid.jsonl`);
  assert.equal(d.examples.length, 2000);
  const src = WordTokenizer.fromCorpus(d.examples.map((e) => e.src));
  const tgt = WordTokenizer.fromCorpus(d.examples.map((e) => e.tgt));
  const enc = encodePairs(d, src, tgt, { maxTgtLength: 5 });
  assert.ok(enc.every((p) => p.tgtIds.length <= 5 && p.srcIds.length > 0));
  assert.equal(src.decode(enc[0].srcIds), src.decode(src.encode(d.examples[0].src)));
  await assert.rejects(loadPairsJsonl(MALFORMED), (e: Error) => /malformed\.jsonl:1: field "src" is missing/.test(e.message));
});
