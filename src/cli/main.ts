#!/usr/bin/env node
/**
 * The `trainformer` command.
 *
 *   trainformer train --config <file> [--training-args <hf training_args.json>] [--resume [checkpoint]] [--<field> <value> …]
 *   trainformer eval <run-or-checkpoint> [--<field> <value> …]
 *   trainformer generate <run-or-checkpoint> [--prompt <text>] [--maxNewTokens n] [--temperature t] [--topK k] [--topP p] [--seed s]
 *   trainformer predict <run-or-checkpoint> (--text <text> | --input <file.jsonl>)
 *   trainformer report <run-dir>
 *   trainformer score --metrics bleu,chrf --ref ref.txt [--ref ref2.txt …] [--lowercase] [--tokenize 13a|none] [--json] < hyp.txt
 *   trainformer lr-find --config <file> [--startLr 1e-7] [--endLr 10] [--numSteps 200] [--rule minimum] [--<field> <value> …]
 *
 * Config fields given as flags override the config file (`--maxSteps 100 --data.blockSize 32`; also
 * `--max-steps` / `--max_steps`); `trainformer train --help` lists every field.
 * Errors on bad input (config fields, files, malformed lines) are one line on stderr, naming the
 * field or `file:line`, with exit code 1 and no stack trace (TRAINFORMER_DEBUG=1 shows the stack).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join, relative } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError, FileFormatError, TrainformerError } from '../errors.js';
import { LabelMap, readTokenizerFile } from '../data/index.js';
import { readJsonl, asObject, stringField } from '../data/jsonl.js';
import { createTask, type CreateTaskOptions, type Task } from '../tasks/index.js';
import type { ClassificationTask } from '../tasks/classification.js';
import type { LmTask } from '../tasks/lm.js';
import type { Seq2SeqTask } from '../tasks/seq2seq.js';
import { copyInto, latestCheckpoint } from '../train/checkpoint.js';
import { readSafetensorsFile } from '../io/safetensors.js';
import { parseConfig, readConfigFile, TrainConfigSchema, type TrainConfig } from '../train/config.js';
import { buildReport, writeReport } from '../report/index.js';
import { Trainer, type TrainResult } from '../train/trainer.js';
import { setLogger } from '../logger.js';
import { ProgressCallback, progressLogger } from './progress.js';
import { applyOverrides, parseOverrides } from './args.js';
import { lrFindCommand, type LrFindFlags } from './lr-find.js';
import { loadRawConfig } from './config-file.js';
import { formatFieldReference } from './config-help.js';
import { scoreCommand, type ScoreFlags } from './score.js';

function rel(p: string): string {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}

/** A checkpoint folder: `path` itself when it holds model.safetensors (a checkpoint, or a run's final model), else the latest under it. */
function resolveCheckpoint(path: string): string {
  if (!existsSync(path)) throw new FileFormatError(`${path}: no such run or checkpoint folder`);
  if (existsSync(join(path, 'model.safetensors'))) return path;
  const latest = latestCheckpoint(path);
  if (!latest) throw new FileFormatError(`${path}: no checkpoint-<step> folder with model.safetensors in it`);
  return latest;
}

/** Rebuilds a task from a checkpoint: its config (plus overrides), tokenizer, labels and weights. */
async function taskFromCheckpoint(path: string, overrides: [string, unknown][], opts: CreateTaskOptions): Promise<{ task: Task; config: TrainConfig; dir: string }> {
  const dir = resolveCheckpoint(path);
  const raw = readConfigFile(join(dir, 'config.json'));
  const config = parseConfig(applyOverrides(raw, overrides));
  const tokenizer = readTokenizerFile(join(dir, 'tokenizer.json'));
  const labelsPath = join(dir, 'labels.json');
  const labelMap = existsSync(labelsPath) ? readLabelMap(labelsPath) : undefined;
  const task = await createTask(config, { ...opts, tokenizer, labelMap });
  const model = task.model as unknown as { stateDict(): Record<string, import('../tensor/index.js').Tensor> };
  copyInto(Object.entries(model.stateDict()), readSafetensorsFile(join(dir, 'model.safetensors')).tensors, join(dir, 'model.safetensors'));
  task.model.eval();
  return { task, config, dir };
}

