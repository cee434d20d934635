/**
 * Run-folder policy: what `outputDir` may hold when a run starts, where a resumed run continues
 * from, and the files a run writes beside its checkpoints.
 *
 * - `--resume` (true): continue from the newest complete checkpoint; none there (or no folder) is an
 *   error, as in Hugging Face's Trainer ("No valid checkpoint found"): a resume that silently
 *   started at step 0 was found by the fresh-user trial. Folders named like checkpoints but
 *   incomplete are an error too, never silently restarted over.
 * - `--resume <path>`: continue from that checkpoint.
 * - no resume: an outputDir holding an earlier run's checkpoints is an error unless
 *   `overwriteOutputDir` (Hugging Face's overwrite_output_dir), which deletes them: a fresh run among
 *   old checkpoints would mix two runs.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { ConfigError, TrainformerError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ensureDir } from '../io/ensure-dir.js';
import { writeFailure } from '../io/write-failure.js';
import { latestCheckpoint, removeStaleTemporaries } from './checkpoint.js';
import { RUN_CONFIG_FILE, artifactFileName } from './run-files.js';

/**
 * Prepares `outputDir` (created; temporaries of interrupted saves removed) and applies the policy.
 * @returns the checkpoint to resume from, or null for a fresh start.
 * @throws ConfigError naming --resume / outputDir when the folder's contents forbid the start.
 */
export function openRunFolder(outputDir: string, resume: boolean | string | undefined, overwriteOutputDir: boolean): string | null {
  ensureDir(outputDir, 'outputDir');
  removeStaleTemporaries(outputDir);
  const from = checkRunFolder(outputDir, resume, overwriteOutputDir);
  if (from) return from;
  const old = fs.readdirSync(outputDir).filter((n) => /^checkpoint-\d+$/.test(n));
  for (const n of old) fs.rmSync(join(outputDir, n), { recursive: true, force: true });
  fs.rmSync(join(outputDir, 'model.safetensors'), { force: true }); // an earlier run's final model
  return null;
}

/**
 * The run-folder policy without touching the folder, so the CLI can refuse before it reads any data.
 * @returns the checkpoint to resume from, or null for a fresh start.
 * @throws ConfigError naming --resume / outputDir when the folder's contents forbid the start, or
 *   --resume with overwriteOutputDir.
 */
export function checkRunFolder(outputDir: string, resume: boolean | string | undefined, overwriteOutputDir: boolean): string | null {
  // One continues the run in outputDir, the other deletes it: refused like bf16 with fp16.
  if (resume && overwriteOutputDir) {
    throw new ConfigError('--resume and --overwriteOutputDir true are both given: --resume continues the run in outputDir, overwriteOutputDir deletes its checkpoints; choose one', ['overwriteOutputDir']);
  }
  // A checkpoint named by --resume is checked before the data is read and the model built.
  if (typeof resume === 'string') {
    if (!fs.existsSync(resume)) throw new ConfigError(`--resume: ${resume}: no such checkpoint folder`);
    if (!fs.existsSync(join(resume, 'trainer_state.json'))) throw new ConfigError(`--resume: ${resume}: not a checkpoint folder (no trainer_state.json; give a checkpoint-<step> folder, or --resume alone for the latest in outputDir)`);
  }
  const from = resumeCheckpoint(outputDir, resume);
  if (from) return from;
  const names = folderNames(outputDir);
  const old = (names ?? []).filter((n) => /^checkpoint-\d+$/.test(n));
  // A run with saveStrategy "no" leaves only its final model: retraining over it loses it just the same.
  if (old.length === 0 && names?.includes('model.safetensors')) {
    if (resume) throw new ConfigError(`--resume: ${outputDir} holds a final model.safetensors but no checkpoint (saveStrategy "no"), so there is nothing to resume; train with --overwriteOutputDir true to replace it, or another --outputDir`);
    if (!overwriteOutputDir) throw new ConfigError(`outputDir: ${outputDir} already holds model.safetensors from an earlier run; pass --overwriteOutputDir true to replace it, or another --outputDir`);
  }
  if (resume && old.length) {
    throw new ConfigError(`--resume: no complete checkpoint in ${outputDir} (${old.join(', ')} lack trainer_state.json); fix or remove them, or train without --resume and --overwriteOutputDir true`);
  }
  if (resume) {
    const why = names === null ? 'no such folder' : 'no checkpoint-<step> folder in it';
    throw new ConfigError(`--resume: nothing to resume in outputDir ${outputDir} (${why}); train without --resume to start from step 0, or give --resume <checkpoint folder>`);
  }
  if (!resume && old.length && !overwriteOutputDir) {
    throw new ConfigError(`outputDir: ${outputDir} already holds ${old.join(', ')} from an earlier run; pass --resume to continue it, --overwriteOutputDir true to replace it, or another --outputDir`);
  }
  return null;
}

/** The names in folder `dir`, or null when it is not a folder (absent, or a file: ensureDir says which). */
function folderNames(dir: string): string[] | null {
  try {
    return fs.readdirSync(dir);
  } catch {
    return null;
  }
}

/**
 * The `checkpoint-<step>` folders of outputDir after step `step` that lack trainer_state.json (an
 * interrupted save, or a removed file): a `--resume` from the newest complete checkpoint passes
 * over them, and says so.
 */
export function incompleteCheckpointsAfter(outputDir: string, step: number): string[] {
  return (folderNames(outputDir) ?? [])
    .map((n) => ({ n, m: /^checkpoint-(\d+)$/.exec(n) }))
    .filter(({ n, m }) => m !== null && Number(m[1]) > step && !fs.existsSync(join(outputDir, n, 'trainer_state.json')))
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]))
    .map(({ n }) => n);
}

/** The checkpoint `resume` names (true: the newest complete one in outputDir), without touching the folder. */
export function resumeCheckpoint(outputDir: string, resume: boolean | string | undefined): string | null {
  return typeof resume === 'string' ? resume : resume ? latestCheckpoint(outputDir) : null;
}

/**
 * Writes the run's trainformer_config.json and the task's artifacts (trainformer_tokenizer.json,
 * labels.json) into outputDir, each atomically: a resume on a full disk used to truncate them first,
 * leaving a run folder that could no longer be evaluated or resumed.
 * @throws TrainformerError `cannot write <file>: <reason> (<code>); the file is left as it was`.
 */
export function writeRunFiles(outputDir: string, config: unknown, artifacts: Record<string, unknown>): void {
  const files: [string, string][] = [[RUN_CONFIG_FILE, JSON.stringify(config, null, 2)],
    ...Object.entries(artifacts).map(([name, json]): [string, string] => [artifactFileName(name), JSON.stringify(json)])];
  for (const [name, text] of files) {
    const file = join(outputDir, name);
    try {
      writeFileAtomic(file, text);
    } catch (e) {
      throw new TrainformerError(`cannot write ${file}: ${writeFailure(e)}; the file is left as it was`);
    }
  }
}
