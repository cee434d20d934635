/**
 * Quality anchor of issue 14: trainformer's examples/eng-fra.json and examples/squad.json beside
 * PyTorch (bench/torch_tasks.py, /usr/bin/python3 with python3-torch) training the same architecture
 * on the same token ids (exported here with the run's own tokenizer and windows) with the same
 * optimiser, schedule, batch size and steps. Both are scored by trainformer's metric code: BLEU /
 * chrF of greedy translations of the validation set, SQuAD EM / F1 of the best spans over windows.
 *
 *   npm run bench:tasks [-- --only eng-fra|squad]
 *
 * A trainformer run already in runs/<name> (from `trainformer train --config examples/<name>.json`)
 * is reused: its final evaluation and training time come from its metrics.jsonl. Otherwise it is
 * trained first (`--retrain` always trains again), and the wall time of the whole `trainformer
 * train` command (tokenizer, encoding, evaluations included) is printed. PyTorch reads the training
 * batches in the order trainformer's loader gave them (the same examples in every step, the same
 * length grouping). For eng-fra, `--beam` also decodes the validation set with beam search
 * (generation.numBeams 4 unless the config sets more) and prints its BLEU beside greedy's. The load
 * average is printed before and after each side.
 * A benchmark, never a test: run it under `flock /tmp/trainformer-bench.lock`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from './args.js';
import { DataLoader, encodeSquadWindows } from '../src/data/index.js';
import { taskFromCheckpoint } from '../src/cli/checkpoint-task.js';
import { corpusBleu, corpusChrf, squadMetrics } from '../src/metrics/index.js';
import type { ExtractiveQaTask } from '../src/tasks/extractive-qa.js';
import { bestAnswers } from '../src/tasks/qa-postprocess.js';
import type { Seq2SeqTask } from '../src/tasks/seq2seq.js';
import { repoRoot } from './shared.js';

const USAGE = 'usage: npm run bench:tasks [-- --only eng-fra|squad] [--retrain] [--beam]';

const { values } = benchArgs(USAGE, { only: { type: 'string' }, retrain: { type: 'boolean' }, beam: { type: 'boolean' } });
const root = repoRoot();
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

interface Row { task: string; metric: string; ours: number; torch: number; oursS: number; torchS: number }
const notes: string[] = [];

/** The final evaluation and training seconds of a run, training it when it is not there. */
function trainformerRun(name: string): { dir: string; final: Record<string, number>; seconds: number } {
  const dir = join(root, 'runs', name);
  const metrics = join(dir, 'metrics.jsonl');
  if (values.retrain || !existsSync(metrics) || !readFileSync(metrics, 'utf8').includes('"final":true')) {
    const before = load(), t0 = performance.now();
    process.stderr.write(`training ${name} with trainformer (load ${before})\n`);
    const r = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'train', '--config', join(root, `examples/${name}.json`), '--outputDir', dir, '--overwriteOutputDir', 'true', '--disableTqdm', 'true'], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`trainformer train ${name} failed`);
    notes.push(`${name}: \`trainformer train\` wall ${((performance.now() - t0) / 1000).toFixed(0)} s (tokenizer, encoding, evaluations included), load ${before} → ${load()}`);
  }
  const lines = readFileSync(metrics, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const final = lines.filter((l) => l.split === 'eval' && l.final === true).at(-1)! as Record<string, number>;
  return { dir, final, seconds: final.elapsed };
}