/** A checkpoint's labels.json. @throws FileFormatError naming the path when it is not a label map. */
function readLabelMap(path: string): LabelMap {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FileFormatError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return LabelMap.fromJSON(json);
  } catch (e) {
    throw new FileFormatError(`${path}: ${(e as Error).message}`);
  }
}

function fmt(x: number | undefined, d = 4): string {
  return x === undefined || !Number.isFinite(x) ? String(x) : x.toFixed(d);
}

/** The headline numbers of an evaluation, one line. */
function describeMetrics(task: string, m: Record<string, number>): string {
  if (task === 'lm') return `validation loss ${fmt(m.lossPerChar)} nats/char (${fmt(m.loss)} nats/token, perplexity ${fmt(m.perplexity, 2)})`;
  if (task === 'classification') return `validation accuracy ${fmt(100 * m.accuracy, 2)}% (macro-F1 ${fmt(m.macroF1)}, loss ${fmt(m.loss)})`;
  return Object.entries(m).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
}

async function trainCommand(opts: { config: string; resume?: string | boolean; trainingArgs?: string }, rest: string[]): Promise<void> {
  const { raw, warnings } = loadRawConfig(opts.config, rest, opts.trainingArgs);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const config = parseConfig(raw);
  const task = await createTask(config);
  const nParams = [...task.model.namedParameters()].reduce((a, [, p]) => a + p.size, 0);
  process.stderr.write(`task ${config.task}: ${nParams.toLocaleString('en-US')} parameters, vocabulary ${task.tokenizer?.vocabSize}, ${task.batchesPerEpoch} batches per epoch\n`);
  const progress = new ProgressCallback(config.disableTqdm);
  let began = false;
  const trainer = new Trainer({ config, task, resume: opts.resume ?? false, callbacks: [progress, { onTrainBegin: () => { began = true; } }] });
  process.stderr.write(`training ${trainer.totalSteps} steps → ${rel(trainer.outputDir)}\n`);
  const prevLogger = setLogger(progressLogger(progress));
  let r: TrainResult;
  let reportPath: string | null = null;
  try {
    r = await trainer.train();
  } finally {
    progress.stop();
    setLogger(prevLogger);
    // The report is written for a run that ended in an error too (a diverged run is worth a look).
    if (began) reportPath = await tryWriteReport(trainer.outputDir);
  }
  const out = process.stdout;
  if (r.stoppedEarly) out.write(`stopped early at step ${r.step}: ${r.stoppedEarly}\n`);
  out.write(`trained ${r.step} steps in ${r.seconds.toFixed(1)} s\n`);
  if (r.finalMetrics) out.write(`${describeMetrics(config.task, r.finalMetrics)}\n`);
  if (task.sample) {
    const g = config.generation;
    const text = task.sample(g.prompt, { maxNewTokens: g.maxNewTokens, temperature: g.temperature, topK: g.topK, topP: g.topP });
    out.write(`sample:\n${g.prompt}${text}\n`);
  }
  if (r.checkpoint) out.write(`checkpoint: ${rel(r.checkpoint)}\n`);
  out.write(`metrics:    ${rel(r.metricsPath)}\n`);
  if (reportPath) out.write(`report:     ${rel(reportPath)}\n`);
}

/** Writes report.html / loss.svg of a run folder; a failure is a warning, not the run's failure. */
async function tryWriteReport(dir: string): Promise<string | null> {
  try {
    return (await writeReport(dir)).html;
  } catch (e) {
    process.stderr.write(`warning: report not written: ${(e as Error).message}\n`);
    return null;
  }
}

async function evalCommand(path: string, rest: string[]): Promise<void> {
  const { task, config, dir } = await taskFromCheckpoint(path, parseOverrides(rest), { noTrainData: true });
  const m = (await import('../tensor/index.js')).noGrad(() => task.evaluate());
  process.stdout.write(`${rel(dir)}: ${describeMetrics(config.task, m)}\n${JSON.stringify(m)}\n`);
}

