#!/usr/bin/env node
/**
 * The `trainformer` command.
 *
 *   trainformer train --config <file> [--training-args <hf training_args.json>] [--resume [checkpoint]] [--<field> <value> …]
 *   trainformer eval <run-or-checkpoint> [--data <file.jsonl>] [--output <metrics.json>] [--<field> <value> …]
 *   trainformer generate <run-or-checkpoint> [--prompt <text>] [--maxNewTokens n] [--temperature t] [--topK k] [--topP p] [--seed s]
 *   trainformer predict <run-or-checkpoint> (--text <text> | --file <file.jsonl> | --question <q> --context <c>)
 *   trainformer export <run-or-checkpoint> --format hf|onnx <dir>
 *   trainformer report <run-dir>
 *   trainformer score --metrics bleu,chrf --ref ref.txt [--ref ref2.txt …] [--lowercase] [--tokenize 13a|none] [--json] < hyp.txt
 *   trainformer lr-find --config <file> [--startLr 1e-7] [--endLr 10] [--numSteps 200] [--rule minimum] [--<field> <value> …]
 *
 * Config fields given as flags override the config file (`--maxSteps 100 --data.blockSize 32`; also
 * `--max-steps` / `--max_steps`); `trainformer train --help` lists every field.
 * Errors on bad input (config fields, files, malformed lines) are one line on stderr, naming the
 * field or `file:line`, with exit code 1 and no stack trace (TRAINFORMER_DEBUG=1 shows the stack).
 */
import { accessSync, constants as fsConstants, existsSync, readFileSync, statSync } from 'node:fs';
import { normaliseFlagNames } from './flag-names.js';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { dirname, join, relative, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError, FileFormatError, TrainformerError } from '../errors.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { writeFailure } from '../io/write-failure.js';
import { createTask, runUnlessAborted, type EvalMetrics, type Task } from '../tasks/index.js';
import type { LmTask } from '../tasks/lm.js';
import { parseConfig, TrainConfigSchema, type TrainConfig } from '../train/config.js';
import { buildReport, writeReport } from '../report/index.js';
import { TensorBoardCallback } from '../report/tensorboard.js';
import { Trainer, type TrainResult } from '../train/trainer.js';
import type { TrainerCallback } from '../train/callbacks.js';
import { setLogger } from '../logger.js';
import { destroyProcessGroup, getProcessGroup, initProcessGroup } from '../distributed/index.js';
import { checkRunFolder } from '../train/run-folder.js';
import { checkpointStep, checkResumeSchedule, checkResumeTokenizer } from '../train/resume-checks.js';
import { checkRunLock } from '../train/run-lock.js';
import { checkResumeIntact } from '../train/checkpoint-integrity.js';
import { ensureDir, fileAbove } from '../io/ensure-dir.js';
import { ProgressCallback, progressLogger } from './progress.js';
import { parseOverrides } from './args.js';
import { lrFindCommand, type LrFindFlags } from './lr-find.js';
import { trainedLine } from './trained-line.js';
import { loadRawConfig, locateConfigError, locateTaskError } from './config-file.js';
import { formatFieldReference } from './config-help.js';
import { scoreCommand, type ScoreFlags } from './score.js';
import { taskFromCheckpoint } from './checkpoint-task.js';
import { checkSamplingFlags, numFlag, predictCommand, type PredictFlags } from './predict.js';
import { exportCommand, type ExportFlags } from './export.js';
import { backTranslateCommand, type BackTranslateFlags } from './back-translate.js';
import { abortedMeanwhile, catchInterrupt, exitCodeOf, interruptedLine, stoppedWords, TrainingInterrupted, withInterrupt } from './interrupt.js';
import { onBrokenPipe, watchPipes, type PipeName } from './broken-pipe.js';

function rel(p: string): string {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}

function fmt(x: number | undefined, d = 4): string {
  return x === undefined || !Number.isFinite(x) ? String(x) : x.toFixed(d);
}

