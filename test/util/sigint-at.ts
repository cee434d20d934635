/**
 * Preloaded into a CLI child (`node --import <this file> main.js …`) with TF_TEST_SIGINT_AT set: the
 * process sends itself a Ctrl-C (SIGINT) at a chosen moment, the same at every run (a test that
 * sends it from outside races the command); TF_TEST_SIGNAL=SIGTERM sends that signal instead:
 * - `open:<suffix>`: when a file whose path ends in `<suffix>` is opened (fs.openSync: the
 *   safetensors reader), i.e. while a checkpoint is being loaded; `open:<suffix>+<n>`: n turns of
 *   the event loop (setImmediate) after that, i.e. once a command that loads synchronously and then
 *   turns the loop between batches has run a few of them;
 * - `stdout`: after the first write to stdout; `stdout:<prefix>`: after the first stdout write that
 *   starts with `<prefix>`;
 * - `stderr:<prefix>`: after the first stderr write that starts with `<prefix>`.
 * The signal is then pending: a command listening for SIGINT sees it at its next turn of the event
 * loop; one that is not listening is ended by it (the signal's default action).
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const at = process.env.TF_TEST_SIGINT_AT;
let sent = false;
const send = (): void => {
  if (sent) return;
  sent = true;
  process.kill(process.pid, (process.env.TF_TEST_SIGNAL as NodeJS.Signals | undefined) ?? 'SIGINT');
};

/** `send` after `n` turns of the event loop. */
const after = (n: number): void => {
  if (n === 0) send();
  else setImmediate(() => after(n - 1));
};

if (at?.startsWith('open:')) {
  const [, suffix, turns] = /^open:(.*?)(?:\+(\d+))?$/.exec(at)!;
  const openSync = fs.openSync;
  let opened = false;
  fs.openSync = function (path: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode | null): number {
    if (typeof path === 'string' && path.endsWith(suffix) && !opened) {
      opened = true;
      after(Number(turns ?? 0));
    }
    return openSync(path, flags as fs.OpenMode, mode);
  } as typeof fs.openSync;
  syncBuiltinESMExports();
} else if (at === 'stdout' || at?.startsWith('stdout:') || at?.startsWith('stderr:')) {
  const stream = at.startsWith('stdout') ? process.stdout : process.stderr;
  const prefix = at === 'stdout' ? '' : at.slice('stdout:'.length);
  const write = stream.write.bind(stream) as (...a: unknown[]) => boolean;
  stream.write = function (chunk: unknown, ...rest: unknown[]): boolean {
    const r = write(chunk, ...rest);
    if (String(chunk).startsWith(prefix)) send();
    return r;
  } as typeof stream.write;
}
