/**
 * Issue 15's data-efficiency benchmark (a benchmark, never a test): does text augmentation help a
 * classifier trained from scratch on little data? On a fixed 10% slice of the training set of
 * sms_spam and snips_intents (the same examples for every run and for the distillation half:
 * bench/data-slice.ts, permutation of seed 2019), the
 * examples' Encoder (examples/sms-spam.json, examples/snips-intents.json) is trained for the same
 * number of steps without augmentation, with EDA (Wei & Zou 2019's recommended α = 0.05 with
 * n_aug = 16 for ~500 examples, 8 for ~2,000) and with back-translation (a paraphrase through two
 * seq2seq runs, eng→fra→eng, used half of the time: numAug 1), for each seed; the full validation
 * set gives accuracy and macro-F1 of the final model; mean, sample standard deviation and range over
 * the seeds are printed. Then, when bench/data-efficiency-distill.ts exists, its distillation table.
 *
 *   npm run bench:data-efficiency [-- --seeds 1,2,3 --only sms_spam|snips_intents|shakespeare
 *     --forward runs/eng-fra --backward runs/fra-eng --outDir runs/data-efficiency --part all|augment|distill]
 *
 * `--only` picks one dataset for both halves (shakespeare exists in the distillation half only).
 *
 * Back-translation needs the two runs (`trainformer train --config examples/eng-fra.json` and
 * `examples/fra-eng.json`); without them its rows say so. Paraphrases are cached in
 * <outDir>/<dataset>/back-translation.jsonl and reused; so is a finished run of exactly the same config
 * in its folder (<outDir>/<dataset>/<augmentation>/seed<k>). Run it under `flock /tmp/trainformer-bench.lock`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.js';
import { backTranslate } from '../src/cli/back-translate.js';
import { corpusBleu, corpusChrf } from '../src/metrics/index.js';
import { setLogger } from '../src/logger.js';
import { createTask } from '../src/tasks/index.js';
import { parseConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { writeSlice } from './data-slice.js';
import { repoRoot, sharedDir } from './shared.js';

const USAGE = 'usage: npm run bench:data-efficiency [-- --seeds 1,2,3 --only sms_spam|snips_intents|shakespeare --forward runs/eng-fra --backward runs/fra-eng --outDir runs/data-efficiency --part all|augment|distill]';

const { values } = benchArgs(USAGE, {
    seeds: { type: 'string', number: 'ints', default: '1,2,3' },
    only: { type: 'string' },
    forward: { type: 'string', default: 'runs/eng-fra' },
    backward: { type: 'string', default: 'runs/fra-eng' },
    outDir: { type: 'string', default: 'runs/data-efficiency' },
    part: { type: 'string', default: 'all' },
  });
const root = repoRoot();
const seeds = values.seeds!.split(',').map(Number);
const outDir = resolve(values.outDir!);
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
const log = (s: string) => process.stderr.write(`${s}\n`);
let stabilityWarnings = 0; // the runs' gradient warnings: counted here, each is in its metrics.jsonl
setLogger({ info: () => {}, warn: (s: string) => { if (/^\[warning\] step \d+: /.test(s)) stabilityWarnings++; else log(s); } });

interface Dataset { name: string; example: string; epochs: number; eda: Record<string, number> }
// Steps (sized for a shared 2-core machine): sms 413 examples / 32 = 13 batches × 15 epochs = 195;
// snips 1,250 / 32 = 40 batches × 5 epochs = 200.
const DATASETS: Dataset[] = [
  { name: 'sms_spam', example: 'sms-spam.json', epochs: 15, eda: { numAug: 16 } },
  { name: 'snips_intents', example: 'snips-intents.json', epochs: 5, eda: { numAug: 8 } },
];
// As examples/sms-spam-augment.json: words with a digit (prices, phone numbers, times) are protected.
const EDA = { synonymReplacement: 0.05, randomInsertion: 0.05, randomSwap: 0.05, randomDeletion: 0.05, protectedPattern: '\\d' };

/** The fixed 10% slice of a training file (bench/data-slice.ts, shared with the distillation half), written once. */
function slice(ds: Dataset): { train: string; valid: string; texts: string[] } {
  const src = existsSync(join(sharedDir(), 'data', ds.name)) ? join(sharedDir(), 'data', ds.name) : join(root, 'examples/data', ds.name);
  const dir = join(outDir, ds.name);
  mkdirSync(dir, { recursive: true });
  const train = join(dir, 'train-10pct.jsonl');
  const picked = writeSlice(join(src, 'train.jsonl'), train);
  return { train, valid: join(src, 'valid.jsonl'), texts: picked.map((l) => (JSON.parse(l) as { text: string }).text) };
}

