/**
 * Atomic file writes: a reader (or a crash) sees either the old file or the new one, never a mix.
 *
 * Method (the usual POSIX recipe): write the data to a temporary file in the SAME folder (rename is
 * only atomic within one file system), fsync it so the bytes are on disk before the name points at
 * them, rename it over the target, then fsync the folder so the rename itself is durable. On any
 * failure the temporary file is removed and the target is left as it was.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ValueError } from '../errors.js';

/**
 * Writes `data` to `filePath` atomically (temp file in the same folder, fsync, rename, fsync folder).
 *
 * A string is written as UTF-8. If the target exists, the new file takes over its permission bits;
 * otherwise it gets 0o666 minus the umask, like `fs.writeFileSync`.
 *
 * @param filePath the file to create or replace; its folder must exist.
 * @param data the complete new contents.
 * @throws the underlying Node.js `fs` error (ENOENT, EACCES, ENOSPC, EISDIR, ...) unchanged; the
 *   target is then untouched and no temporary file is left behind.
 */
export function writeFileAtomic(filePath: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const dir = path.dirname(filePath);
  // Hidden, unique per process and call, so concurrent writers never share a temp file.
  const tmp = path.join(
    dir,
    `.${path.basename(filePath)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );

  let keepMode: number | undefined;
  try {
    keepMode = fs.statSync(filePath).mode & 0o7777;
  } catch {
    // No existing target (or not stat-able): default mode; rename will report real problems.
  }

  let fd = fs.openSync(tmp, 'wx', 0o666); // 'wx': never follow or clobber a leftover file
  try {
    // After open, so the umask does not strip bits the old file had.
    if (keepMode !== undefined) fs.fchmodSync(fd, keepMode);
    let written = 0;
    while (written < bytes.byteLength) {
      written += fs.writeSync(fd, bytes, written, bytes.byteLength - written);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, filePath);
  } catch (err) {
    if (fd >= 0) {
      try {
        fs.closeSync(fd);
      } catch {
        // Already failing; the original error is the one worth reporting.
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      // Best effort: the temp may already be gone.
    }
    throw err;
  }
  syncDir(dir);
}

/**
 * Writes `value` as JSON (indented by `indent` spaces, with a trailing newline) atomically, via
 * {@link writeFileAtomic}.
 *
 * @throws ValueError if `value` cannot be represented as JSON (undefined, a function, a BigInt, a
 *   cycle); the file is then not touched. File-system errors as in {@link writeFileAtomic}.
 */
export function writeJsonAtomic(filePath: string, value: unknown, indent = 2): void {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, indent);
  } catch (err) {
    throw new ValueError(
      `writeJsonAtomic(${filePath}): value is not JSON-serialisable: ${(err as Error).message}`,
    );
  }
  if (text === undefined) {
    throw new ValueError(
      `writeJsonAtomic(${filePath}): value of type ${typeof value} has no JSON representation`,
    );
  }
  writeFileAtomic(filePath, text + '\n');
}

/** fsyncs a folder so a rename in it survives a crash; not supported everywhere (Windows), so best effort. */
function syncDir(dir: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Durability of the rename is a bonus; atomicity already holds.
  } finally {
    if (fd >= 0) {
      try {
        fs.closeSync(fd);
      } catch {
        // ignore
      }
    }
  }
}
