// Data-parallel training through the CLI Trainer: `mpirun -np 2 trainformer train --config c.json`
// with nothing distributed in the config. A seq2seq task (pairs of unequal lengths: padded targets
// are ignoreIndex, so micro-batches count different numbers of targets), 50 AdamW steps with
// accumulation 2. 2 ranks × batch 4 must train as 1 process × batch 8: every parameter tensor within
// 1e-6 relative, every logged loss within 1e-6 relative (float32 sums in another order). ZeRO-1
// gives the same parameters with half the optimizer state per rank. A rank killed at a random step
// ends the job with one line; the last checkpoint resumes with 2 ranks and with 1 to the parameters
// of the unbroken run; a single-process checkpoint resumes with 2 ranks.
// The model has no biases: the attention key bias's gradient is exactly zero in exact arithmetic
// (softmax ignores a constant per row), so in float32 it is rounding noise, which Adam's
// normalisation turns into full-size updates that differ between any two summation orders.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { readSafetensorsFile } from '../../src/io/safetensors.js';
import { here, maxRelativeDifference, mpirunArgs, mpirunMissing, run } from './helpers.js';
import { startJob } from './job.js';

const skip = mpirunMissing();
const cli = path.join(here, '..', '..', 'src', 'cli', 'main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'trainformer-ddp-trainer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const words = ['the', 'cat', 'dog', 'sees', 'a', 'big', 'small', 'red', 'bird', 'runs', 'fast', 'home'];
const data = path.join(dir, 'pairs.jsonl');
{
  let s = 5;
  const rnd = (n: number) => ((s = (s * 1103515245 + 12345) % 2 ** 31), Math.floor((s / 2 ** 31) * n));
  const sentence = (n: number) => Array.from({ length: n }, () => words[rnd(words.length)]).join(' ');
  writeFileSync(data, Array.from({ length: 72 }, () => JSON.stringify({ src: sentence(2 + rnd(7)), tgt: sentence(1 + rnd(8)) })).join('\n') + '\n');
}

function configFile(name: string, batch: number, extra: Record<string, unknown> = {}): { file: string; out: string } {
  const out = path.join(dir, name);
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({
    task: 'seq2seq', outputDir: out, seed: 4,
    data: { train: data, tokenizer: { type: 'word' }, valFraction: 0.12, maxLength: 10, maxTargetLength: 10 },
    model: { nLayer: 1, nHead: 2, nEmbd: 32, dropout: 0, bias: false },
    optim: 'adamw', learningRate: 1e-3, weightDecay: 0.1, lrSchedulerType: 'constant_with_warmup', warmupSteps: 5,
    perDeviceTrainBatchSize: batch, perDeviceEvalBatchSize: 4, gradientAccumulationSteps: 2,
    maxSteps: 50, loggingSteps: 1, evalSteps: 25, saveSteps: 10, disableTqdm: true,
    // ddpTimeout is wall-clock: a rank waiting minutes for a CPU on a loaded machine must not end the
    // runs that test other things (the hung-rank test sets 5 s); hangs are bounded by job.ts.
    ddpTimeout: 3600,
    ...extra,
  }));
  return { file, out };
}

const one = (args: string[]) => run(process.execPath, [cli, 'train', ...args], { boundSeconds: 300 });
const two = (args: string[]) => run('mpirun', [...mpirunArgs(2), process.execPath, cli, 'train', ...args], { boundSeconds: 300 });