/** The headline numbers of an evaluation, one line. */
function describeMetrics(task: string, m: Record<string, number>): string {
  if (task === 'lm') return `validation loss ${fmt(m.lossPerChar)} nats/char (${fmt(m.loss)} nats/token, perplexity ${fmt(m.perplexity, 2)})`;
  if (task === 'classification') return `validation accuracy ${fmt(100 * m.accuracy, 2)}% (macro-F1 ${fmt(m.macroF1)}, loss ${fmt(m.loss)})`;
  return `validation ${Object.entries(m).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`;
}

/**
 * The train command up to its first step: the config file and flags read and validated, the output
 * folder created, the data read, the model built and the Trainer's checks made (exported for the
 * fuzz test of this path). Nothing is trained.
 * @throws ConfigError / FileFormatError (one line naming the field, file and line) for bad input.
 */
export async function prepareTrain(opts: { config: string; resume?: string | boolean; trainingArgs?: string }, rest: string[],
  callbacks: TrainerCallback[] = [],
  hooks: { afterParse?: (config: TrainConfig, warnings: string[]) => void; onTask?: (config: TrainConfig, task: Task) => void } = {},
): Promise<{ config: TrainConfig; task: Task; trainer: Trainer }> {
  const { raw, warnings } = loadRawConfig(opts.config, rest, opts.trainingArgs);
  let config: TrainConfig;
  try {
    config = parseConfig(raw);
  } catch (e) {
    const located = locateConfigError(e, opts.config, rest, opts.trainingArgs);
    if (e instanceof ConfigError && located instanceof ConfigError) located.more = e.more.map((m) => locateConfigError(m, opts.config, rest, opts.trainingArgs) as ConfigError);
    throw located;
  }
  if (hooks.afterParse) hooks.afterParse(config, warnings);
  else for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  // Before reading any data: a folder held by another training, one holding an earlier run (without
  // --resume / overwriteOutputDir) or one with nothing to --resume fails now, before it is created.
  // Under mpirun rank 0 alone applies the policy (a second machine's folder is its own).
  if (getProcessGroup().rank === 0) {
    checkRunLock(config.outputDir);
    const from = checkRunFolder(config.outputDir, opts.resume, config.overwriteOutputDir);
    // A checkpoint at or past maxSteps trains nothing, whatever else changed: the Trainer says only
    // that (a changed schedule or tokenizer would be refused for a run that does not use them).
    // With numTrainEpochs the last step needs the data: those checks still come first there.
    const step = from ? checkpointStep(from) : null;
    const nothingToTrain = step !== null && config.maxSteps > 0 && step >= config.maxSteps;
    if (from && !nothingToTrain) {
      checkResumeIntact(from); // a damaged checkpoint, before the data is read (trial s9 F12)
      checkResumeTokenizer(from, config);
      checkResumeSchedule(from, config); // an option's change is said by the Trainer, once resumed
    }
  }
  // …and a folder that cannot be created fails now, not after loading.
  ensureDir(config.outputDir, 'outputDir');
  let task: Task;
  try {
    task = await createTask(config);
  } catch (e) {
    // Checks made while building the model and data (model.ropeTheta needs rope, …) name the line
    // too, and a data file that cannot be read names its field and line.
    throw locateTaskError(e, config, opts.config, rest, opts.trainingArgs);
  }
  // The sample printed once training ends must not fail only then: a prompt the user gave is checked now.
  const given = (raw.generation as { prompt?: unknown } | undefined)?.prompt;
  if (task.sample && given !== undefined && task.tokenizer) {
    try {
      task.tokenizer.encode(config.generation.prompt);
    } catch (e) {
      throw locateConfigError(new ConfigError(`generation.prompt: ${JSON.stringify(config.generation.prompt).slice(0, 40)} cannot be encoded (${(e as Error).message})`, ['generation', 'prompt']), opts.config, rest, opts.trainingArgs);
    }
  }
  hooks.onTask?.(config, task);
  try {
    return { config, task, trainer: new Trainer({ config, task, resume: opts.resume ?? false, callbacks }) };
  } catch (e) {
    throw locateConfigError(e, opts.config, rest, opts.trainingArgs);
  }
}

