/**
 * The second fresh-user trial (at 10a2e6d): evaluations during training shown on the console, every
 * unknown config field named, tokenizer-file problems naming data.tokenizer.path, a --resume that
 * passes over an incomplete checkpoint saying so, an edited global_step refused, and the seq2seq
 * summary line with its "validation" prefix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertErrorLine, trainformer } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tf-trial2-'));
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const text = join(dir, 'text.txt');
writeFileSync(text, 'some training text that is long enough for a few blocks.\n'.repeat(20));
let n = 0;
function config(cfg: Record<string, unknown>): string {
  const p = join(dir, `c${n++}.json`);
  writeFileSync(p, JSON.stringify(cfg, null, 2));
  return p;
}
const lm = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  task: 'lm', outputDir: join(dir, `run${n}`), data: { train: text, blockSize: 8 }, model: { nLayer: 1, nHead: 2, nEmbd: 8 },
  perDeviceTrainBatchSize: 2, maxSteps: 6, evalSteps: 2, maxEvalBatches: 2, disableTqdm: true, ...extra,
});

test('each evaluation during training prints one line on the console; the final one is the summary', () => {
  const r = trainformer(['train', '--config', config(lm())]);
  assert.equal(r.code, 0, r.stderr);
  const evals = r.errLines.filter((l) => l.startsWith('eval at step'));
  assert.deepEqual(evals.map((l) => /^eval at step (\d+)\/6: validation loss \d+\.\d{4} nats\/char \(/.exec(l)?.[1]), ['2', '4'], r.stderr);
  // The lines carry the numbers metrics.jsonl holds for those evaluations.
  const logged = readFileSync(join(dir, `run${n - 1}`, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>)
    .filter((l) => (l.split as unknown) === 'eval' && l.step < 6);
  assert.deepEqual(evals.map((l) => Number(/loss (\S+) nats\/char/.exec(l)![1])), logged.map((l) => Number(l.lossPerChar.toFixed(4))));
  assert.match(r.stdout, /^validation loss /m);
});

test('a config with unknown fields at two levels names each, one line per field', () => {
  const cfg = config({ ...lm(), foo: 1, model: { nLayers: 1, nHead: 2, nEmbd: 8 } });
  const r = trainformer(['train', '--config', cfg]);
  assert.notEqual(r.code, 0);
  assert.equal(r.errLines.length, 2, r.stderr);
  assert.ok(r.errLines.some((l) => new RegExp(`^config error: ${esc(cfg)}:\\d+: foo: unknown field`).test(l)), r.stderr);
  assert.ok(r.errLines.some((l) => new RegExp(`^config error: ${esc(cfg)}:\\d+: model\\.nLayers: unknown field \\(did you mean model\\.nLayer\\?\\)$`).test(l)), r.stderr);
  assert.ok(!/\n\s+at /.test(r.stderr));
});

test('a tokenizer file that cannot be read names data.tokenizer.path and its config line', () => {
  const cfg = config(lm({ data: { train: text, blockSize: 8, tokenizer: { type: 'hf', path: '/nonexistent/tokenizer.json' } } }));
  const r = trainformer(['train', '--config', cfg]);
  assertErrorLine(r, new RegExp(`^config error: ${esc(cfg)}:\\d+: data\\.tokenizer\\.path: /nonexistent/tokenizer\\.json: no such file$`));
  const flag = trainformer(['train', '--config', config(lm()), '--data.tokenizer.type', 'hf', '--data.tokenizer.path', '/nonexistent/tokenizer.json']);
  assertErrorLine(flag, /^config error: --data\.tokenizer\.path: \/nonexistent\/tokenizer\.json: no such file$/);
});

test('--resume passing over a checkpoint without trainer_state.json says so; an edited global_step is refused', () => {
  const out = join(dir, 'resume');
  const cfg = config(lm({ outputDir: out, maxSteps: 10, saveSteps: 5, evalSteps: 100 }));
  assert.equal(trainformer(['train', '--config', cfg]).code, 0);
  const state = join(out, 'checkpoint-10', 'trainer_state.json');
  const saved = readFileSync(state, 'utf8');
  // global_step 3 inside checkpoint-10: one line naming the file, the step and the folder.
  writeFileSync(state, JSON.stringify({ ...JSON.parse(saved), global_step: 3 }));
  const edited = trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '12']);
  assertErrorLine(edited, new RegExp(`^error: ${esc(state)}: global_step 3 disagrees with the folder name checkpoint-10 \\(saved at step 10\\)`));
  rmSync(state);
  const r = trainformer(['train', '--config', cfg, '--resume', '--maxSteps', '12']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.errLines.some((l) => l.startsWith(`resumed from ${join(out, 'checkpoint-5')} at step 5`)), r.stderr);
  assert.deepEqual(r.errLines.filter((l) => l.includes('skipped')), [
    `--resume: skipped ${join(out, 'checkpoint-10')}: it has no trainer_state.json (an interrupted save, or the file was removed); resumed from the newest complete checkpoint instead`,
  ]);
});

test('the seq2seq summary line starts with "validation" as the other tasks do', () => {
  const pairs = join(dir, 'pairs.jsonl');
  writeFileSync(pairs, Array.from({ length: 12 }, (_, i) => JSON.stringify({ src: `a b c ${i % 3}`, tgt: `x y ${i % 3}` })).join('\n') + '\n');
  const r = trainformer(['train', '--config', config({
    task: 'seq2seq', outputDir: join(dir, 's2s'), data: { train: pairs, validation: pairs, tokenizer: { type: 'word' }, maxLength: 8, maxTargetLength: 8 },
    model: { nLayer: 1, nHead: 2, nEmbd: 8 }, perDeviceTrainBatchSize: 4, maxSteps: 2, disableTqdm: true,
  })]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^validation loss \d+\.\d{4}, perplexity .*bleu .*chrf /m);
});