/** The final evaluation of a finished run of exactly this config in its outputDir (an earlier invocation), else null. */
function finishedRun(config: object & { outputDir: string }): { accuracy: number; macroF1: number; seconds: number; reused: true } | null {
  const cfg = join(config.outputDir, 'trainformer_config.json'), metrics = join(config.outputDir, 'metrics.jsonl');
  if (!existsSync(cfg) || !existsSync(metrics) || readFileSync(cfg, 'utf8').trim() !== JSON.stringify(config, null, 2).trim()) return null;
  const final = readFileSync(metrics, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | boolean>).filter((l) => l.final === true).at(-1);
  return final ? { accuracy: final.accuracy as number, macroF1: final.macroF1 as number, seconds: final.elapsed as number, reused: true } : null;
}

async function trainOnce(ds: Dataset, data: { train: string; valid: string }, cond: string, seed: number, augment?: Record<string, unknown>): Promise<{ accuracy: number; macroF1: number; seconds: number }> {
  const raw = JSON.parse(readFileSync(join(root, 'examples', ds.example), 'utf8')) as Record<string, unknown>;
  const config = parseConfig({
    ...raw, seed, outputDir: join(outDir, ds.name, cond, `seed${seed}`), overwriteOutputDir: true, numTrainEpochs: ds.epochs,
    evalStrategy: 'no', saveStrategy: 'no', disableTqdm: true, loadBestModelAtEnd: false,
    data: { ...(raw.data as Record<string, unknown>), train: data.train, validation: data.valid, ...(augment ? { augment } : {}) },
  });
  const prev = finishedRun(config);
  if (prev) return prev;
  const t0 = performance.now();
  const r = await new Trainer({ config, task: await createTask(config) }).train();
  const m = r.finalMetrics!;
  return { accuracy: m.accuracy, macroF1: m.macroF1, seconds: (performance.now() - t0) / 1000 };
}

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
const sd = (a: number[]) => (a.length < 2 ? 0 : Math.sqrt(a.reduce((s, x) => s + (x - mean(a)) ** 2, 0) / (a.length - 1)));
const pct = (x: number) => (100 * x).toFixed(1);
const cell = (a: number[]) => `${pct(mean(a))} ± ${pct(sd(a))} (${pct(Math.min(...a))}–${pct(Math.max(...a))})`;

/** Paraphrase quality of a cache against its texts: chrF2 / BLEU of paraphrase vs original, identical and empty shares. */
function paraphraseQuality(entries: Array<{ text: string; paraphrase: string; pivot: string }>): string {
  const para = entries.map((e) => e.paraphrase), orig = [entries.map((e) => e.text)];
  const same = entries.filter((e) => e.paraphrase === e.text).length, empty = entries.filter((e) => e.paraphrase.trim() === '').length;
  const samples = entries.slice(0, 4).map((e) => `  - "${e.text}" → "${e.pivot}" → "${e.paraphrase}"`).join('\n');
  return `paraphrases vs their source text: chrF2 ${corpusChrf(para, orig).score.toFixed(1)}, BLEU ${corpusBleu(para, orig).score.toFixed(1)}; ${same} identical, ${empty} empty of ${entries.length}\n${samples}`;
}