async function trainCommand(opts: { config: string; resume?: string | boolean; trainingArgs?: string }, rest: string[]): Promise<void> {
  // Under mpirun every rank runs this command; rank 0 talks, writes the report and the summary.
  let pg: ReturnType<typeof initProcessGroup> | null = null;
  let main = true;
  const say = (line: string): void => { if (main) process.stderr.write(line); };
  let progress: ProgressCallback | null = null;
  let began = false;
  let tensorboard: TensorBoardCallback | null = null;
  const callbacks: TrainerCallback[] = [];
  const { config, task, trainer } = await prepareTrain(opts, rest, callbacks, {
    afterParse: (config, warnings) => {
      pg = initProcessGroup({ timeoutSec: config.ddpTimeout });
      main = pg.rank === 0;
      for (const w of warnings) say(`warning: ${w}\n`);
      progress = new ProgressCallback(config.disableTqdm, process.stderr, (m) => describeMetrics(config.task, m));
      // Only rank 0 shows progress: on a pipe the plain step lines would print once per rank.
      if (main) callbacks.push(progress);
      callbacks.push({ onTrainBegin: () => { began = true; } });
      // TensorBoard events are a rank-0 side effect, as the report.
      if (main && config.reportTo.includes('tensorboard')) {
        tensorboard = new TensorBoardCallback({ outputDir: resolve(config.outputDir), loggingDir: config.loggingDir });
        callbacks.push(tensorboard);
      }
    },
  });
  const progressBar = progress as unknown as ProgressCallback; // set by afterParse
  const nParams = [...task.model.namedParameters()].reduce((a, [, p]) => a + p.numel(), 0);
  say(`task ${config.task}: ${nParams.toLocaleString('en-US')} parameters, vocabulary ${task.tokenizer?.vocabSize}, ${task.batchesPerEpoch} batches per epoch\n`);
  const size = (pg as ReturnType<typeof initProcessGroup> | null)?.size ?? 1;
  if (size > 1) say(`data parallel: ${size} ranks × batch ${config.perDeviceTrainBatchSize}, ${process.env.TRAINFORMER_NUM_THREADS ?? 'default'} threads per rank${config.zeroStage ? ', ZeRO-1' : ''}\n`);
  // A resume with nothing to train says only that (train() prints it), not "training N steps".
  if (trainer.nothingToTrain() === null) {
    if (config.fp16) fp16Notice(say);
    say(`training ${trainer.totalSteps} steps → ${rel(trainer.outputDir)}\n`);
  }
  const prevLogger = setLogger(progressLogger(progressBar));
  let r!: TrainResult;
  let failure: { error: unknown } | null = null;
  let reportPath: string | null = null;
  // Ctrl-C stops one process between steps, saving that step (src/cli/interrupt.ts); under mpirun
  // every rank gets it, maybe at different steps, so the signal keeps its default action there.
  // SIGTERM (docker stop, Slurm preemption) is treated as Ctrl-C: the step under way is saved.
  // The listener stays to the end of the command: a Ctrl-C during the final sample stops the sample
  // with a line saying what was written (it used to end the process with no line: trial s9 F17).
  const interrupt = size === 1 ? catchInterrupt(['SIGINT', 'SIGTERM']) : null;
  trainer.stopOn(interrupt?.signal);
  // A closed output pipe (`| head`, `2>&1 | head`) stops the run as Ctrl-C does, exit 141 (trial s9 F19).
  let pipe: PipeName | null = null;
  const offPipe = interrupt ? onBrokenPipe((s) => { pipe ??= s; interrupt.stop('SIGPIPE'); }) : () => {};
  try {
    try {
      r = await trainer.train();
    } catch (e) {
      failure = { error: e };
    } finally {
      progressBar.stop();
      setLogger(prevLogger);
    }
    // The report is written for a run that ended in an error too (a diverged run is worth a look).
    let unwritten = '';
    if (began && main) {
      const extras = await writeRunExtras(trainer.outputDir, task);
      reportPath = extras.reportPath;
      // A failed or interrupted run ends in one line: what else could not be written (the same full
      // disk) joins it after what happened to the run and its checkpoint.
      if ((failure && failure.error instanceof Error) || (!failure && r.interrupted)) unwritten = extras.problems.map((p) => `; ${p}`).join('');
      else for (const p of extras.problems) process.stderr.write(`warning: ${p}\n`);
    }
    if (failure) {
      if (failure.error instanceof Error) failure.error.message += unwritten;
      throw failure.error;
    }
    // A resume with nothing to train said so (one line, through the logger) and touched nothing.
    if (r.nothingToTrain !== null) {
      destroyProcessGroup();
      return;
    }
    if (r.interrupted) {
      const by = stopReason(interrupt?.signal);
      throw new TrainingInterrupted(`${interruptedLine(r, config.saveStrategy, by, pipe ?? 'output')}${unwritten}`, exitCodeOf(by));
    }
    const stateBytes = trainer.dataParallel?.optimizerStateBytesPerRank(trainer.optimizer);
    if (main) {
      const out = process.stdout;
      if (stateBytes) out.write(`optimizer state per rank: ${stateBytes.join(', ')} bytes\n`);
      if (r.stoppedEarly) out.write(`stopped early at step ${r.step}: ${r.stoppedEarly}\n`);
      out.write(`${trainedLine(r)}\n`);
      if (r.finalMetrics) out.write(`${describeMetrics(config.task, r.finalMetrics)}\n`);
      const model = join(trainer.outputDir, 'model.safetensors');
      const written = (): string => [`the model is saved in ${rel(model)}`, ...(reportPath ? [`the report in ${rel(reportPath)}`] : [])].join(', ');
      if (task.sample) {
        const g = config.generation;
        const stopped = await printSample(task, { maxNewTokens: g.maxNewTokens, temperature: g.temperature, topK: g.topK, topP: g.topP }, g.prompt, interrupt?.signal);
        if (stopped) {
          const what = stopped === 'SIGPIPE' ? 'output' : 'sample'; // (stdout closed: maybe before the sample began)
          const by = stopped === 'SIGINT' ? 'interrupted (Ctrl-C)' : stoppedWords(stopped, pipe ?? 'output');
          throw new TrainingInterrupted(`${what} ${by}; training had finished: ${written()}`, exitCodeOf(stopped));
        }
      }
      // The final model is what eval / generate / predict <run> load (trial s9 F3: only the checkpoint was named).
      out.write(`model:      ${rel(model)}\n`);
      if (r.checkpoint) out.write(`checkpoint: ${rel(r.checkpoint)}\n`);
      out.write(`metrics:    ${rel(r.metricsPath)}\n`);
      if (reportPath) out.write(`report:     ${rel(reportPath)}\n`);
      const tb = tensorboard as TensorBoardCallback | null; // set by afterParse
      if (tb?.eventFile) out.write(`tensorboard: ${rel(tb.eventFile)}\n`);
      // A stdout closed while these lines were written (`| head -3` takes the first three): the
      // error comes a turn of the event loop later.
      if (interrupt && await abortedMeanwhile(interrupt.signal) && pipe !== null) {
        destroyProcessGroup();
        throw new TrainingInterrupted(`output stopped because its ${pipe} was closed (the reader of the pipe exited); training had finished: ${written()}`, exitCodeOf('SIGPIPE'));
      }
    }
    destroyProcessGroup();
  } finally {
    offPipe();
    interrupt?.dispose();
  }
}

