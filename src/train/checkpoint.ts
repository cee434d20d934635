/**
 * Checkpoint folders (DESIGN.md "Training"): `<outputDir>/checkpoint-<step>/` holding
 * `model.safetensors`, `optimizer.safetensors`, `trainer_state.json`, `trainformer_config.json` and the
 * task's artifacts (trainformer_tokenizer.json, labels.json; names in run-files.ts, earlier names read too). A checkpoint is written into a temporary sibling folder,
 * every file fsynced, and then renamed into place, so a crash (even `kill -9`) leaves either the whole
 * checkpoint or none: a folder named `checkpoint-<step>` is always complete.
 */
import * as fs from 'node:fs';
import { basename, join } from 'node:path';
import { FileFormatError, TrainformerError } from '../errors.js';
import { readSafetensorsFile, serializeSafetensors, type SafeTensor } from '../io/safetensors.js';
import { writeFailure } from '../io/write-failure.js';
import { assertFiniteWeights } from '../io/finite-weights.js';
import type { Tensor } from '../tensor/index.js';
import { ensureDir } from '../io/ensure-dir.js';
import { LEGACY_RUN_FILES, RUN_CONFIG_FILE, RUN_TOKENIZER_FILE, artifactFileName, runFilePath } from './run-files.js';
import { readFailure } from '../io/read-failure.js';

export const CHECKPOINT_PREFIX = 'checkpoint-';
const CHECKPOINT_RE = /^checkpoint-(\d+)$/;

/** A float32 tensor → a safetensors F32 entry (shares the buffer; serialised immediately). */
export function toSafe(t: Tensor): SafeTensor {
  if (t.dtype !== 'float32') throw new FileFormatError(`checkpoint: tensor ${t.name ?? ''} has dtype ${t.dtype}; only float32 is saved`);
  return { dtype: 'F32', shape: [...t.shape], data: t.data() as Float32Array };
}

/** What a checkpoint holds, in memory. */
export interface CheckpointContents {
  model: Record<string, SafeTensor>;
  optimizer: Record<string, SafeTensor>;
  /** JSON: step, RNG states, data position, scheduler state, loss scale, log history. */
  trainerState: Record<string, unknown>;
  config: unknown;
  /** Extra JSON files by the task's names (tokenizer.json — saved as trainformer_tokenizer.json —, labels.json). */
  artifacts: Record<string, unknown>;
}

function writeSynced(path: string, data: string | Uint8Array): void {
  const fd = fs.openSync(path, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch {
    // Not every platform can fsync a folder; the rename is still atomic.
  }
}

/** How `saveCheckpoint` writes each file (safetensors, JSON) into the temporary folder: fsynced. Replaceable for tests. */
export type WriteFile = (path: string, data: string | Uint8Array) => void;

/**
 * Writes `checkpoint-<step>` under `outputDir` atomically (temporary folder, fsync, rename). An
 * existing folder of the same step is replaced.
 * @param writeFile how each file is written (default: write and fsync); tests inject failures here.
 * @returns the checkpoint folder's path.
 * @throws TrainformerError `cannot save checkpoint-<step> in <outputDir>: writing <file>: <reason> (<code>)`
 *   when a write fails (disk full, ...); the temporary folder is removed and an earlier folder of the
 *   same step is kept.
 */
export function saveCheckpoint(outputDir: string, step: number, c: CheckpointContents, writeFile: WriteFile = writeSynced): string {
  ensureDir(outputDir, 'outputDir');
  const name = `${CHECKPOINT_PREFIX}${step}`;
  const final = join(outputDir, name);
  const tmp = join(outputDir, `.tmp-${name}-${process.pid}`);
  let writing = basename(tmp);
  try {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp);
    writing = 'model.safetensors';
    writeFile(join(tmp, writing), serializeSafetensors(c.model, { format: 'pt' }));
    writing = 'optimizer.safetensors';
    writeFile(join(tmp, writing), serializeSafetensors(c.optimizer));
    writing = 'trainer_state.json';
    writeFile(join(tmp, writing), JSON.stringify(c.trainerState));
    writing = RUN_CONFIG_FILE;
    writeFile(join(tmp, writing), JSON.stringify(c.config, null, 2));
    for (const [artifact, json] of Object.entries(c.artifacts)) {
      writing = artifactFileName(artifact);
      writeFile(join(tmp, writing), JSON.stringify(json));
    }
    syncDir(tmp);
    writing = name;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new TrainformerError(`cannot save ${name} in ${outputDir}: writing ${writing}: ${writeFailure(e)}`);
  }
  if (fs.existsSync(final)) {
    // Move the old one aside first: rename cannot replace a non-empty folder.
    const old = join(outputDir, `.old-${name}-${process.pid}`);
    fs.renameSync(final, old);
    fs.renameSync(tmp, final);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(tmp, final);
  }
  syncDir(outputDir);
  return final;
}

/** The complete checkpoints under `outputDir`, sorted by step ascending. */
export function listCheckpoints(outputDir: string): { step: number; path: string }[] {
  let names: string[];
  try {
    names = fs.readdirSync(outputDir);
  } catch {
    return [];
  }
  const out: { step: number; path: string }[] = [];
  for (const n of names) {
    const m = CHECKPOINT_RE.exec(n);
    if (!m) continue;
    const path = join(outputDir, n);
    if (fs.existsSync(join(path, 'trainer_state.json'))) out.push({ step: Number(m[1]), path });
  }
  return out.sort((a, b) => a.step - b.step);
}

