/**
 * What a resume is told before it trains (found by the fresh-user trial):
 * - a checkpoint already at or past the run's last step has nothing to train: Hugging Face's
 *   Trainer trains nothing and returns; trainformer does the same, saying so in one line and
 *   touching nothing in the run folder (its final model, config and metrics stay as they were);
 * - a checkpoint whose weights do not fit the model of the config was trained with other model.*
 *   fields: the error names each field with the checkpoint's and the config's value, not only the
 *   first tensor whose shape differs;
 * - a checkpoint of another learning-rate schedule type names lrSchedulerType with both values;
 *   other options of the same type (lrSchedulerKwargs) are said in one line, and used;
 * - a checkpoint trained in another precision (bf16 / fp16 / float32) resumes (as in Hugging Face:
 *   master weights are float32 in all three), and the switch is said in one line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, FileFormatError } from '../errors.js';
import type { TrainConfig } from './config.js';
import { RUN_CONFIG_FILE, runFilePath } from './run-files.js';

/** The step of a checkpoint's trainer_state.json, or null when it cannot be read (the resume itself then names the problem). */
export function checkpointStep(dir: string): number | null {
  try {
    const st = JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')) as { global_step?: unknown; step?: unknown };
    const step = st.global_step ?? st.step;
    return Number.isInteger(step) ? (step as number) : null;
  } catch {
    return null;
  }
}

/**
 * The line for a resume with nothing to train, or null when there are steps left.
 * @param totalSteps the run's last step (maxSteps, or numTrainEpochs × steps per epoch).
 */
export function nothingToTrain(dir: string, step: number | null, totalSteps: number, config: Pick<TrainConfig, 'maxSteps' | 'numTrainEpochs'>): string | null {
  if (step === null || step < totalSteps) return null;
  const limit = config.maxSteps > 0 ? `maxSteps ${config.maxSteps}` : `the run's ${totalSteps} steps (numTrainEpochs ${config.numTrainEpochs})`;
  return `nothing to train: the checkpoint ${dir} is at step ${step} ≥ ${limit}; raise --maxSteps to train further`;
}

/** `a.b.c` paths and values where two JSON values differ (objects compared key by key). */
function differences(a: unknown, b: unknown, path: string): [string, unknown, unknown][] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => differences(a[k], b[k], `${path}.${k}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [[path, a, b]];
}

const show = (v: unknown): string => (v === undefined ? 'unset' : JSON.stringify(v));

/**
 * Before any data is read (a bpe tokenizer is trained then): a resume whose config names another
 * tokenizer type than the checkpoint's run, whose token ids the saved weights were trained on.
 * @throws ConfigError `--resume: <dir> was trained with another tokenizer (data.tokenizer.type:
 *   checkpoint "char", config "bpe")`; nothing when the checkpoint's config cannot be read (the
 *   resume itself names that).
 */
export function checkResumeTokenizer(dir: string, config: TrainConfig): void {
  let saved: { data?: { tokenizer?: { type?: unknown } } };
  try {
    saved = JSON.parse(readFileSync(runFilePath(dir, RUN_CONFIG_FILE), 'utf8')) as typeof saved;
  } catch {
    return;
  }
  const was = saved?.data?.tokenizer?.type, now = config.data.tokenizer.type;
  if (was === undefined || was === now) return;
  throw new ConfigError(`--resume: ${dir} was trained with another tokenizer (data.tokenizer.type: checkpoint ${show(was)}, config ${show(now)}); set the config back to resume it, or train into another outputDir`, ['data', 'tokenizer', 'type']);
}

/**
 * A resume whose config names another learning-rate schedule type than the checkpoint's run (the
 * saved schedule state belongs to that type: it used to end in "loadStateDict got the state of a
 * 'cosine_with_min_lr' schedule"). Options of the same type (lrSchedulerKwargs) may change, as with
 * Hugging Face's Trainer, which rebuilds the schedule from the arguments (the saved state is only
 * the step): the change is said in one line (it was accepted in silence), and named beside a
 * changed type.
 * @returns the line for changed options of the same type (`--resume: <dir> was trained with other
 *   learning-rate schedule options (lrSchedulerKwargs.minLrRate: checkpoint 0.1, config 0.2);
 *   continuing with the config's …`), or null (no change, or the checkpoint's config unreadable).
 * @throws ConfigError `--resume: <dir> was trained with another learning-rate schedule
 *   (lrSchedulerType: checkpoint "cosine_with_min_lr", config "cosine"; lrSchedulerKwargs.minLrRate:
 *   checkpoint 0.1, config unset); …`; nothing when the checkpoint's config cannot be read.
 */