/**
 * The files written beside a run once training ends, each failure a phrase rather than the run's
 * failure: the last evaluation's sample predictions beside their references (seq2seq,
 * extractive-qa) as eval_samples.json, for the report's table, then report.html / loss.svg.
 * @returns the report's path (null when not written) and a phrase per failure (`report not written: …`).
 */
async function writeRunExtras(dir: string, task: Task): Promise<{ reportPath: string | null; problems: string[] }> {
  const problems: string[] = [];
  const samples = (task as { lastSamples?: unknown[] }).lastSamples;
  if (Array.isArray(samples) && samples.length > 0) {
    try {
      writeJsonAtomic(join(dir, 'eval_samples.json'), { task: task.name, samples });
    } catch (e) {
      problems.push(`eval_samples.json not written: ${writeFailure(e)}`);
    }
  }
  let reportPath: string | null = null;
  try {
    reportPath = (await writeReport(dir)).html;
  } catch (e) {
    problems.push(`report not written: ${(e as Error).message}`);
  }
  return { reportPath, problems };
}

let fp16Noticed = false;

/**
 * One line, once per process, when a training runs in fp16 (trial s9 F8: bf16 said its emulation,
 * fp16 nothing): trainformer has no float16 product kernel with float32 sums (AVX512-FP16 sums in
 * float16, which is not the policy), so fp16 products always take the emulated route
 * (native/src/bf16-gemm.cc), and fp16 attention the float32 kernel.
 */
