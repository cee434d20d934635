/**
 * The distillation half of `npm run bench:data-efficiency` (issue 15): a student (1 layer × 32)
 * trained from a stronger teacher's softened outputs (`distillation`, kd term) versus the same
 * student trained on the labels alone, on fixed 10 % slices of sms_spam and snips_intents
 * (validation accuracy and macro-F1 on the whole validation file) and on character-level Tiny
 * Shakespeare (validation nats/char). The teacher (2 layers × 128) is trained once per dataset on
 * the same training data, with the first seed; each student is trained once per seed. Nothing was
 * tuned on the validation data: temperature 2 and alpha 0.5 were fixed beforehand.
 *
 * bench/data-efficiency.ts calls {@link runDistillation}; alone:
 *
 *   npm run build && flock /tmp/trainformer-bench.lock node dist/bench/data-efficiency-distill.js [--seeds 1,2,3] [--out runs/bench-distill] [--only sms_spam|snips_intents|shakespeare]
 *
 * A benchmark, never a test. Prints mean ± sample standard deviation over the seeds. A run whose
 * folder in outDir already holds its final evaluation is reused (restart an interrupted benchmark
 * on the same outDir; use a new outDir to measure again). TF_BENCH_DISTILL_LM_STEPS sets the
 * Shakespeare runs' steps (default 1000).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { permutation } from '../src/data/rng.js';
import { setLogger } from '../src/logger.js';
import { createTask } from '../src/tasks/index.js';
import { parseConfig, type TrainConfigInput } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { sharedDir } from './shared.js';

/** What {@link runDistillation} needs from its caller. */
export interface DistillationBenchOptions {
  /** One student pair (alone / distilled) per seed and dataset; the teacher is trained once per dataset (first seed). */
  seeds: number[];
  /** A folder for the runs (teachers, students, slices, results.json); created if absent. */
  outDir: string;
  /** Progress lines (the caller adds them to its own log). */
  log: (s: string) => void;
  /** Only these datasets (default all three: sms_spam, snips_intents, shakespeare). */
  only?: string[];
}

/** The slice fraction and its seed: the same examples for every run and seed. */
export const SLICE_FRACTION = 0.1;
export const SLICE_SEED = 13;

/**
 * The fixed 10 % slice of a JSONL training file: the first ceil(10 %) lines of a permutation drawn
 * from SLICE_SEED (src/data/rng permutation), in file order. Written to `dest`.
 * @returns the number of lines kept.
 */
