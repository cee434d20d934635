/**
 * A checkpoint damaged after it was written (a truncated copy, a full disk while copying a run, a
 * file edited by hand): a resume onto it said only the reader's raw error
 * (`…/model.safetensors: safetensors: tensor "h.0.attn.c_attn.weight": data_offsets [1536, 198144]
 * run past the end of the 95592-byte buffer`) with no way out, although an earlier checkpoint of the
 * same run was intact (fresh-user trial s9, F12). Before resuming, each file of the checkpoint is
 * checked cheaply (the safetensors headers against the files' sizes, the JSON files parsed); a
 * damaged one is one line naming the checkpoint, the file and whether it is truncated or unreadable,
 * and the newest earlier checkpoint of the same folder that reads in full, with the exact
 * `--resume <path>` to use, or that none reads. Nothing falls back silently: the user chooses.
 */
import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FileFormatError } from '../errors.js';
import { readSafetensorsHeader } from '../io/safetensors.js';
import { listCheckpoints, loadCheckpoint } from './checkpoint.js';
import { RUN_CONFIG_FILE, runFilePath } from './run-files.js';

/**
 * What is wrong with the files of checkpoint folder `dir`, as a phrase, or null when each reads:
 * `model.safetensors is truncated (95592 of 198152 bytes)`, `optimizer.safetensors is missing`,
 * `trainer_state.json is unreadable (invalid JSON: Unexpected end of JSON input)`.
 * Reads the safetensors headers only (a few kB), not the tensors.
 */
export function checkpointDamage(dir: string): string | null {
  for (const name of ['trainer_state.json', basename(runFilePath(dir, RUN_CONFIG_FILE))]) {
    const p = join(dir, name);
    if (name !== 'trainer_state.json' && !fs.existsSync(p)) continue; // a run from before the config file
    let text: string;
    try {
      text = fs.readFileSync(p, 'utf8');
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${name} is missing` : `${name} is unreadable (${(e as Error).message})`;
    }
    if (text.trim() === '') return `${name} is ${text.length === 0 ? 'empty (0 bytes)' : 'blank'}`;
    try {
      JSON.parse(text);
    } catch (e) {
      return `${name} is unreadable (invalid JSON: ${(e as Error).message})`;
    }
  }
  for (const name of ['model.safetensors', 'optimizer.safetensors']) {
    const p = join(dir, name);
    if (!fs.existsSync(p)) return `${name} is missing`;
    const damage = safetensorsDamage(p);
    if (damage !== null) return `${name} is ${damage}`;
  }
  return null;
}

/** `truncated (N of M bytes)` / `truncated (N bytes, shorter than its header)` / `unreadable (…)`, or null. */
function safetensorsDamage(path: string): string | null {
  try {
    readSafetensorsHeader(path);
    return null;
  } catch (e) {
    const size = fs.statSync(path, { throwIfNoEntry: false })?.size;
    const expected = size === undefined ? null : expectedSize(path);
    if (size !== undefined && expected !== null && size < expected) return `truncated (${size} of ${expected} bytes)`;
    if (size !== undefined && expected === -1) return `truncated (${size} bytes, shorter than its header)`;
    const msg = (e as Error).message;
    return `unreadable (${msg.startsWith(`${path}: `) ? msg.slice(path.length + 2) : msg})`;
  }
}

/**
 * The size a safetensors file's header says it has (8 + header + the largest data offset), -1 when
 * the file is too short to hold its header, null when the header cannot say.
 */
function expectedSize(path: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) return -1;
    const first = new Uint8Array(8);
    fs.readSync(fd, first, 0, 8, 0);
    const n = new DataView(first.buffer).getBigUint64(0, true);
    if (n > 100_000_000n) return null;
    if (Number(n) > size - 8) return -1;
    const header = new Uint8Array(Number(n));
    fs.readSync(fd, header, 0, header.length, 8);
    const json = JSON.parse(new TextDecoder().decode(header)) as Record<string, { data_offsets?: unknown }>;
    let end = 0;
    for (const [k, v] of Object.entries(json)) {
      if (k === '__metadata__' || !Array.isArray(v?.data_offsets)) continue;
      const e = Number(v.data_offsets[1]);
      if (Number.isFinite(e)) end = Math.max(end, e);
    }
    return 8 + Number(n) + end;
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether checkpoint folder `dir` reads in full (every file, every tensor): the check made before naming it. */
function readsInFull(dir: string): boolean {
  if (checkpointDamage(dir) !== null) return false;
  try {
    loadCheckpoint(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws when the checkpoint a resume starts from is damaged, naming the newest earlier checkpoint
 * of its folder that reads in full:
 * `--resume: runs/x/checkpoint-170 is damaged: its model.safetensors is truncated (95592 of 198152
 * bytes); runs/x/checkpoint-150 is intact: resume from it with --resume runs/x/checkpoint-150`, or
 * `…; no earlier checkpoint in runs/x is intact (checkpoint-100: …); train without --resume …`.
 * @param shown the path as the user should type it (the outputDir as given in front).
 * @throws FileFormatError that line.
 */
export function checkResumeIntact(dir: string, shown: (p: string) => string = (p) => p): void {
  const damage = checkpointDamage(dir);
  if (damage === null) return;
  const head = `--resume: ${shown(dir)} is ${damage.endsWith(' is missing') ? 'incomplete' : 'damaged'}: its ${damage}`;
  const named = /^checkpoint-(\d+)$/.exec(basename(dir));
  const step = named ? Number(named[1]) : Infinity;
  const earlier = listCheckpoints(dirname(dir)).filter((c) => c.step < step).reverse();
  const folder = dirname(shown(dir));
  for (const c of earlier) {
    if (readsInFull(c.path)) throw new FileFormatError(`${head}; ${shown(c.path)} (step ${c.step}) is intact: resume from it with --resume ${shown(c.path)}`);
  }
  const start = 'train without --resume and with --overwriteOutputDir true to start again from step 0';
  if (earlier.length === 0) throw new FileFormatError(`${head}; there is no earlier checkpoint in ${folder} to resume from: ${start}`);
  throw new FileFormatError(`${head}; no earlier checkpoint in ${folder} is intact (${earlier.map((c) => basename(c.path)).join(', ')} ${earlier.length === 1 ? 'does' : 'do'} not read either): ${start}`);
}