function fp16Notice(say: (line: string) => void): void {
  if (fp16Noticed) return;
  fp16Noticed = true;
  say('trainformer: float16 products are emulated on this CPU (operands rounded to float16, float32 products), so fp16 trains slower than float32\n');
}

/** What stopped a run: the abort reason of catchInterrupt's signal (SIGINT, SIGTERM, SIGPIPE for a closed pipe). */
function stopReason(signal: AbortSignal | undefined): NodeJS.Signals {
  const r = signal?.reason;
  return r === 'SIGTERM' || r === 'SIGPIPE' ? r : 'SIGINT';
}

/**
 * Prints the end-of-training sample as it is generated (`sample:`, the prompt, then the text, as
 * `generate` prints it), checking `signal` before it starts and every 16 pieces, as `generate` does.
 * A prompt outside the vocabulary is a warning: the run itself succeeded.
 * @returns the signal that stopped the sample (its line ended), or null when it was printed whole.
 */
async function printSample(task: Task, options: { maxNewTokens: number; temperature: number; topK?: number; topP?: number }, prompt: string,
  signal: AbortSignal | undefined): Promise<NodeJS.Signals | null> {
  const stoppedBy = async (): Promise<NodeJS.Signals | null> => (signal && await abortedMeanwhile(signal) ? stopReason(signal) : null);
  const before = await stoppedBy();
  if (before) return before;
  const stream = (task as Partial<LmTask>).sampleStream;
  let pieces: Iterator<string, void, undefined>;
  let first: IteratorResult<string, void>;
  try {
    // A task without a stream samples in one piece (no Ctrl-C check inside it).
    pieces = typeof stream === 'function' ? stream.call(task, prompt, options) : [task.sample!(prompt, options)][Symbol.iterator]();
    first = pieces.next();
  } catch (e) {
    // The default prompt ("\n") may be outside a corpus's vocabulary.
    if (!(e instanceof TrainformerError)) throw e;
    process.stderr.write(`warning: no sample: ${e.message} (set generation.prompt)\n`);
    return null;
  }
  await writeOut(`sample:\n${prompt}`);
  let n = 0;
  for (let it = first; !it.done; it = pieces.next()) {
    await writeOut(it.value);
    if (++n % 16 === 0) {
      const by = await stoppedBy();
      if (by) {
        pieces.return?.(); // the stream's finally releases the prompt's tensor
        await writeOut('\n');
        return by;
      }
    }
  }
  await writeOut('\n');
  return null;
}

