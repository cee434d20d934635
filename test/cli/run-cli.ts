/** Runs the built `trainformer` command in a child process (tests of what a user meets). */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HANG_GUARD_MS } from '../util/hang-guard.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/test/cli → dist/src/cli/main.js */
export const cliPath = resolve(here, '../../src/cli/main.js');

export interface CliResult { code: number | null; stdout: string; stderr: string; errLines: string[] }

/** Runs `trainformer ...args` to its end (killed only at the hang guard); stderr lines without the backend notice. */
export function trainformer(args: readonly string[], opts: { cwd?: string; timeout?: number; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    encoding: 'utf8', env: { ...process.env, TRAINFORMER_DEBUG: '' }, timeout: opts.timeout ?? HANG_GUARD_MS, cwd: opts.cwd, input: opts.input,
  });
  const errLines = (r.stderr ?? '').split('\n').filter((l) => l !== '' && !l.startsWith('trainformer: native backend'));
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', errLines };
}

/** Non-zero exit, exactly one stderr line matching `pattern`, no stack trace. */
export function assertOneLineError(r: CliResult, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `exit code 0; stdout:\n${r.stdout}`);
  assert.equal(r.errLines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
  assert.match(r.errLines[0], pattern);
  assert.ok(!/\n\s+at /.test(r.stderr), 'stderr holds a stack trace');
}

/**
 * Starts `trainformer ...args` and resolves with what it printed on stdout once `until` matches it
 * (then kills it), or once it exits; rejects after `timeoutMs`.
 */
export function firstOutput(args: readonly string[], until: (stdout: string) => boolean, timeoutMs: number): Promise<{ stdout: string; stderr: string; exited: number | null }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [cliPath, ...args], { env: { ...process.env, TRAINFORMER_DEBUG: '' } });
    let out = '', err = '', done = false;
    const finish = (exited: number | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (exited === null) p.kill('SIGKILL');
      res({ stdout: out, stderr: err, exited });
    };
    const timer = setTimeout(() => { if (!done) { done = true; p.kill('SIGKILL'); rej(new Error(`no matching output within ${timeoutMs} ms; stdout so far: ${JSON.stringify(out.slice(0, 200))}`)); } }, timeoutMs);
    p.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; if (until(out)) finish(null); });
    p.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    p.on('exit', (code) => finish(code));
  });
}

/**
 * Non-zero exit, the last stderr line matching `pattern`, and it the only error line (progress lines
 * such as "task lm: …" may come before it), no stack trace.
 */
export function assertErrorLine(r: CliResult, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `exit code 0; stdout:\n${r.stdout}`);
  assert.match(r.errLines.at(-1) ?? '', pattern, r.stderr);
  assert.equal(r.errLines.filter((l) => /^(config )?error:/.test(l)).length, 1, r.stderr);
  assert.ok(!/\n\s+at /.test(r.stderr), 'stderr holds a stack trace');
}

/** A scratch folder for CLI tests: a small training text, config files written on demand, an lm config. */
export interface CliScratch {
  dir: string;
  /** A text file of 20 identical lines. */
  text: string;
  /** Writes `cfg` as JSON to a new file in `dir`; returns its path. */
  config(cfg: Record<string, unknown>): string;
  /** A 1-layer lm config on `text` with its own outputDir, `base` and then `extra` laid over it. */
  lm(extra?: Record<string, unknown>): Record<string, unknown>;
}

/** Makes a {@link CliScratch} under the OS temp folder; `base` holds the test file's lm defaults. */
export function cliScratch(prefix: string, base: Record<string, unknown>): CliScratch {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const text = join(dir, 'text.txt');
  writeFileSync(text, 'some training text that is long enough for a few blocks.\n'.repeat(20));
  let n = 0;
  const config = (cfg: Record<string, unknown>): string => {
    const p = join(dir, `c${n++}.json`);
    writeFileSync(p, JSON.stringify(cfg));
    return p;
  };
  const lm = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    task: 'lm', outputDir: join(dir, `run${n}`), data: { train: text, blockSize: 8 }, model: { nLayer: 1, nHead: 2, nEmbd: 8 },
    perDeviceTrainBatchSize: 2, disableTqdm: true, ...base, ...extra,
  });
  return { dir, text, config, lm };
}

/** `s` with every regular-expression metacharacter escaped. */
export const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
