/**
 * BLEU and chrF on a 407-segment corpus (eng_fra validation sentences, shuffled / shortened /
 * lengthened hypotheses, entities, digits, empty and astral lines) against sacreBLEU 2.6.0's own
 * numbers: fixtures/sacrebleu-corpus.py printed fixtures/sacrebleu-corpus-expected.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { corpusBleu, corpusChrf } from '../../src/metrics/index.js';
import { FIXTURES } from './paths.js';

const corpus = JSON.parse(readFileSync(`${FIXTURES}sacrebleu-corpus.json`, 'utf8')) as { hypotheses: string[]; references: string[][] };
const want = JSON.parse(readFileSync(`${FIXTURES}sacrebleu-corpus-expected.json`, 'utf8')) as Record<string, Record<string, number | number[]>>;

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs sacreBLEU ${b}`);

for (const [name, streams] of [['oneRef', corpus.references.slice(0, 1)], ['twoRefs', corpus.references]] as const) {
  test(`sacreBLEU 2.6.0 on the fixture corpus, ${name}: BLEU (13a, none, lowercase), chrF2, chrF2++`, () => {
    const w = want[name];
    const b = corpusBleu(corpus.hypotheses, streams);
    assert.deepEqual(b.counts, w.counts);
    assert.deepEqual(b.totals, w.totals);
    assert.equal(b.sysLen, w.sysLen);
    assert.equal(b.refLen, w.refLen);
    close(b.score, w.bleu as number, 'bleu');
    close(corpusBleu(corpus.hypotheses, streams, { tokenize: 'none' }).score, w.bleuNone as number, 'bleu none');
    close(corpusBleu(corpus.hypotheses, streams, { lowercase: true }).score, w.bleuLowercase as number, 'bleu lowercase');
    close(corpusChrf(corpus.hypotheses, streams).score, w.chrf as number, 'chrF2');
    close(corpusChrf(corpus.hypotheses, streams, { wordOrder: 2 }).score, w.chrfPlusPlus as number, 'chrF2++');
    close(corpusChrf(corpus.hypotheses, streams, { lowercase: true }).score, w.chrfLowercase as number, 'chrF2 lowercase');
  });
}