async function evalCommand(path: string, f: { data?: string; output?: string }, rest: string[]): Promise<void> {
  // Checked before evaluating: an unwritable target names the flag, not the atomic writer's temporary file.
  if (f.output && !existsSync(dirname(resolve(f.output)))) {
    const file = fileAbove(resolve(f.output));
    throw new ConfigError(`--output: ${file === null ? `${dirname(resolve(f.output))}: no such folder` : `${f.output}: ${file} is a file, not a folder`}`);
  }
  if (f.output && !statSync(dirname(resolve(f.output))).isDirectory()) throw new ConfigError(`--output: ${f.output}: ${dirname(resolve(f.output))} is a file, not a folder`);
  if (f.output && existsSync(f.output) && statSync(f.output).isDirectory()) throw new ConfigError(`--output: ${f.output} is a folder; give a file to write, e.g. ${join(f.output, 'metrics.json')}`);
  // A folder (or an existing file) that cannot be written (read-only file system, no permission):
  // said before evaluating, in words, instead of the atomic writer's errno on its temporary file.
  if (f.output) {
    const target = existsSync(f.output) ? resolve(f.output) : dirname(resolve(f.output));
    try {
      accessSync(target, fsConstants.W_OK);
    } catch (e) {
      throw new ConfigError(`--output: ${f.output}: cannot write ${target === resolve(f.output) ? 'the file' : `in ${target}`}: ${writeFailure(e)}`);
    }
  }
  // Problems of the data given with --data name the flag (the checkpoint's config calls it
  // data.validation), its reading errors too (`--data: /abs/x.txt:2: not UTF-8 …`; checkEvalData's
  // own messages start with `--data: <file as given>` already).
  const asFlag = (e: unknown): unknown => (f.data && e instanceof ConfigError && e.field?.join('.') === 'data.validation'
    ? new ConfigError(`--data: ${e.message.replace(/^data\.validation: /, '')}`, e.field)
    : f.data && e instanceof FileFormatError && e.message.startsWith(`${resolve(f.data)}:`) ? new FileFormatError(`--data: ${e.message}`) : e);
  // Ctrl-C is caught from here, checkpoint loading included, and stops the evaluation after the batch
  // under way (as training's): nothing printed or written.
  const m = await withInterrupt(async (signal) => {
    let loaded: Awaited<ReturnType<typeof taskFromCheckpoint>>;
    try {
      loaded = await taskFromCheckpoint(path, parseOverrides(rest), { noTrainData: true, evalData: f.data });
    } catch (e) {
      throw asFlag(e);
    }
    const { task, dir } = loaded;
    const notWritten = f.output ? ` and ${rel(f.output)} not written` : '';
    if (await abortedMeanwhile(signal)) throw new TrainingInterrupted(`evaluation of ${rel(dir)} interrupted (Ctrl-C) while loading the checkpoint; nothing printed${notWritten}`);
    const { noGrad } = await import('../tensor/index.js');
    let metrics: EvalMetrics | null;
    try {
      metrics = task.evaluateSteps
        ? await runUnlessAborted(task.evaluateSteps(), signal, (next) => noGrad(next))
        : noGrad(() => task.evaluate());
    } catch (e) {
      throw asFlag(e);
    }
    if (metrics === null) throw new TrainingInterrupted(`evaluation of ${rel(dir)} interrupted (Ctrl-C); nothing printed${notWritten}`);
    return { metrics, loaded };
  });
  const { config, dir } = m.loaded;
  const on = f.data ? ` on ${f.data}` : '';
  process.stdout.write(`${rel(dir)}${on}: ${describeMetrics(config.task, m.metrics)}\n${JSON.stringify(m.metrics)}\n`);
  if (f.output) {
    try {
      writeJsonAtomic(f.output, { checkpoint: dir, task: config.task, data: config.data.validation ?? null, metrics: m.metrics });
    } catch (e) {
      // Names the flag and the path given, not the atomic writer's temporary file.
      throw new TrainformerError(`--output: ${f.output}: cannot write: ${writeFailure(e)}; the metrics are printed above`);
    }
    process.stdout.write(`metrics written to ${rel(f.output)}\n`);
  }
}

interface GenerateFlags { prompt?: string; maxNewTokens?: string; temperature?: string; topK?: string; topP?: string; seed?: string }


async function generateCommand(path: string, f: GenerateFlags): Promise<void> {
  // Ctrl-C is caught from here: while the checkpoint loads nothing is printed; once tokens come, it
  // stops within 16 of them, after ending the line.
  await withInterrupt(async (signal) => {
    const { task, config, dir } = await taskFromCheckpoint(path, [], { noData: true });
    if (!task.sample) throw new ConfigError(`task: generate needs an lm checkpoint, this one is ${config.task}`);
    const g = config.generation;
    const prompt = f.prompt ?? g.prompt;
    const maxNewTokens = numFlag(f.maxNewTokens, 'maxNewTokens', true) ?? g.maxNewTokens;
    if (maxNewTokens < 0) throw new ConfigError(`--maxNewTokens: must be an integer >= 0 (got ${maxNewTokens})`);
    const options = {
      maxNewTokens,
      temperature: numFlag(f.temperature, 'temperature') ?? g.temperature,
      topK: numFlag(f.topK, 'topK', true) ?? g.topK,
      topP: numFlag(f.topP, 'topP') ?? g.topP,
      seed: numFlag(f.seed, 'seed', true),
    };
    // Checked before the prompt is printed, so that an error is a line of its own naming the flag.
    checkSamplingFlags(options);
    try {
      (task as LmTask).tokenizer.encode(prompt);
    } catch (e) {
      throw new ConfigError(`--prompt: ${(e as Error).message}`);
    }
    if (await abortedMeanwhile(signal)) throw new TrainingInterrupted(`generation with ${rel(dir)} interrupted (Ctrl-C) while loading the checkpoint; nothing printed`);
    // Tokens are printed as they come (a long generation shows progress and can be stopped); the
    // model holds only its context window, and stdout's back-pressure is respected, so memory stays
    // bounded for any maxNewTokens.
    await writeOut(prompt);
    let n = 0;
    for (const piece of (task as LmTask).sampleStream(prompt, options)) {
      await writeOut(piece);
      // Leaving the loop closes the stream (its finally releases the prompt's tensor).
      if (++n % 16 === 0 && await abortedMeanwhile(signal)) {
        await writeOut('\n');
        throw new TrainingInterrupted(`generation with ${rel(dir)} interrupted (Ctrl-C); the text printed is what it had generated`);
      }
    }
    await writeOut('\n');
  });
}