export function writeSlice(src: string, dest: string, fraction = SLICE_FRACTION): number {
  const lines = readFileSync(src, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const n = Math.ceil(lines.length * fraction);
  const keep = Array.from(permutation(lines.length, SLICE_SEED, 0).subarray(0, n)).sort((a, b) => a - b);
  writeFileSync(dest, keep.map((i) => lines[i]).join('\n') + '\n');
  return n;
}

const TEACHER = { nLayer: 2, nHead: 4, nEmbd: 128, dropout: 0.1 };
const STUDENT = { nLayer: 1, nHead: 2, nEmbd: 32, dropout: 0.1 };
const KD = { temperature: 2, alpha: 0.5 };

interface Measured { metrics: Record<string, number>; seconds: number }

/**
 * Trains one run, or reuses it: a run folder whose metrics.jsonl already ends with the final
 * evaluation (an interrupted benchmark restarted on the same outDir) is read, not retrained.
 */
async function trainRun(cfg: TrainConfigInput & Record<string, unknown>): Promise<Measured> {
  const metricsFile = join(String(cfg.outputDir), 'metrics.jsonl');
  if (existsSync(metricsFile)) {
    const fin = readFileSync(metricsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.split === 'eval' && l.final === true).at(-1);
    if (fin) return { metrics: fin as Record<string, number>, seconds: fin.elapsed as number };
  }
  const config = parseConfig({ overwriteOutputDir: true, disableTqdm: true, evalStrategy: 'no', saveStrategy: 'no', stability: { spikeGuard: { enabled: false } }, ...cfg });
  const task = await createTask(config);
  const r = await new Trainer({ config, task }).train();
  return { metrics: r.finalMetrics ?? { loss: NaN }, seconds: r.seconds };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

interface Row { dataset: string; model: string; metric: string; values: number[]; seconds: number[] }

/** One classification dataset: teacher, students alone and distilled. */
async function classification(name: string, epochs: number, maxLength: number, o: DistillationBenchOptions, rows: Row[]): Promise<void> {
  const src = join(sharedDir(), 'data', name);
  const slice = join(o.outDir, `${name}-train-10pct.jsonl`);
  const n = writeSlice(join(src, 'train.jsonl'), slice);
  o.log(`${name}: 10 % slice of ${n} training examples (seed ${SLICE_SEED}), validation ${join(src, 'valid.jsonl')} (load ${load()})`);
  const base = (model: object, seed: number, outputDir: string) => ({
    task: 'classification' as const, seed, outputDir,
    data: { train: slice, validation: join(src, 'valid.jsonl'), tokenizer: { type: 'word' as const, minFrequency: 1, lowercase: true }, maxLength },
    model: { ...model, pooling: 'mean' as const }, learningRate: 2e-3, lrSchedulerType: 'linear' as const, warmupRatio: 0.05, weightDecay: 0.01,
    perDeviceTrainBatchSize: 32, perDeviceEvalBatchSize: 128, numTrainEpochs: epochs, loggingSteps: 10,
  });
  const teacherDir = join(o.outDir, `${name}-teacher`);
  const t = await trainRun(base(TEACHER, o.seeds[0], teacherDir));
  o.log(`${name}: teacher ${JSON.stringify(t.metrics)} in ${t.seconds.toFixed(0)} s (load ${load()})`);
  const add = (model: string, ms: Measured[]) => {
    for (const metric of ['accuracy', 'macroF1']) rows.push({ dataset: name, model, metric, values: ms.map((m) => m.metrics[metric]), seconds: ms.map((m) => m.seconds) });
  };
  add('teacher 2×128', [t]);
  const alone: Measured[] = [], distilled: Measured[] = [];
  for (const seed of o.seeds) {
    alone.push(await trainRun(base(STUDENT, seed, join(o.outDir, `${name}-student-${seed}`))));
    distilled.push(await trainRun({ ...base(STUDENT, seed, join(o.outDir, `${name}-distilled-${seed}`)), distillation: { teacher: teacherDir, ...KD } }));
    o.log(`${name} seed ${seed}: alone ${JSON.stringify(alone.at(-1)!.metrics)}, distilled ${JSON.stringify(distilled.at(-1)!.metrics)} (load ${load()})`);
  }
  add('student 1×32, labels alone', alone);
  add(`student 1×32, distilled (T ${KD.temperature}, α ${KD.alpha})`, distilled);
}

/** Character-level Tiny Shakespeare: validation nats/char. */
async function shakespeare(steps: number, o: DistillationBenchOptions, rows: Row[]): Promise<void> {
  const base = (model: object, seed: number, outputDir: string) => ({
    task: 'lm' as const, seed, outputDir,
    data: { train: join(sharedDir(), 'data', 'tinyshakespeare', 'input.txt'), valFraction: 0.1, tokenizer: { type: 'char' as const }, blockSize: 64 },
    model: { ...model, dropout: 0 }, learningRate: 2e-3, lrSchedulerType: 'cosine' as const, warmupSteps: 50, weightDecay: 0.1, adamBeta2: 0.99,
    perDeviceTrainBatchSize: 16, perDeviceEvalBatchSize: 64, maxSteps: steps, loggingSteps: 25, generation: { maxNewTokens: 1 },
  });
  const teacherDir = join(o.outDir, 'shakespeare-teacher');
  o.log(`shakespeare: ${steps} steps of 16 × 64 characters each (load ${load()})`);
  const t = await trainRun(base(TEACHER, o.seeds[0], teacherDir));
  o.log(`shakespeare: teacher ${JSON.stringify(t.metrics)} in ${t.seconds.toFixed(0)} s (load ${load()})`);
  rows.push({ dataset: 'shakespeare-char', model: 'teacher 2×128', metric: 'nats/char', values: [t.metrics.lossPerChar], seconds: [t.seconds] });
  const alone: Measured[] = [], distilled: Measured[] = [];
  for (const seed of o.seeds) {
    alone.push(await trainRun(base(STUDENT, seed, join(o.outDir, `shakespeare-student-${seed}`))));
    distilled.push(await trainRun({ ...base(STUDENT, seed, join(o.outDir, `shakespeare-distilled-${seed}`)), distillation: { teacher: teacherDir, ...KD } }));
    o.log(`shakespeare seed ${seed}: alone ${alone.at(-1)!.metrics.lossPerChar.toFixed(4)}, distilled ${distilled.at(-1)!.metrics.lossPerChar.toFixed(4)} nats/char (load ${load()})`);
  }
  rows.push({ dataset: 'shakespeare-char', model: 'student 1×32, labels alone', metric: 'nats/char', values: alone.map((m) => m.metrics.lossPerChar), seconds: alone.map((m) => m.seconds) });
  rows.push({ dataset: 'shakespeare-char', model: `student 1×32, distilled (T ${KD.temperature}, α ${KD.alpha})`, metric: 'nats/char', values: distilled.map((m) => m.metrics.lossPerChar), seconds: distilled.map((m) => m.seconds) });
}

/** The markdown table of the rows. */
function table(rows: Row[]): string {
  const f = (x: number, metric: string) => (metric === 'nats/char' ? x.toFixed(3) : (100 * x).toFixed(1));
  const out = ['| dataset | model | metric | mean ± sd | per seed | train s (mean) |', '| --- | --- | --- | --- | --- | --- |'];
  for (const r of rows) {
    const unit = r.metric === 'nats/char' ? '' : ' %';
    const spread = r.values.length > 1 ? ` ± ${f(sd(r.values), r.metric)}` : ' (one run)';
    out.push(`| ${r.dataset} | ${r.model} | ${r.metric} | ${f(mean(r.values), r.metric)}${spread}${unit} | ${r.values.map((v) => f(v, r.metric)).join(', ')} | ${mean(r.seconds).toFixed(0)} |`);
  }
  return out.join('\n');
}

/**
 * Trains the teachers and students and returns a markdown table: one row per dataset, model
 * (teacher, student alone, student distilled) and metric, mean ± sample standard deviation over the
 * seeds (the teacher: one run). Also writes `<outDir>/distillation.json` with every value.
 * @returns the table as markdown text (no trailing newline).
 */
export async function runDistillation(opts: DistillationBenchOptions): Promise<string> {
  const o = { ...opts, outDir: resolve(opts.outDir) };
  mkdirSync(o.outDir, { recursive: true });
  const prev = setLogger({ info: () => {}, warn: (m) => o.log(m) });
  const rows: Row[] = [];
  const want = (n: string) => !o.only || o.only.includes(n);
  const t0 = Date.now();
  try {
    if (want('sms_spam')) await classification('sms_spam', 20, 64, o, rows);
    if (want('snips_intents')) await classification('snips_intents', 12, 48, o, rows);
    if (want('shakespeare')) await shakespeare(Number(process.env.TF_BENCH_DISTILL_LM_STEPS ?? 1000), o, rows);
  } finally {
    setLogger(prev);
  }
  const md = table(rows);
  writeFileSync(join(o.outDir, 'distillation.json'), JSON.stringify({ seeds: o.seeds, teacher: TEACHER, student: STUDENT, kd: KD, rows, seconds: (Date.now() - t0) / 1000, load: loadavg() }, null, 2));
  o.log(`distillation: done in ${((Date.now() - t0) / 1000).toFixed(0)} s (load ${load()})`);
  return md;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { seeds: { type: 'string', default: '1,2,3' }, out: { type: 'string', default: 'runs/bench-distill' }, only: { type: 'string' } } });
  const md = await runDistillation({
    seeds: values.seeds!.split(',').map(Number), outDir: values.out!, only: values.only?.split(','),
    log: (s) => process.stderr.write(`${s}\n`),
  });
  process.stdout.write(`${md}\n`);
}