function torch(exportObj: unknown): Record<string, unknown> & { trainSeconds: number; totalSeconds: number } {
  const dir = mkdtempSync(join(tmpdir(), 'tf-bench-tasks-'));
  const inp = join(dir, 'export.json'), out = join(dir, 'out.json');
  writeFileSync(inp, JSON.stringify(exportObj));
  const before = load();
  process.stderr.write(`training with PyTorch (load ${before})\n`);
  const r = spawnSync('/usr/bin/python3', [join(root, 'bench/torch_tasks.py'), inp, out], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('bench/torch_tasks.py failed');
  const res = JSON.parse(readFileSync(out, 'utf8'));
  notes.push(`PyTorch ${res.torchVersion} (${(exportObj as { task: string }).task}): training ${res.trainSeconds.toFixed(0)} s, with decoding ${res.totalSeconds.toFixed(0)} s, load ${before} → ${load()}`);
  return res;
}

/** The run's task rebuilt from its saved config, tokenizer and weights (training data included). */
async function taskOf(dir: string) {
  const { task, config } = await taskFromCheckpoint(dir, [], {});
  return { config, task };
}

/**
 * The dataset indices of the first `steps` training batches, as the task's DataLoader gives them
 * (Seq2SeqTask builds it from the same options: batch size, seed, and with groupByLength the
 * lengths source + target).
 */
function batchOrder(n: number, steps: number, config: { perDeviceTrainBatchSize: number; seed: number; groupByLength: boolean }, lengths: number[]): number[][] {
  const dl = new DataLoader(Array.from({ length: n }, (_, i) => i), (xs: number[]) => xs, {
    batchSize: config.perDeviceTrainBatchSize, shuffle: true, seed: config.seed, lengths: config.groupByLength ? lengths : undefined,
  });
  return Array.from({ length: steps }, () => dl.next().batch);
}

async function engFra(): Promise<Row[]> {
  const run = trainformerRun('eng-fra');
  const { config, task } = await taskOf(run.dir);
  const t = task as Seq2SeqTask, tok = t.tokenizer;
  const blockSize = t.model.config.blockSize;
  const valid = t.valPairs.map((p) => tok.encode(p.src).slice(0, config.data.maxLength));
  const refs = [t.valPairs.map((p) => p.tgt)];
  const beamRows: Row[] = [];
  if (values.beam) {
    const numBeams = Math.max(4, config.generation.numBeams), t0 = performance.now(), before = load();
    const beam = t.translateBatch(t.valPairs.map((p) => p.src), { numBeams });
    notes.push(`eng-fra beam search (${numBeams} beams) of ${valid.length} sources: ${((performance.now() - t0) / 1000).toFixed(0)} s, load ${before} → ${load()}`);
    beamRows.push({ task: 'eng-fra', metric: `BLEU, beam ${numBeams} (trainformer only)`, ours: corpusBleu(beam, refs).score, torch: NaN, oursS: run.seconds, torchS: NaN });
  }
  const res = torch({
    task: 'seq2seq', config, vocabSize: tok.vocabSize, blockSize, maxNewTokens: Math.min(config.generation.maxNewTokens, blockSize - 1),
    ids: { pad: tok.padId, bos: tok.bosId, eos: tok.eosId }, train: t.trainSet.map((e) => [e.srcIds, e.tgtIds]), valid,
    batches: batchOrder(t.trainSet.length, config.maxSteps, config, t.trainSet.map((e) => e.srcIds.length + e.tgtIds.length)),
  });
  const preds = (res.predictions as number[][]).map((ids) => {
    const cut = ids.indexOf(tok.eosId!);
    return tok.decode(cut >= 0 ? ids.slice(0, cut) : ids, { skipSpecialTokens: true }).trim();
  });
  const bleu = corpusBleu(preds, refs).score, chrf = corpusChrf(preds, refs).score;
  return [
    { task: 'eng-fra', metric: 'BLEU (greedy)', ours: run.final.bleu, torch: bleu, oursS: run.seconds, torchS: res.trainSeconds },
    { task: 'eng-fra', metric: 'chrF2 (greedy)', ours: run.final.chrf, torch: chrf, oursS: run.seconds, torchS: res.trainSeconds },
    ...beamRows,
  ];
}

async function squad(): Promise<Row[]> {
  const run = trainformerRun('squad');
  const { config, task } = await taskOf(run.dir);
  const t = task as ExtractiveQaTask;
  const d = config.data;
  const windows = t.valExamples.flatMap((ex, k) => encodeSquadWindows(ex, t.tokenizer, { maxLength: d.maxLength, docStride: d.docStride }).map((f) => ({ ...f, example: k })));
  const res = torch({
    task: 'extractive-qa', config, vocabSize: t.tokenizer.vocabSize, blockSize: t.model.encoder.config.blockSize, ids: { pad: t.tokenizer.padId },
    train: t.trainSet.map((it) => it.feature), valid: windows,
  });
  const logits = res.logits as Array<{ start: number[]; end: number[] }>;
  const answers = t.valExamples.map((ex, k) => bestAnswers(ex.context, windows.flatMap((w, i) => (w.example === k ? [{ feature: w, startLogits: logits[i].start, endLogits: logits[i].end }] : [])),
    { nBestSize: d.nBestSize, maxAnswerLength: d.maxAnswerLength })[0].text);
  const m = squadMetrics(answers, t.valExamples.map((ex) => ex.answers.map((a) => a.text)));
  return [
    { task: 'squad', metric: 'exact match', ours: run.final.exactMatch, torch: m.exactMatch, oursS: run.seconds, torchS: res.trainSeconds },
    { task: 'squad', metric: 'F1', ours: run.final.f1, torch: m.f1, oursS: run.seconds, torchS: res.trainSeconds },
  ];
}

const rows: Row[] = [];
const start = load();
if (!values.only || values.only === 'eng-fra') rows.push(...(await engFra()));
if (!values.only || values.only === 'squad') rows.push(...(await squad()));
process.stdout.write(`load at start ${start}, at end ${load()} (2 cores, shared)\n`);
process.stdout.write('| task | validation metric | trainformer | PyTorch | trainformer s (training + evaluations) | PyTorch training s |\n| --- | --- | ---: | ---: | ---: | ---: |\n');
const f = (x: number, d: number): string => (Number.isNaN(x) ? '–' : x.toFixed(d));
for (const r of rows) process.stdout.write(`| ${r.task} | ${r.metric} | ${f(r.ours, 2)} | ${f(r.torch, 2)} | ${f(r.oursS, 0)} | ${f(r.torchS, 0)} |\n`);
for (const n of notes) process.stdout.write(`${n}\n`);