/** The checkpoint with the highest step, or null. */
export function latestCheckpoint(outputDir: string): string | null {
  const all = listCheckpoints(outputDir);
  return all.length ? all[all.length - 1].path : null;
}

/** Removes leftover temporary folders of interrupted saves. */
export function removeStaleTemporaries(outputDir: string): void {
  let names: string[];
  try { names = fs.readdirSync(outputDir); } catch { return; }
  for (const n of names) if (/^\.(tmp|old)-checkpoint-/.test(n)) fs.rmSync(join(outputDir, n), { recursive: true, force: true });
}

/**
 * Keeps the newest `limit` checkpoints (and those in `keep`, e.g. the latest and the best one),
 * deleting the others, oldest first.
 * @returns the deleted paths.
 */
export function pruneCheckpoints(outputDir: string, limit: number | null, keep: string | readonly (string | null)[] | null = null): string[] {
  if (limit === null) return [];
  const all = listCheckpoints(outputDir);
  const kept = new Set((Array.isArray(keep) ? keep : [keep]).filter((k): k is string => k !== null).map((k) => join(outputDir, basename(k))));
  const deleted: string[] = [];
  let excess = all.length - limit;
  for (const c of all) {
    if (excess <= 0) break;
    if (kept.has(c.path)) continue;
    fs.rmSync(c.path, { recursive: true, force: true });
    deleted.push(c.path);
    excess--;
  }
  return deleted;
}

/**
 * Reads a checkpoint folder.
 * @throws FileFormatError naming the path of a missing or malformed file.
 */
export function loadCheckpoint(dir: string): CheckpointContents {
  if (!fs.existsSync(dir)) throw new FileFormatError(`${dir}: checkpoint folder does not exist`);
  const readJson = (name: string): unknown => {
    const p = runFilePath(dir, name);
    let text: string;
    try { text = fs.readFileSync(p, 'utf8'); } catch (e) {
      throw new FileFormatError(`${p}: ${readFailure(e)}`);
    }
    try { return JSON.parse(text); } catch (e) { throw new FileFormatError(`${p}: invalid JSON (${(e as Error).message})`); }
  };
  const artifacts: Record<string, unknown> = {};
  const config = fs.existsSync(join(dir, RUN_CONFIG_FILE)) ? RUN_CONFIG_FILE : LEGACY_RUN_FILES[RUN_CONFIG_FILE];
  for (const n of fs.readdirSync(dir)) {
    // Keyed by the task's artifact names (tokenizer.json), whichever name the file has on disk.
    if (n.endsWith('.json') && n !== 'trainer_state.json' && n !== config) artifacts[n === RUN_TOKENIZER_FILE ? 'tokenizer.json' : n] = readJson(n);
  }
  const opt = join(dir, 'optimizer.safetensors');
  return {
    model: readSafetensorsFile(join(dir, 'model.safetensors')).tensors,
    optimizer: fs.existsSync(opt) ? readSafetensorsFile(opt).tensors : {},
    trainerState: readJson('trainer_state.json') as Record<string, unknown>,
    config: readJson(RUN_CONFIG_FILE),
    artifacts,
  };
}

/**
 * Copies saved values into tensors of the same names and shapes (in place, bit for bit), strictly
 * like PyTorch's `load_state_dict(strict=True)`: every tensor of the model must be in the file and
 * every tensor of the file must be in the model.
 * @throws FileFormatError naming the tensor when one is missing, its shape differs, a value is NaN or
 *   ±Inf (io/finite-weights.ts), or the file holds tensors the model does not have (weights of another architecture: a run folder whose config was
 *   edited, or two runs written into one outputDir, used to load "fine" and give wrong numbers).
 */
export function copyInto(target: Iterable<[string, Tensor]>, saved: Record<string, SafeTensor>, what: string): void {
  const entries = [...target];
  // Everything is checked before anything is copied, so a refused file leaves the model as it was.
  for (const [name, t] of entries) {
    const s = saved[name];
    if (!s) throw new FileFormatError(`${what}: tensor "${name}" is missing`);
    if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
      throw new FileFormatError(`${what}: tensor "${name}" has shape [${s.shape.join(', ')}], the model needs [${t.shape.join(', ')}]`);
    }
    if (s.dtype !== 'F32') throw new FileFormatError(`${what}: tensor "${name}" has dtype ${s.dtype}, expected F32`);
  }
  const known = new Set(entries.map(([name]) => name));
  const unexpected = Object.keys(saved).filter((name) => !known.has(name));
  if (unexpected.length) {
    const more = unexpected.length > 1 ? ` and ${unexpected.length - 1} more` : '';
    throw new FileFormatError(`${what}: holds tensor "${unexpected[0]}"${more} that the model built from the run's config does not have; the config (model.* fields) does not match these weights`);
  }
  assertFiniteWeights(saved, what);
  for (const [name, t] of entries) (t.data() as Float32Array).set(saved[name].data as Float32Array);
}