type Line = Record<string, number | string | boolean>;
const lines = (out: string): Line[] => readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
/** The train lines logged so far by a running job (a line being appended is left out). */
function trainSoFar(out: string): Line[] {
  if (!existsSync(path.join(out, 'metrics.jsonl'))) return [];
  const text = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter((l) => l).map((l) => JSON.parse(l)).filter((l) => l.split === 'train');
}
const params = (file: string): Record<string, number[]> =>
  Object.fromEntries(Object.entries(readSafetensorsFile(file).tensors).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
const finalParams = (out: string) => params(path.join(out, 'checkpoint-50', 'model.safetensors'));
const losses = (out: string, split = 'train') => lines(out).filter((l) => l.split === split).map((l) => [l.step, l.loss] as [number, number]);

function assertSameTraining(a: string, b: string, what: string): number {
  const d = maxRelativeDifference(finalParams(a), finalParams(b));
  assert.ok(d.value <= 1e-6, `${what}: parameters differ by ${d.value.toExponential(2)} relative (${d.name})`);
  for (const split of ['train', 'eval']) {
    const la = losses(a, split), lb = losses(b, split);
    assert.deepEqual(la.map(([s]) => s), lb.map(([s]) => s), `${what}: ${split} lines at other steps`);
    la.forEach(([s, x], i) => assert.ok(Math.abs(x - lb[i][1]) <= 1e-6 * Math.abs(lb[i][1]), `${what}: ${split} loss at step ${s}: ${x} vs ${lb[i][1]}`));
  }
  return d.value;
}

let oneOut = '', twoOut = '';

test('CLI Trainer: 2 ranks × batch 4 train as 1 process × batch 8 (50 AdamW steps, accumulation 2, unequal lengths)', { skip: skip ?? false }, async () => {
  const a = configFile('one', 8), b = configFile('two', 4);
  await one(['--config', a.file]);
  const r = await two(['--config', b.file]);
  oneOut = a.out; twoOut = b.out;
  assert.equal(losses(b.out).length, 50);
  // The steps really count different numbers of targets: the targets' lengths vary.
  const lens = readFileSync(data, 'utf8').trim().split('\n').map((l) => JSON.parse(l).tgt.split(' ').length);
  assert.ok(new Set(lens).size > 3);
  const d = assertSameTraining(b.out, a.out, '2 ranks vs 1 process');
  // Rank 0 alone wrote: one line per step, one summary.
  assert.equal((r.stdout.match(/^trained 50 steps/gm) ?? []).length, 1);
  // …and each step's progress line once (loggingSteps 1), not once per rank.
  for (const k of [1, 25, 50]) assert.equal((r.stderr.match(new RegExp(`^step ${k}/50 \\|`, 'gm')) ?? []).length, 1, `step ${k} progress lines`);
  // Kernel threads per rank: cores ÷ ranks on this machine, unless TRAINFORMER_NUM_THREADS says.
  const threads = process.env.TRAINFORMER_NUM_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / 2)));
  assert.match(r.stderr, new RegExp(`^data parallel: 2 ranks × batch 4, ${threads} threads per rank$`, 'm'));
  process.stdout.write(`# CLI ddp: params max rel diff ${d.toExponential(2)}\n`);
});

test('zeroStage 1: the same parameters as plain data parallelism, half the optimizer state on each rank', { skip: skip ?? false }, async () => {
  const z = configFile('zero', 4, { zeroStage: 1 });
  const r = await two(['--config', z.file]);
  const d = maxRelativeDifference(finalParams(z.out), finalParams(twoOut));
  assert.equal(d.value, 0, `ZeRO-1 parameters differ by ${d.value}`);
  // AdamW keeps two float32 moments per trainable parameter: 8 bytes × the model's elements.
  const whole = 8 * Object.values(finalParams(z.out)).reduce((n, t) => n + t.length, 0);
  const m = /^optimizer state per rank: (\d+), (\d+) bytes$/m.exec(r.stdout + r.stderr);
  assert.ok(m, `no optimizer state line in:\n${r.stdout}${r.stderr}`);
  const [r0, r1] = [Number(m[1]), Number(m[2])];
  assert.equal(r0 + r1, whole);
  for (const x of [r0, r1]) assert.ok(Math.abs(x / whole - 0.5) < 0.05, `a rank holds ${x} of ${whole} bytes`);
  process.stdout.write(`# ZeRO-1 optimizer state per rank: ${r0} + ${r1} of ${whole} bytes\n`);
});

/** The pid of rank `rank` of the job marked with TRAINFORMER_TEST_JOB=`job`. */
function rankPid(job: string, rank: number): number | null {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let env = '';
    try { env = readFileSync(`/proc/${p}/environ`, 'utf8'); } catch { continue; }
    const vars = env.split('\0');
    if (vars.includes(`TRAINFORMER_TEST_JOB=${job}`) && vars.includes(`OMPI_COMM_WORLD_RANK=${rank}`) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('main.js')) return Number(p);
  }
  return null;
}

