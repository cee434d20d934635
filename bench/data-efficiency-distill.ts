/**
 * The distillation half of `npm run bench:data-efficiency` (issue 15): a student (1 layer × 32)
 * trained from a stronger teacher's softened outputs (`distillation`, kd term) versus the same
 * student trained on the labels alone, on the fixed 10 % slices of sms_spam and snips_intents
 * (bench/data-slice.ts, the augmentation half's slice; validation accuracy and macro-F1 on the whole
 * validation file) and on character-level Tiny Shakespeare (validation nats/char).
 *
 * Classification teachers (2 layers × 128) are trained once per dataset (first seed) on the whole
 * training split — ten times the students' labelled examples, and more steps (TEACHER_EPOCHS) — and
 * read it through the students' tokenizer and labels (the slice's word vocabulary: words outside it
 * are [UNK] for the teacher too), since a teacher must share its student's tokenizer. The students
 * see only the slice: the teacher's soft labels are applied to the slice's examples, not to the rest
 * of the training text. Student alone and distilled differ only in the kd term (same slice, steps,
 * seeds, model and optimiser). A third classification student, "distilled + transfer set", adds the
 * rest of the training split with its labels removed as `distillation.transferData` (Hinton et al.
 * 2015's transfer set): each step's batch is the same 32 labelled slice examples as the others'
 * plus 32 transfer texts that get the kd term only — the same steps and labelled batches, twice the
 * rows per step. The Shakespeare teacher reads the same text as its students, for the
 * same steps; it is stronger by its size alone. Nothing was tuned on the validation data:
 * temperature 2 and alpha 0.5 (an equal mix of the label and kd terms) were fixed before the first
 * run and kept when the teachers changed.
 *
 * bench/data-efficiency.ts calls {@link runDistillation}; alone:
 *
 *   npm run build && flock /tmp/trainformer-bench.lock node dist/bench/data-efficiency-distill.js [--seeds 1,2,3] [--out runs/bench-distill] [--only sms_spam|snips_intents|shakespeare]
 *
 * A benchmark, never a test. Prints mean ± sample standard deviation over the seeds. A run whose
 * folder in outDir already holds its final evaluation under the same config is reused (restart an
 * interrupted benchmark on the same outDir; use a new outDir to measure again). TF_BENCH_DISTILL_LM_STEPS sets the
 * Shakespeare runs' steps (default 1000).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchArgs } from './args.js';
import { setLogger } from '../src/logger.js';
import type { ClassificationTask } from '../src/tasks/classification.js';
import { createTask, type CreateTaskOptions } from '../src/tasks/index.js';
import { parseConfig, type TrainConfigInput } from '../src/train/config.js';
import { RUN_CONFIG_FILE } from '../src/train/run-files.js';
import { Trainer } from '../src/train/trainer.js';
import { SLICE_SEED, writeSlice, writeSliceRestUnlabelled } from './data-slice.js';
import { sharedDir } from './shared.js';

const USAGE = 'usage: node dist/bench/data-efficiency-distill.js [--seeds 1,2,3] [--out runs/bench-distill] [--only sms_spam|snips_intents|shakespeare]';

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

const TEACHER = { nLayer: 2, nHead: 4, nEmbd: 128, dropout: 0.1 };
const STUDENT = { nLayer: 1, nHead: 2, nEmbd: 32, dropout: 0.1 };
const KD = { temperature: 2, alpha: 0.5 };
/** Classification teachers' epochs over the whole training split (sms_spam 4,127 examples, snips_intents 12,500; batches of 32). */
const TEACHER_EPOCHS: Record<string, number> = { sms_spam: 5, snips_intents: 2 };

interface Measured { metrics: Record<string, number>; seconds: number }

/**
 * Trains one run, or reuses it: a run folder holding exactly this config (trainformer_config.json)
 * and a metrics.jsonl that ends with the final evaluation (an interrupted benchmark restarted on the
 * same outDir) is read, not retrained; any other folder is trained again.
 */
