/**
 * The teacher of knowledge distillation (config `distillation.teacher`, issue 15): a run folder (or
 * one of its checkpoints) of the same task and tokenizer, read here — its config, tokenizer, labels
 * and weights — and handed to the task (`Task.setTeacher`) in eval mode. In a config file the path
 * is relative to the file's folder, as every path the config reads (data, model.fromPretrained;
 * cli/config-file.ts); a `--distillation.teacher` flag or a library config is relative to the
 * working directory.
 *
 * Every mismatch is one line naming `distillation.teacher` and the folder: missing folder, no
 * trained model in it, another task, another tokenizer or vocabulary, other labels.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, FileFormatError } from '../errors.js';
import { readTokenizerFile } from '../data/index.js';
import { LabelMap, type Label } from '../data/classification.js';
import { readSafetensorsFile } from '../io/safetensors.js';
import { buildClassifier } from '../tasks/classification.js';
import { buildGpt } from '../tasks/lm.js';
import type { Task } from '../tasks/types.js';
import type { TeacherSpec } from '../tasks/distillation.js';
import { copyInto, latestCheckpoint } from './checkpoint.js';
import { parseConfig, readConfigFile, type TrainConfig } from './config.js';
import { checkTeacherMemory } from '../tasks/memory-estimate.js';
import { RUN_CONFIG_FILE, RUN_TOKENIZER_FILE, runFilePath } from './run-files.js';

/** The folder holding the teacher's weights: the folder itself (a run's final model or a checkpoint), else its latest checkpoint. */
function weightsFolder(dir: string): string {
  const field = 'distillation.teacher';
  if (!existsSync(dir)) throw new ConfigError(`${field}: ${dir}: no such run folder`, ['distillation', 'teacher']);
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  const latest = latestCheckpoint(dir);
  if (!latest) throw new ConfigError(`${field}: ${dir}: no trained model in it (no model.safetensors, no checkpoint-<step>/)`, ['distillation', 'teacher']);
  return latest;
}

/** Same JSON value (key order of objects ignored). */
function sameJson(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown => (Array.isArray(v) ? v.map(norm) : v && typeof v === 'object'
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, w]) => [k, norm(w)])) : v);
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/** The labels of a teacher's labels.json. @throws ConfigError naming the file when it is not a label map. */
function readTeacherLabels(file: string, field: string, path: string[]): readonly Label[] {
  try {
    return LabelMap.fromJSON(JSON.parse(readFileSync(file, 'utf8'))).labels;
  } catch (e) {
    throw new ConfigError(`${field}: ${file}: ${e instanceof SyntaxError ? `invalid JSON (${e.message})` : (e as Error).message}`, path);
  }
}

/**
 * How the teacher's classes differ from the student's, naming the first label that differs (a
 * teacher's logit k must mean the student's class k); null when they are the same list.
 */
function labelMismatch(teacher: readonly Label[], student: readonly Label[], trainFile: string): string | null {
  const show = (ls: readonly Label[]) => ls.slice(0, 10).map((l) => JSON.stringify(l)).join(', ') + (ls.length > 10 ? `, … (${ls.length})` : '');
  const missing = student.find((l) => !teacher.includes(l));
  if (missing !== undefined) return `the teacher has no label ${JSON.stringify(missing)}, which ${trainFile} has (the teacher's labels: ${show(teacher)})`;
  const extra = teacher.find((l) => !student.includes(l));
  if (extra !== undefined) return `the teacher has the label ${JSON.stringify(extra)}, which ${trainFile} has not (this run's labels: ${show(student)})`;
  const k = teacher.findIndex((l, i) => l !== student[i]);
  return k < 0 ? null : `the teacher's class ${k} is ${JSON.stringify(teacher[k])}, this run's is ${JSON.stringify(student[k])} (the classes must be in the same order)`;
}

/**
 * Reads the teacher of `config.distillation` and gives it to `task`. Nothing happens without a
 * distillation block.
 * @param outputDir the student's run folder (default place of the teacher-logit cache).
 * @throws ConfigError (one line naming distillation.teacher) for a missing or mismatched teacher, a
 *   teacher with non-finite weights, or a task that cannot distil.
 */