test('a rank killed at a random step: the other exits with one line; the last checkpoint resumes with 2 ranks and with 1 to the unbroken run', { skip: skip ?? false }, async () => {
  // The job to kill runs far longer than 50 steps (so the kill always lands before its end); the
  // schedule does not depend on the total, so resuming it with --max-steps 50 is the 50-step run.
  const k = configFile('killed', 4, { maxSteps: 100_000 });
  const killAt = 12 + Math.floor(Math.random() * 30); // after checkpoint-10, before the end
  const jobId = `${process.pid}-${Date.now()}`;
  const t0 = Date.now();
  const job = startJob('mpirun', [...mpirunArgs(2), '-x', 'TRAINFORMER_TEST_JOB', process.execPath, cli, 'train', '--config', k.file],
    { env: { ...process.env, TRAINFORMER_TEST_JOB: jobId }, boundSeconds: 240 });
  // Wait for rank 0 to log step killAt, then SIGKILL rank 1 (bounded: the job is stopped at its bound).
  let killedAt = -1;
  while (killedAt < 0 && job.running()) {
    await new Promise((r) => setTimeout(r, 100));
    const m = trainSoFar(k.out);
    if (m.length && (m[m.length - 1].step as number) >= killAt) {
      const pid = rankPid(jobId, 1);
      if (pid) { process.kill(pid, 'SIGKILL'); killedAt = m[m.length - 1].step as number; }
    }
  }
  const end = await job.done;
  const output = job.output();
  assert.ok(!end.hung, `the job did not end after a rank was killed (${end.wallSeconds.toFixed(0)} s wall, ${end.waitSeconds.toFixed(0)} s waiting for a CPU):\n${output}`);
  assert.ok(killedAt > 0, `rank 1 was not killed (job output:\n${output})`);
  assert.notEqual(end.status, 0);
  assert.match(output, /^trainformer: rank 0 of 2 stopped by the launcher \(SIGTERM\): the job was interrupted or another rank exited or failed \(see mpirun's message\)$/m);
  process.stdout.write(`# killed rank 1 after step ${killedAt}: job ended ${((Date.now() - t0) / 1000).toFixed(1)} s after start\n`);
  // The last complete checkpoint: resume it with 2 ranks, and a copy with 1 process × batch 8.
  const last = Math.floor(killedAt / 10) * 10;
  assert.ok(existsSync(path.join(k.out, `checkpoint-${last}`)), `checkpoint-${last} missing`);
  const single = configFile('killed-single', 8);
  rmSync(single.out, { recursive: true, force: true });
  cpSync(k.out, single.out, { recursive: true, filter: (src) => !/checkpoint-(\d+)$/.test(src) || Number(/checkpoint-(\d+)$/.exec(src)![1]) <= last });
  await two(['--config', k.file, '--resume', '--max-steps', '50']);
  await one(['--config', single.file, '--resume']);
  assert.deepEqual(finalParams(k.out), finalParams(twoOut), '2-rank resume is not bit-identical to the unbroken 2-rank run');
  assertSameTraining(k.out, twoOut, 'resumed with 2 ranks');
  assertSameTraining(single.out, twoOut, 'resumed with 1 process');
});

test('a single-process checkpoint resumes with 2 ranks (the data position in global batches)', { skip: skip ?? false }, async () => {
  const s = configFile('from-single', 4);
  rmSync(s.out, { recursive: true, force: true });
  cpSync(oneOut, s.out, { recursive: true, filter: (src) => !/checkpoint-(\d+)$/.test(src) || Number(/checkpoint-(\d+)$/.exec(src)![1]) <= 20 });
  rmSync(path.join(s.out, 'model.safetensors'), { force: true });
  await two(['--config', s.file, '--resume', path.join(s.out, 'checkpoint-20')]);
  assertSameTraining(s.out, oneOut, '1-process checkpoint resumed with 2 ranks');
});

test('a hung rank: the other stops at ddpTimeout with one line naming the collective', { skip: skip ?? false }, async () => {
  const h = configFile('hung', 4, { ddpTimeout: 5, maxSteps: 100_000 });
  const jobId = `${process.pid}-hung-${Date.now()}`;
  const job = startJob('mpirun', [...mpirunArgs(2), '-x', 'TRAINFORMER_TEST_JOB', process.execPath, cli, 'train', '--config', h.file],
    { env: { ...process.env, TRAINFORMER_TEST_JOB: jobId }, boundSeconds: 240 });
  let stopped = false;
  while (!stopped && job.running()) {
    await new Promise((r) => setTimeout(r, 100));
    if (trainSoFar(h.out).length > 0) {
      const pid = rankPid(jobId, 1);
      if (pid) { process.kill(pid, 'SIGSTOP'); stopped = true; }
    }
  }
  const end = await job.done;
  const output = job.output();
  assert.ok(!end.hung, `the job did not end after a rank hung (${end.wallSeconds.toFixed(0)} s wall, ${end.waitSeconds.toFixed(0)} s waiting for a CPU):\n${output}`);
  assert.ok(stopped, `rank 1 was not stopped (job output:\n${output})`);
  assert.notEqual(end.status, 0);
  assert.match(output, /^error: rank 0 of 2: [^\n]* did not complete within 5 s: another rank stopped, hung or is far behind \(the deadline is ddpTimeout\)$/m);
});