/** Writes to stdout, waiting for 'drain' when its buffer is full (a slow reader must not make memory grow). */
function writeOut(text: string): Promise<void> {
  if (process.stdout.write(text)) return Promise.resolve();
  return new Promise((r) => process.stdout.once('drain', () => r()));
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

/** The package's version, read from the package.json two folders above dist/src/cli/. */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** eval's help on config-field flags (trial s9 F21: README used `--data.blockSize`, the help said nothing). */
export const EVAL_OVERRIDES_HELP = 'Config fields of the checkpoint\'s trainformer_config.json can be overridden with --<field> <value>, as for train:\n'
  + 'e.g. `--data.blockSize 128` (an lm evaluated at another context length), `--perDeviceEvalBatchSize 8`;\n'
  + '`trainformer train --help` lists every field.';

/** generate's and predict's: they use the checkpoint's config as trained (a config-field flag is an unknown option). */
export const NO_OVERRIDES_HELP = 'The checkpoint\'s config is used as it was trained: config-field flags such as --data.blockSize are not\n'
  + 'accepted here (only the options above); `trainformer eval` accepts them.';

/** Builds the command tree (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('trainformer')
    .description('Train Transformer models in TypeScript, with the training objective at the centre')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program.command('train')
    .description('train a model from a JSON config; --<field> <value> overrides a config field')
    .requiredOption('--config <file>', 'JSON config file (see examples/*.json)')
    .option('--resume [checkpoint]', 'resume from the latest checkpoint in outputDir (or the one given)')
    .option('--training-args <file>', "a Hugging Face training_args.json: the fields trainformer has override the config file's, the others are named in one warning")
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', `\n${formatFieldReference(TrainConfigSchema)}\n\nPaths the config file reads (data, tokenizer, model.fromPretrained, distillation.teacher) are relative to its folder; outputDir and flags to the working directory.`)
    .action((opts, cmd: Command) => trainCommand(opts, cmd.args));
  program.command('eval')
    .description("evaluate a checkpoint on its validation data or on --data (the task's training file layout); prints the metrics")
    .argument('<checkpoint>', 'run folder (its final model, else the latest checkpoint) or checkpoint-<step> folder')
    .option('--data <file>', 'evaluate on this file (JSONL; lm: text) instead of the validation data')
    .option('--output <file>', 'also write {checkpoint, task, data, metrics} as JSON to this file')
    .allowUnknownOption()
    .allowExcessArguments()
    // The overrides were accepted but said nowhere in the help (trial s9 F21).
    .addHelpText('after', `\n${EVAL_OVERRIDES_HELP}`)
    .action((path: string, o: { data?: string; output?: string }, cmd: Command) => evalCommand(path, o, cmd.args.slice(1)));
  program.command('generate')
    .description('sample text from a language-model checkpoint')
    .argument('<checkpoint>', 'run folder (its final model, else the latest checkpoint) or checkpoint-<step> folder')
    .option('--prompt <text>', 'text to continue')
    .option('--maxNewTokens <n>', 'tokens to generate')
    .option('--temperature <t>', 'softmax temperature (0 = greedy)')
    .option('--topK <k>', 'keep the k most likely tokens (0 = no top-k filtering)')
    .option('--topP <p>', 'nucleus sampling: smallest set with probability >= p')
    .option('--seed <s>', 'seed of the sampler')
    .addHelpText('after', `\n${NO_OVERRIDES_HELP}`)
    .action((path: string, f: GenerateFlags) => generateCommand(path, f));
  program.command('predict')
    .description('classify (classification), continue (lm), translate (seq2seq) or answer questions (extractive-qa) with a checkpoint; prints JSON lines')
    .argument('<checkpoint>', 'run folder (its final model, else the latest checkpoint) or checkpoint-<step> folder')
    .option('--text <text...>', 'one or more texts')
    .option('--file <file>', 'JSONL file: "text" per line (classification, lm; the run\'s data.textField), "src" (seq2seq; the run\'s data.srcField, "tgt" for examples/fra-eng.json), "context" and "question" (extractive-qa)')
    .option('--input <file>', 'the same as --file')
    .option('--question <text>', 'extractive-qa: a question about --context')
    .option('--context <text>', 'extractive-qa: the text holding the answer')
    .option('--maxNewTokens <n>', 'lm, seq2seq: tokens to generate')
    .option('--temperature <t>', 'lm: softmax temperature')
    .option('--numBeams <k>', 'seq2seq: beam search with k beams (1 = greedy; default: the config)')
    .option('--lengthPenalty <p>', 'seq2seq: rank finished beams by log-probability / length^p')
    .addHelpText('after', `\n${NO_OVERRIDES_HELP}`)
    .action((path: string, f: PredictFlags) => predictCommand(path, f));
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
  program.command('export')
    .description('write a run (its final model, else the latest checkpoint) in another format: hf = a Hugging Face GPT-2 folder, onnx = model.onnx for inference')
    .argument('<run>', 'run folder or checkpoint-<step> folder of an lm run')
    .argument('<dir>', 'folder to write')
    .option('--format <format>', 'hf (default) or onnx')
    .action((run: string, dir: string, f: ExportFlags) => exportCommand(run, dir, f));
  program.command('back-translate')
    .description('paraphrase the texts of a JSONL file by translating them with one seq2seq run and back with another (e.g. eng-fra, fra-eng), into a JSONL cache for data.augment.backTranslation; texts already cached from the same runs are skipped')
    .requiredOption('--forward <run>', 'seq2seq run (or checkpoint) folder: source → pivot language')
    .requiredOption('--backward <run>', 'seq2seq run (or checkpoint) folder: pivot → source language')
    .requiredOption('--data <file>', 'JSONL file with the texts')
    .requiredOption('--output <file>', 'JSONL cache to read and (re)write atomically')
    .option('--textField <name>', 'field holding the text (default "text")')
    .option('--numBeams <k>', 'beam search with k beams (default: each run\'s generation.numBeams)')
    .action((f: BackTranslateFlags) => backTranslateCommand(f));
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
    await program.parseAsync(normaliseFlagNames(program, argv), { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : e.exitCode || 1; // commander printed it
    if (e instanceof TrainingInterrupted) {
      process.stderr.write(`${e.message}\n`);
      return e.exitCode;
    }
    const debug = process.env.TRAINFORMER_DEBUG === '1';
    if (e instanceof ConfigError) for (const c of [e, ...e.more]) process.stderr.write(`config error: ${c.message}\n`);
    else if (e instanceof TrainformerError) process.stderr.write(`error: ${e.message}\n`);
    else process.stderr.write(`error: ${(e as Error)?.message ?? String(e)}${debug ? '' : ' (TRAINFORMER_DEBUG=1 shows the stack)'}\n`);
    if (debug && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    // Under mpirun the other ranks would wait in a collective: end the whole job now.
    const pg = getProcessGroup();
    if (pg.size > 1) pg.abort(1);
    return 1;
  } finally {
    setLogger(prevLogger);
  }
}

// Run when executed (also through npm's bin symlink), not when imported by tests.
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isMain) {
  // A reader that goes away (`trainformer generate … | head`) ends the command quietly, as `cat | head`
  // does, instead of an unhandled EPIPE stack; `train` stops as on Ctrl-C, exit 141 (cli/broken-pipe.ts).
  watchPipes();
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