interface GenerateFlags { prompt?: string; maxNewTokens?: string; temperature?: string; topK?: string; topP?: string; seed?: string }

function num(v: string | undefined, name: string, int = false): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || (int && !Number.isInteger(x))) throw new ConfigError(`--${name}: must be ${int ? 'an integer' : 'a number'} (got ${JSON.stringify(v)})`);
  return x;
}

async function generateCommand(path: string, f: GenerateFlags): Promise<void> {
  const { task, config } = await taskFromCheckpoint(path, [], { noData: true });
  if (!task.sample) throw new ConfigError(`task: generate needs an lm checkpoint, this one is ${config.task}`);
  const g = config.generation;
  const prompt = f.prompt ?? g.prompt;
  const text = (task as LmTask).sample(prompt, {
    maxNewTokens: num(f.maxNewTokens, 'maxNewTokens', true) ?? g.maxNewTokens,
    temperature: num(f.temperature, 'temperature') ?? g.temperature,
    topK: num(f.topK, 'topK', true) ?? g.topK,
    topP: num(f.topP, 'topP') ?? g.topP,
    seed: num(f.seed, 'seed', true),
  });
  process.stdout.write(`${prompt}${text}\n`);
}

async function predictCommand(path: string, f: { text?: string[]; input?: string } & GenerateFlags): Promise<void> {
  const { task, config } = await taskFromCheckpoint(path, [], { noData: true, noTrainData: true });
  let texts: string[] = f.text ?? [];
  if (f.input) texts = texts.concat((await readJsonl(f.input, (v) => stringField(asObject(v), config.data.textField))).records);
  if (texts.length === 0) throw new ConfigError('--text: give --text <text> or --input <file.jsonl>');
  if (config.task === 'classification') {
    const t = task as unknown as ClassificationTask;
    const { encodeClassification } = await import('../data/index.js');
    const enc = encodeClassification({ path: 'input', skipped: 0, examples: texts.map((text, i) => ({ text, label: t.labelMap.labels[0], line: i + 1 })) },
      t.tokenizer, t.labelMap, { maxLength: config.data.maxLength }).examples;
    const { noGrad } = await import('../tensor/index.js');
    const { pred, probs } = noGrad(() => t.predict(enc));
    texts.forEach((text, i) => process.stdout.write(JSON.stringify({ text, label: t.labelMap.label(pred[i]), probability: Number(probs[i][pred[i]].toFixed(4)) }) + '\n'));
    return;
  }
  if (config.task === 'lm') {
    for (const text of texts) await generateCommand(path, { ...f, prompt: text });
    return;
  }
  if (config.task === 'seq2seq') {
    const t = task as unknown as Seq2SeqTask;
    for (const text of texts) process.stdout.write(JSON.stringify({ text, translation: t.translate(text) }) + '\n');
    return;
  }
  throw new ConfigError(`task: predict supports lm, classification and seq2seq checkpoints, this one is ${config.task}`);
}

async function reportCommand(dir: string): Promise<void> {
  // Check first: a log with nothing to draw must not replace a good report.
  const built = await buildReport(dir);
  const m = built.metrics;
  for (const i of m.issues) process.stderr.write(`warning: ${i.file}:${i.line}: ${i.reason}\n`);
  if (m.train.length === 0 && m.eval.length === 0 && built.lrFind.points.length === 0) {
    throw new FileFormatError(`report: ${m.path} has no usable train or eval lines (${m.malformedCount} malformed of ${m.totalLines}); nothing written`);
  }
  const { html, svg } = await writeReport(dir);
  process.stdout.write(`report: ${rel(html)}\nloss curve: ${rel(svg)}\n`);
}

