/** EDA's four operations (Wei & Zou 2019): known-answer properties, protection, reproducibility. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { edaCount, randomDeletion, randomInsertion, randomSwap, splitCore, synonymReplacement, type EdaContext } from '../../src/data/eda.js';
import { DataRng } from '../../src/data/rng.js';

const SYN: Record<string, string[]> = { quick: ['fast', 'speedy'], fox: ['dodger'], lazy: ['idle'], dog: ['domestic dog', 'hound'], the: ['thee'] };
const ctx = (protectedWords: string[] = []): EdaContext => ({
  synonyms: (w) => SYN[w] ?? [],
  isProtected: (w) => protectedWords.includes(w) || w.startsWith('['),
  isStopWord: (w) => ['the', 'a', 'over'].includes(w),
});
const words = 'the quick brown fox jumps over the lazy dog'.split(' ');
const sorted = (a: readonly string[]) => [...a].sort();

test('edaCount is max(1, floor(alpha * l)), 0 when alpha = 0', () => {
  assert.equal(edaCount(0.1, 9), 1);
  assert.equal(edaCount(0.1, 25), 2);
  assert.equal(edaCount(0.3, 10), 3);
  assert.equal(edaCount(0, 100), 0);
  assert.deepEqual(splitCore('(prize!'), ['(', 'prize', '!']);
  assert.deepEqual(splitCore('!!'), ['!!', '', '']);
});

test('random swap: a permutation (same multiset) with exactly the protected positions fixed', () => {
  for (let s = 0; s < 50; s++) {
    const w = ['[CLS]', ...words, '[SEP]'];
    const out = randomSwap(w, 0.3, new DataRng(s), ctx(['fox']));
    assert.deepEqual(sorted(out), sorted(w));
    assert.equal(out[0], '[CLS]');
    assert.equal(out[out.length - 1], '[SEP]');
    assert.equal(out[w.indexOf('fox')], 'fox');
  }
  // One swap of two distinct unprotected positions changes exactly two of them.
  const out = randomSwap(['a1', 'b2', 'c3'], 0.1, new DataRng(7), ctx());
  assert.equal(out.filter((x, i) => x !== ['a1', 'b2', 'c3'][i]).length, 2);
  assert.deepEqual(randomSwap(['only'], 0.5, new DataRng(1), ctx()), ['only']);
});

test('random deletion: p = 0 is the identity, p = 1 keeps one word; always an order-preserving subsequence sparing protected words', () => {
  const rng = new DataRng(3);
  const before = rng.state();
  assert.deepEqual(randomDeletion(words, 0, rng, ctx()), words);
  assert.deepEqual(rng.state(), before); // nothing drawn
  const one = randomDeletion(words, 1, new DataRng(4), ctx());
  assert.equal(one.length, 1);
  assert.ok(words.includes(one[0]));
  assert.deepEqual(randomDeletion(['alone'], 0.9, new DataRng(1), ctx()), ['alone']);
  let deleted = 0;
  for (let s = 0; s < 300; s++) {
    const out = randomDeletion(words, 0.25, new DataRng(s), ctx(['fox', 'dog']));
    let j = 0;
    for (const w of out) { while (words[j] !== w) j++; j++; } // throws past the end if not a subsequence
    assert.ok(j <= words.length);
    assert.ok(out.includes('fox') && out.includes('dog'));
    deleted += words.length - out.length;
  }
  // 7 unprotected words × 300 draws, Binomial(2100, 0.25): sd of the rate ≈ 0.0095; 5 sd band.
  assert.ok(Math.abs(deleted / 2100 - 0.25) < 0.05, `rate ${deleted / 2100}`);
});

test('synonym replacement: n distinct non-stop words, every occurrence, punctuation kept, protected and stop words untouched', () => {
  // l = 9, alpha 0.1 → n = 1: exactly one word (type) replaced.
  for (let s = 0; s < 30; s++) {
    const out = synonymReplacement(words, 0.1, new DataRng(s), ctx());
    const changed = out.map((w, i) => (w !== words[i] ? i : -1)).filter((i) => i >= 0);
    assert.equal(changed.length, 1);
    const i = changed[0];
    assert.ok(SYN[words[i]].includes(out[i]), `${words[i]} → ${out[i]}`);
    assert.notEqual(words[i], 'the'); // a stop word with a synonym is never chosen
  }
  const all = synonymReplacement(['Quick!', 'quick', 'fox', 'the'], 1, new DataRng(5), ctx(['fox']));
  assert.ok(['Fast!', 'fast!', 'speedy!'].includes(all[0]), all[0]);
  assert.equal(all[1], all[0].replace('!', ''));
  assert.deepEqual(all.slice(2), ['fox', 'the']);
  assert.deepEqual(synonymReplacement(words, 0, new DataRng(1), ctx()), words);
});

test('random insertion: l + n words, the original a subsequence, each new word a synonym of an unprotected word', () => {
  for (let s = 0; s < 30; s++) {
    const out = randomInsertion(words, 0.25, new DataRng(s), ctx(['fox'])); // n = 2
    assert.equal(out.length, words.length + 2);
    const extra = [...out];
    let j = 0;
    const inserted: string[] = [];
    for (const w of extra) { if (j < words.length && w === words[j]) j++; else inserted.push(w); }
    assert.equal(j, words.length);
    for (const w of inserted) assert.ok(['fast', 'speedy', 'idle', 'domestic dog', 'hound', 'thee'].includes(w), w);
  }
  // No word has a synonym: nothing inserted (10 tries each, then give up).
  assert.deepEqual(randomInsertion(['brown', 'jumps'], 0.5, new DataRng(1), ctx()), ['brown', 'jumps']);
});

test('each operation is a function of the generator state', () => {
  for (const op of [synonymReplacement, randomInsertion, randomSwap, randomDeletion]) {
    const a = op(words, 0.3, new DataRng(11, 2), ctx());
    assert.deepEqual(op(words, 0.3, new DataRng(11, 2), ctx()), a);
  }
  const runs = new Set(Array.from({ length: 10 }, (_, s) => randomSwap(words, 0.3, new DataRng(s), ctx()).join(' ')));
  assert.ok(runs.size > 5);
});