export function attachTeacher(config: TrainConfig, task: Task, outputDir: string): void {
  const d = config.distillation;
  if (!d) return;
  const field = 'distillation.teacher';
  const path = ['distillation', 'teacher'];
  if (!task.setTeacher) throw new ConfigError(`distillation: the ${task.name} task cannot distil (lm and classification can)`, ['distillation']);
  const dir = resolve(d.teacher);
  const wdir = weightsFolder(dir);
  const cfgFile = runFilePath(wdir, RUN_CONFIG_FILE);
  if (!existsSync(cfgFile)) throw new ConfigError(`${field}: ${wdir}: not a trainformer run (no ${RUN_CONFIG_FILE})`, path);
  let tcfg: TrainConfig;
  try {
    tcfg = parseConfig(readConfigFile(cfgFile));
  } catch (e) {
    throw new ConfigError(`${field}: ${cfgFile}: ${(e as Error).message}`, path);
  }
  if (tcfg.task !== config.task) throw new ConfigError(`${field}: ${dir} was trained for task ${tcfg.task}; this run is ${config.task}`, path);
  const tokFile = runFilePath(wdir, RUN_TOKENIZER_FILE);
  if (!existsSync(tokFile)) throw new ConfigError(`${field}: ${wdir}: no ${RUN_TOKENIZER_FILE}`, path);
  const ttok = readTokenizerFile(tokFile);
  const stok = task.tokenizer;
  if (stok) {
    if (ttok.vocabSize !== stok.vocabSize) throw new ConfigError(`${field}: ${dir} has a vocabulary of ${ttok.vocabSize} tokens; this run's tokenizer has ${stok.vocabSize} (the teacher needs the student's tokenizer)`, path);
    if (!sameJson(ttok.toJSON(), stok.toJSON())) throw new ConfigError(`${field}: ${dir} has another tokenizer than this run (same vocabulary size, different tokens); the teacher needs the student's tokenizer`, path);
  }
  // The teacher reads the student's inputs: it needs at least as many positions.
  const positions = (c: TrainConfig) => c.model.maxPositions ?? (c.task === 'lm' ? c.data.blockSize : c.data.maxLength);
  const needed = config.task === 'lm' ? config.data.blockSize : config.data.maxLength;
  if (positions(tcfg) < needed) throw new ConfigError(`${field}: ${dir} reads at most ${positions(tcfg)} positions; this run's inputs have up to ${needed} (${config.task === 'lm' ? 'data.blockSize' : 'data.maxLength'})`, path);
  // Run on every batch (lm; no cache; or augmented examples, which change each epoch), the teacher's
  // forward counts in the step's memory: checked before it is built.
  if (config.task !== 'classification' || d.cache === false || config.data.augment !== undefined) checkTeacherMemory(config, tcfg, ttok.vocabSize);
  let model: { eval(): unknown; stateDict(): Record<string, import('../tensor/index.js').Tensor> };
  if (config.task === 'classification') {
    const labelsFile = join(wdir, 'labels.json');
    const slabels = task.artifacts()['labels.json'];
    if (!existsSync(labelsFile)) throw new ConfigError(`${field}: ${wdir}: no labels.json`, path);
    const mismatch = labelMismatch(readTeacherLabels(labelsFile, field, path), LabelMap.fromJSON(slabels).labels, config.data.train);
    if (mismatch) throw new ConfigError(`${field}: ${labelsFile}: ${mismatch}`, path);
    model = buildClassifier(tcfg, ttok.vocabSize, (task.model as unknown as { numLabels: number }).numLabels); // same labels
  } else {
    model = buildGpt(tcfg, ttok.vocabSize);
  }
  const weightsFile = join(wdir, 'model.safetensors');
  const bytes = readFileSync(weightsFile);
  // copyInto refuses non-finite weights (NaN teacher targets would skip every student step, and the
  // divergence guard would blame the learning rate) and weights that do not fit; named with the field.
  try {
    copyInto(Object.entries(model.stateDict()), readSafetensorsFile(weightsFile).tensors, weightsFile);
  } catch (e) {
    if (e instanceof FileFormatError) throw new ConfigError(`${field}: ${e.message}`, path);
    throw e;
  }
  model.eval();
  if (d.cache === true && config.task !== 'classification') {
    throw new ConfigError(`distillation.cache: the ${config.task} task draws its training blocks at random offsets, so the teacher's outputs are not fixed per example and are not cached; remove distillation.cache`, ['distillation', 'cache']);
  }
  const cached = config.task === 'classification' && d.cache !== false;
  const spec: TeacherSpec = {
    model, dir, weightsSha256: createHash('sha256').update(new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength)).digest('hex'), temperature: d.temperature,
    cacheFile: cached ? resolve(d.cacheFile ?? join(outputDir, 'teacher-logits.safetensors')) : undefined,
    cacheTopK: d.cacheTopK,
  };
  task.setTeacher(spec);
}