export function checkResumeSchedule(dir: string, config: Pick<TrainConfig, 'lrSchedulerType' | 'lrSchedulerKwargs'>): string | null {
  let saved: { lrSchedulerType?: unknown; lrSchedulerKwargs?: unknown };
  try {
    saved = JSON.parse(readFileSync(runFilePath(dir, RUN_CONFIG_FILE), 'utf8')) as typeof saved;
  } catch {
    return null;
  }
  const was = saved?.lrSchedulerType, now = config.lrSchedulerType;
  if (was === undefined) return null;
  const kwargs = differences(saved.lrSchedulerKwargs ?? {}, config.lrSchedulerKwargs ?? {}, 'lrSchedulerKwargs');
  const said = (diff: [string, unknown, unknown][]) => diff.map(([p, a, b]) => `${p}: checkpoint ${show(a)}, config ${show(b)}`).join('; ');
  if (was === now) {
    if (kwargs.length === 0) return null;
    return `--resume: ${dir} was trained with other learning-rate schedule options (${said(kwargs)}); continuing with the config's (the schedule is rebuilt from the config, as in Hugging Face's Trainer)`;
  }
  throw new ConfigError(`--resume: ${dir} was trained with another learning-rate schedule (${said([['lrSchedulerType', was, now], ...kwargs])}); set the config back to resume it, or train into another outputDir`, ['lrSchedulerType']);
}

/**
 * Turns a checkpoint whose weights do not fit the model (`copyInto`'s FileFormatError about
 * `<dir>/model.safetensors`) into a ConfigError naming the model.*, data.blockSize and data.tokenizer.* fields that differ between the
 * checkpoint's config and this one: `model.nEmbd: checkpoint 16, config 32`. Any other error, or no
 * model field that differs (another vocabulary, say), is returned unchanged.
 */
export function explainWeightMismatch(e: unknown, dir: string, config: TrainConfig): unknown {
  if (!(e instanceof FileFormatError) || !e.message.startsWith(`${dir}/model.safetensors: `)) return e;
  let saved: { model?: unknown };
  try {
    saved = JSON.parse(readFileSync(runFilePath(dir, RUN_CONFIG_FILE), 'utf8')) as { model?: unknown };
  } catch {
    return e;
  }
  const data = (saved as { data?: { blockSize?: unknown; tokenizer?: unknown } }).data;
  // data.blockSize sets the position embeddings' rows, data.tokenizer the vocabulary's.
  const diff = [
    ...differences(saved.model, config.model, 'model'),
    ...differences(data?.blockSize, config.data.blockSize, 'data.blockSize'),
    ...differences(data?.tokenizer, config.data.tokenizer, 'data.tokenizer'),
  ];
  if (diff.length === 0) return e;
  const fields = diff.map(([p, was, now]) => `${p}: checkpoint ${show(was)}, config ${show(now)}`).join('; ');
  return new ConfigError(`--resume: ${dir} was trained with another model (${fields}); set the config back to resume it, or train into another outputDir`, diff[0][0].split('.'));
}

/** The precision a run's config names: 'bf16', 'fp16' or 'float32'. */
function precisionOf(c: { bf16?: unknown; fp16?: unknown }): string {
  return c.bf16 === true ? 'bf16' : c.fp16 === true ? 'fp16' : 'float32';
}

/**
 * The line for a resume in another precision than the checkpoint's run ("checkpoint-20 was trained
 * in float32; continuing in bf16"), or null when they agree or the checkpoint's config cannot be read.
 * Checkpoints hold float32 master weights in every precision, so the switch itself is allowed.
 */
export function precisionChange(dir: string, config: Pick<TrainConfig, 'bf16' | 'fp16'>): string | null {
  let saved: { bf16?: unknown; fp16?: unknown };
  try {
    saved = JSON.parse(readFileSync(runFilePath(dir, RUN_CONFIG_FILE), 'utf8')) as typeof saved;
  } catch {
    return null;
  }
  if (saved === null || typeof saved !== 'object') return null;
  const was = precisionOf(saved), now = precisionOf(config);
  return was === now ? null : `${dir} was trained in ${was}; continuing in ${now} (float32 master weights either way)`;
}