/** Builds the command tree (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('trainformer')
    .description('Train Transformer models in TypeScript, with the training objective at the centre')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.command('train')
    .description('train a model from a JSON config; --<field> <value> overrides a config field')
    .requiredOption('--config <file>', 'JSON config file (see examples/*.json)')
    .option('--resume [checkpoint]', 'resume from the latest checkpoint in outputDir (or the one given)')
    .option('--training-args <file>', "a Hugging Face training_args.json: the fields trainformer has override the config file's, the others are named in one warning")
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', `\n${formatFieldReference(TrainConfigSchema)}\n\nData paths in the config file are relative to its folder; outputDir and flags to the working directory.`)
    .action((opts, cmd: Command) => trainCommand(opts, cmd.args));
  program.command('eval')
    .description('evaluate a checkpoint on its validation data')
    .argument('<checkpoint>', 'run folder (its final model, else the latest checkpoint) or checkpoint-<step> folder')
    .allowUnknownOption()
    .allowExcessArguments()
    .action((path: string, _o, cmd: Command) => evalCommand(path, cmd.args.slice(1)));
  program.command('generate')
    .description('sample text from a language-model checkpoint')
    .argument('<checkpoint>', 'run folder (its final model, else the latest checkpoint) or checkpoint-<step> folder')
    .option('--prompt <text>', 'text to continue')
    .option('--maxNewTokens <n>', 'tokens to generate')
    .option('--temperature <t>', 'softmax temperature (0 = greedy)')
    .option('--topK <k>', 'keep the k most likely tokens')
    .option('--topP <p>', 'nucleus sampling: smallest set with probability >= p')
    .option('--seed <s>', 'seed of the sampler')
    .action((path: string, f: GenerateFlags) => generateCommand(path, f));
  program.command('predict')
    .description('classify (classification), continue (lm) or translate (seq2seq) texts with a checkpoint; prints JSON lines')
    .argument('<checkpoint>', 'run folder (its final model, else the latest checkpoint) or checkpoint-<step> folder')
    .option('--text <text...>', 'one or more texts')
    .option('--input <file>', 'JSONL file with a "text" field per line')
    .option('--maxNewTokens <n>', 'lm: tokens to generate')
    .option('--temperature <t>', 'lm: softmax temperature')
    .action((path: string, f) => predictCommand(path, f));
  program.command('lr-find')
    .description('learning-rate range test: sweep the lr exponentially, write lr_find.jsonl and the report, suggest a learning rate')
    .requiredOption('--config <file>', 'JSON config file (see examples/*.json)')
    .option('--startLr <lr>', 'first learning rate of the sweep (default 1e-7)')
    .option('--endLr <lr>', 'last learning rate of the sweep (default 10)')
    .option('--numSteps <n>', 'steps of the sweep (default 200)')
    .option('--rule <rule>', 'minimum (default), minimum/10, steepest or valley')
    .allowUnknownOption()
    .allowExcessArguments()
    .action((opts: LrFindFlags, cmd: Command) => lrFindCommand(opts, cmd.args));
  program.command('score')
    .description("corpus BLEU / chrF / chrF++ of a hypothesis file (one segment per line, stdin or --input) against reference files, as sacreBLEU computes them by default")
    .option('--metrics <list>', 'comma-separated: bleu, chrf, chrf++ (default bleu)')
    .option('--ref <file>', 'reference file, one segment per line; repeat for more references', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--input <file>', 'hypothesis file (default: stdin)')
    .option('--lowercase', 'case-insensitive scores')
    .option('--tokenize <tok>', 'BLEU tokenisation: 13a (default) or none')
    .option('--json', 'print a JSON array')
    .action((f: ScoreFlags) => scoreCommand(f));
  program.command('report')
    .description('write report.html and loss.svg for a run folder')
    .argument('<run-dir>')
    .action((dir: string) => reportCommand(dir));
  return program;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // Library messages (warnings, resume notes) become stderr lines for the whole command.
  const prevLogger = setLogger(progressLogger(null));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : e.exitCode || 1; // commander printed it
    const debug = process.env.TRAINFORMER_DEBUG === '1';
    if (e instanceof ConfigError) process.stderr.write(`config error: ${e.message}\n`);
    else if (e instanceof TrainformerError) process.stderr.write(`error: ${e.message}\n`);
    else process.stderr.write(`error: ${(e as Error)?.message ?? String(e)}${debug ? '' : ' (TRAINFORMER_DEBUG=1 shows the stack)'}\n`);
    if (debug && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    return 1;
  } finally {
    setLogger(prevLogger);
  }
}

// Run when executed (also through npm's bin symlink), not when imported by tests.
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isMain) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