async function trainRun(cfg: TrainConfigInput & Record<string, unknown>, taskOptions: CreateTaskOptions = {}): Promise<Measured> {
  const config = parseConfig({ overwriteOutputDir: true, disableTqdm: true, evalStrategy: 'no', saveStrategy: 'no', stability: { spikeGuard: { enabled: false } }, ...cfg });
  const metricsFile = join(config.outputDir, 'metrics.jsonl'), cfgFile = join(config.outputDir, RUN_CONFIG_FILE);
  if (existsSync(metricsFile) && existsSync(cfgFile) && readFileSync(cfgFile, 'utf8').trim() === JSON.stringify(config, null, 2).trim()) {
    const fin = readFileSync(metricsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.split === 'eval' && l.final === true).at(-1);
    if (fin) return { metrics: fin as Record<string, number>, seconds: fin.elapsed as number };
  }
  const task = await createTask(config, taskOptions);
  const r = await new Trainer({ config, task }).train();
  return { metrics: r.finalMetrics ?? { loss: NaN }, seconds: r.seconds };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

interface Row { dataset: string; model: string; metric: string; values: number[]; seconds: number[] }

/** One classification dataset: teacher (whole training split), students alone and distilled (the slice). */
async function classification(name: string, epochs: number, maxLength: number, o: DistillationBenchOptions, rows: Row[]): Promise<void> {
  const src = join(sharedDir(), 'data', name);
  const slice = join(o.outDir, `${name}-train-10pct.jsonl`);
  const n = writeSlice(join(src, 'train.jsonl'), slice).length;
  const transfer = join(o.outDir, `${name}-train-rest-unlabelled.jsonl`);
  const nTransfer = writeSliceRestUnlabelled(join(src, 'train.jsonl'), transfer);
  o.log(`${name}: 10 % slice of ${n} training examples (seed ${SLICE_SEED}), transfer set ${nTransfer} unlabelled texts, validation ${join(src, 'valid.jsonl')} (load ${load()})`);
  const base = (model: object, seed: number, outputDir: string) => ({
    task: 'classification' as const, seed, outputDir,
    data: { train: slice, validation: join(src, 'valid.jsonl'), tokenizer: { type: 'word' as const, minFrequency: 1, lowercase: true }, maxLength },
    model: { ...model, pooling: 'mean' as const }, learningRate: 2e-3, lrSchedulerType: 'linear' as const, warmupRatio: 0.05, weightDecay: 0.01,
    perDeviceTrainBatchSize: 32, perDeviceEvalBatchSize: 128, numTrainEpochs: epochs, loggingSteps: 10,
  });
  // The students' tokenizer (the slice's vocabulary) and labels, for the teacher.
  const student = (await createTask(parseConfig({ ...base(STUDENT, o.seeds[0], join(o.outDir, `${name}-tokenizer`)), disableTqdm: true }))) as ClassificationTask;
  const teacherDir = join(o.outDir, `${name}-teacher`);
  const tb = base(TEACHER, o.seeds[0], teacherDir);
  const t = await trainRun({ ...tb, data: { ...tb.data, train: join(src, 'train.jsonl') }, numTrainEpochs: TEACHER_EPOCHS[name] },
    { tokenizer: student.tokenizer, labelMap: student.labelMap });
  o.log(`${name}: teacher (whole training split, ${TEACHER_EPOCHS[name]} epochs) ${JSON.stringify(t.metrics)} in ${t.seconds.toFixed(0)} s (load ${load()})`);
  const add = (model: string, ms: Measured[]) => {
    for (const metric of ['accuracy', 'macroF1']) rows.push({ dataset: name, model, metric, values: ms.map((m) => m.metrics[metric]), seconds: ms.map((m) => m.seconds) });
  };
  add(`teacher 2×128, whole training split, ${TEACHER_EPOCHS[name]} epochs`, [t]);
  const alone: Measured[] = [], distilled: Measured[] = [], withTransfer: Measured[] = [];
  for (const seed of o.seeds) {
    alone.push(await trainRun(base(STUDENT, seed, join(o.outDir, `${name}-student-${seed}`))));
    distilled.push(await trainRun({ ...base(STUDENT, seed, join(o.outDir, `${name}-distilled-${seed}`)), distillation: { teacher: teacherDir, ...KD } }));
    withTransfer.push(await trainRun({
      ...base(STUDENT, seed, join(o.outDir, `${name}-distilled-transfer-${seed}`)),
      distillation: { teacher: teacherDir, ...KD, transferData: transfer, transferBatchSize: 32, cacheFile: join(o.outDir, `${name}-transfer-teacher-logits.safetensors`) },
    }));
    o.log(`${name} seed ${seed}: alone ${JSON.stringify(alone.at(-1)!.metrics)}, distilled ${JSON.stringify(distilled.at(-1)!.metrics)}, + transfer set ${JSON.stringify(withTransfer.at(-1)!.metrics)} (load ${load()})`);
  }
  add('student 1×32, labels alone', alone);
  add(`student 1×32, distilled (T ${KD.temperature}, α ${KD.alpha})`, distilled);
  add(`student 1×32, distilled + transfer set (T ${KD.temperature}, α ${KD.alpha}; ${nTransfer} unlabelled texts, 32 per step)`, withTransfer);
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
  const { values } = benchArgs(USAGE, { seeds: { type: 'string', number: 'ints', default: '1,2,3' }, out: { type: 'string', default: 'runs/bench-distill' }, only: { type: 'string' } });
  const md = await runDistillation({
    seeds: values.seeds!.split(',').map(Number), outDir: values.out!, only: values.only?.split(','),
    log: (s) => process.stderr.write(`${s}\n`),
  });
  process.stdout.write(`${md}\n`);
}
