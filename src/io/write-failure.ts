/**
 * Why a write failed, in words for a one-line message: Node's `ENOSPC: no space left on device,
 * write` becomes `no space left on device (ENOSPC)` (the syscall and path are dropped; the caller
 * names the file).
 */
import { nodeWords } from './read-failure.js';

/**
 * @param e the error of an `fs` write (writeSync, appendFileSync, rename, …).
 * @returns `<words> (<code>)` for an error with a code, else the error's message.
 */
export function writeFailure(e: unknown): string {
  const err = e as NodeJS.ErrnoException | undefined;
  const msg = err?.message ?? String(e);
  if (!err?.code) return msg;
  return `${nodeWords(err)} (${err.code})`;
}