async function augmentation(): Promise<string> {
  const out: string[] = [];
  const btReady = ['forward', 'backward'].every((k) => existsSync(join(resolve(values[k as 'forward']!), 'model.safetensors')));
  for (const ds of DATASETS.filter((d) => !values.only || values.only === d.name)) {
    const data = slice(ds);
    const conds: Array<[string, Record<string, unknown> | undefined]> = [['none', undefined], ['EDA', { ...EDA, ...ds.eda }]];
    let btNote = `back-translation: not run (no model.safetensors in ${values.forward} and ${values.backward}; train examples/eng-fra.json and examples/fra-eng.json)`;
    if (btReady) {
      const cache = join(outDir, ds.name, 'back-translation.jsonl');
      log(`${ds.name}: back-translating ${data.texts.length} texts (load ${load()})`);
      const bt = await backTranslate(data.texts, { forward: values.forward!, backward: values.backward!, cache, log });
      btNote = `back-translation (${values.forward} → ${values.backward}, greedy): ${bt.translated} translated in ${bt.seconds.toFixed(0)} s, ${bt.reused} from the cache; ${paraphraseQuality(bt.entries)}`;
      conds.push(['back-translation', { backTranslation: cache, numAug: 1 }]);
    }
    const rows: Array<{ cond: string; acc: number[]; f1: number[]; secs: number[] }> = [];
    for (const [cond, augment] of conds) {
      const r = { cond, acc: [] as number[], f1: [] as number[], secs: [] as number[] };
      for (const seed of seeds) {
        const m = await trainOnce(ds, data, cond.replace(/[^a-zA-Z]/g, '-'), seed, augment);
        log(`${ds.name} ${cond} seed ${seed}: accuracy ${pct(m.accuracy)}, macro-F1 ${pct(m.macroF1)}, ${m.seconds.toFixed(0)} s${'reused' in m ? ' (a finished run of this config, reused)' : ''} (load ${load()})`);
        r.acc.push(m.accuracy); r.f1.push(m.macroF1); r.secs.push(m.seconds);
      }
      rows.push(r);
    }
    const base = rows[0];
    const table = [`### ${ds.name}: ${data.texts.length} training examples (10%), ${ds.epochs} epochs, seeds ${seeds.join(', ')}\n`,
      '| augmentation | accuracy % (mean ± sd, range) | Δ acc | macro-F1 % (mean ± sd, range) | Δ F1 | s / run |', '| --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.cond} | ${cell(r.acc)} | ${r === base ? '' : (100 * (mean(r.acc) - mean(base.acc))).toFixed(1)} | ${cell(r.f1)} | ${r === base ? '' : (100 * (mean(r.f1) - mean(base.f1))).toFixed(1)} | ${mean(r.secs).toFixed(0)} |`),
      '', btNote, ''].join('\n');
    out.push(table);
    // Each dataset's table as soon as it is measured (a long run stopped later keeps it).
    writeFileSync(join(outDir, `results-${ds.name}.md`), `${table}\nload average at the end: ${load()}\n`);
    process.stdout.write(`${table}\n`);
  }
  return out.join('\n');
}

async function distillation(): Promise<string> {
  const module = new URL('./data-efficiency-distill.js', import.meta.url);
  if (!existsSync(fileURLToPath(module))) return 'distillation: bench/data-efficiency-distill.ts is not there yet — skipped\n';
  const m = (await import(module.href)) as { runDistillation(o: { seeds: number[]; outDir: string; log: (s: string) => void; only?: string[] }): Promise<string> };
  return m.runDistillation({ seeds, outDir: join(outDir, 'distillation'), log, only: values.only ? [values.only] : undefined });
}

const start = load(), t0 = performance.now();
const parts: string[] = [];
if (values.part !== 'distill') parts.push(await augmentation());
if (values.part !== 'augment') parts.push(await distillation());
const report = `${parts.join('\n')}\nload average (1, 5, 15 min) at start ${start}, at end ${load()}; ${((performance.now() - t0) / 60000).toFixed(1)} min; ${stabilityWarnings} stability warnings in the runs' metrics.jsonl\n`;
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'results.md'), report);
process.stdout.write(`\n${report}`);
