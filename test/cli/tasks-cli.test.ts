/**
 * eval --data / --output and predict --file for every task, and bad seq2seq / SQuAD lines as one
 * line naming file:line. Tiny models, few steps: this checks the plumbing, not quality.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = join(ROOT, 'dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'tf-tasks-cli-'));
const DATA = join(ROOT, 'examples/data');

function trainformer(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, TRAINFORMER_DEBUG: '' }, timeout: HANG_GUARD_MS });
  const errLines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('trainformer: native backend') && !l.startsWith('warning:'));
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, errLines };
}

function oneLineError(r: ReturnType<typeof trainformer>, pattern: RegExp): void {
  assert.notEqual(r.code, 0);
  assert.equal(r.errLines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert.match(r.errLines[0], pattern);
}

const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const head = (path: string, n: number) => readFileSync(path, 'utf8').split('\n').slice(0, n).join('\n') + '\n';

const tiny = { seed: 1, model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 }, perDeviceTrainBatchSize: 4, perDeviceEvalBatchSize: 8, maxSteps: 2, loggingSteps: 1, evalSteps: 100, saveSteps: 100, disableTqdm: true };

function train(name: string, cfg: Record<string, unknown>): string {
  const out = join(dir, name);
  const r = trainformer('train', '--config', file(`${name}.json`, JSON.stringify({ ...tiny, ...cfg, outputDir: out })));
  assert.equal(r.code, 0, r.stderr);
  return out;
}

test('seq2seq: eval --data --output writes the metrics; predict --file translates each line', () => {
  const valid = file('fra-valid.jsonl', head(`${DATA}/eng_fra/valid.jsonl`, 8));
  const run = train('s2s', { task: 'seq2seq', data: { train: `${DATA}/eng_fra/train.jsonl`, validation: valid, tokenizer: { type: 'word' }, limit: 16, maxLength: 12, maxTargetLength: 12 } });
  const test3 = file('fra-test.jsonl', head(`${DATA}/eng_fra/valid.jsonl`, 3));
  const out = join(dir, 's2s-metrics.json');
  const e = trainformer('eval', run, '--data', test3, '--output', out);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /fra-test\.jsonl: /);
  const m = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(m.task, 'seq2seq');
  assert.equal(m.data, test3);
  assert.ok(Number.isFinite(m.metrics.loss));
  const p = trainformer('predict', run, '--file', test3);
  assert.equal(p.code, 0, p.stderr);
  const lines = p.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  for (const l of lines) { assert.equal(typeof l.src, 'string'); assert.equal(typeof l.translation, 'string'); }
  oneLineError(trainformer('predict', run, '--file', file('bad-src.jsonl', jsonl([{ src: 'hi' }, { english: 'x' }]))), /bad-src\.jsonl:2: field "src" is missing \(a seq2seq run translates the "src" field, its data\.srcField\)$/);
});

test('extractive-qa: predict --file answers with character offsets into the context; eval --data gives EM/F1', () => {
  const valid = file('squad-valid.jsonl', head(`${DATA}/squad/valid.jsonl`, 4));
  const run = train('qa', { task: 'extractive-qa', data: { train: `${DATA}/squad/train.jsonl`, validation: valid, tokenizer: { type: 'word' }, limit: 8, maxLength: 48, docStride: 16 } });
  const context = 'The Normans were the people who gave their name to Normandy, a region in France.';
  const q = file('questions.jsonl', jsonl([{ id: 'a', context, question: 'What region is in France?' }, { context, question: 'Who were the Normans?' }]));
  const p = trainformer('predict', run, '--file', q);
  assert.equal(p.code, 0, p.stderr);
  const lines = p.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.equal(lines[0].id, 'a');
  for (const l of lines) {
    assert.equal(context.slice(l.start, l.end), l.answer);
    assert.ok(Number.isFinite(l.score));
  }
  const one = trainformer('predict', run, '--question', 'Who?', '--context', context);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(JSON.parse(one.stdout).question, 'Who?');
  const e = trainformer('eval', run, '--data', valid);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /exactMatch \d/);
  oneLineError(trainformer('predict', run, '--file', file('bad-q.jsonl', jsonl([{ context, question: 'q' }, { context }]))), /bad-q\.jsonl:2: field "question"/);
  // An empty (or blank) context or question: one line naming the file:line or the flag, not an answer with score null.
  oneLineError(trainformer('predict', run, '--file', file('empty-context.jsonl', jsonl([{ context, question: 'q' }, { context: '', question: 'Who?' }]))),
    /empty-context\.jsonl:2: field "context" is empty \(an answer is a span of a non-empty context\)$/);
  oneLineError(trainformer('predict', run, '--file', file('blank-question.jsonl', jsonl([{ context, question: '  ' }]))), /blank-question\.jsonl:1: field "question" is empty/);
  const blank = trainformer('predict', run, '--question', 'Who?', '--context', ' ');
  oneLineError(blank, /^config error: --context: is empty \(an answer is a span of a non-empty context\)$/);
  assert.equal(blank.stdout, '');
});

test('classification and lm: eval --data on a file of their own', () => {
  const cls = train('cls', { task: 'classification', data: { train: `${DATA}/sms_spam/train.jsonl`, validation: file('sms-valid.jsonl', head(`${DATA}/sms_spam/valid.jsonl`, 8)), tokenizer: { type: 'word' }, limit: 16, maxLength: 16 } });
  const e = trainformer('eval', cls, '--data', file('sms-test.jsonl', head(`${DATA}/sms_spam/valid.jsonl`, 5)));
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /validation accuracy/);
  // an empty file: one line naming it, not "accuracy NaN%" with exit 0
  const empty = trainformer('eval', cls, '--data', file('empty.jsonl', ''));
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /--data: \S*empty\.jsonl: no examples to evaluate \(the file is empty\)$/m);
  assert.doesNotMatch(empty.stdout, /NaN/);
  // predict --file with an empty file names --file and the file (was: "--text: give --text …")
  oneLineError(trainformer('predict', cls, '--file', file('empty-predict.jsonl', '')), /^config error: --file: .*empty-predict\.jsonl holds no JSON line$/);
  const lmText = 'to be or not to be, that is the question.\n'.repeat(20);
  const lm = train('lm', { task: 'lm', data: { train: file('lm.txt', lmText), blockSize: 8 } });
  const l = trainformer('eval', lm, '--data', file('lm-test.txt', 'that is the question, to be or not to be.\n'.repeat(3)));
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /lm-test\.txt: validation loss [\d.]+ nats\/char/);
  // predict checks --temperature as generate does: one line naming the flag, nothing printed
  const cold = trainformer('predict', lm, '--text', 'to be', '--temperature', '-1');
  oneLineError(cold, /^config error: --temperature: must be a finite number > 0, or 0 for greedy decoding \(got -1\)$/);
  assert.equal(cold.stdout, '');
});

test('bad data: a pair without tgt or src, a SQuAD line without answers, question or context, an answer_start off the answer or not an integer — one line naming file:line', () => {
  const s2s = { task: 'seq2seq', outputDir: join(dir, 'bad1'), data: { train: file('pairs.jsonl', jsonl([{ src: 'a', tgt: 'b' }, { src: 'c' }])), tokenizer: { type: 'word' } } };
  oneLineError(trainformer('train', '--config', file('bad1.json', JSON.stringify({ ...tiny, ...s2s }))), /pairs\.jsonl:2: .*"tgt"/);
  const ok = { id: '1', title: 't', context: 'Paris is in France.', question: 'Where?', answers: { text: ['France'], answer_start: [12] } };
  const qa = (rows: unknown[], name: string) => ({ task: 'extractive-qa', outputDir: join(dir, name), data: { train: file(`${name}.jsonl`, jsonl(rows)), tokenizer: { type: 'word' } } });
  oneLineError(trainformer('train', '--config', file('bad2.json', JSON.stringify({ ...tiny, ...qa([ok, { ...ok, answers: undefined }], 'noanswers') }))), /noanswers\.jsonl:2: field "answers" is missing/);
  oneLineError(trainformer('train', '--config', file('bad3.json', JSON.stringify({ ...tiny, ...qa([ok, ok, { ...ok, answers: { text: ['France'], answer_start: [3] } }], 'offstart') }))),
    /offstart\.jsonl:3: answers\.answer_start\[0\] = 3 does not point at answers\.text\[0\] = "France"/);
  oneLineError(trainformer('train', '--config', file('bad4.json', JSON.stringify({ ...tiny, ...qa([{ ...ok, question: undefined }], 'noquestion') }))), /noquestion\.jsonl:1: field "question"/);
  const noSrc = { ...s2s, outputDir: join(dir, 'bad5'), data: { ...s2s.data, train: file('nosrc.jsonl', jsonl([{ src: 'a', tgt: 'b' }, { src: 'c', tgt: 'd' }, { tgt: 'e' }])) } };
  oneLineError(trainformer('train', '--config', file('bad5.json', JSON.stringify({ ...tiny, ...noSrc }))), /nosrc\.jsonl:3: field "src" is missing/);
  oneLineError(trainformer('train', '--config', file('bad6.json', JSON.stringify({ ...tiny, ...qa([ok, { ...ok, context: undefined }], 'nocontext') }))), /nocontext\.jsonl:2: field "context" is missing/);
  oneLineError(trainformer('train', '--config', file('bad7.json', JSON.stringify({ ...tiny, ...qa([{ ...ok, answers: { text: ['France'], answer_start: ['12'] } }], 'startstring') }))),
    /startstring\.jsonl:1: field "answers\.answer_start\[0\]" must be a non-negative integer, got string "12"/);
});
