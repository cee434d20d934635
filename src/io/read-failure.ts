/**
 * Why a file could not be read, in words for a one-line message: Node's codes (`ENOENT`, `EACCES`,
 * `EISDIR`, …) are said as what they mean — `no such file`, `permission denied`, `is a folder,
 * expected a file` — rather than the bare code the fresh-user trials met. The caller names the path.
 */

/** The words for the codes a read commonly fails with. */
const READ_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a folder, expected a file',
  ENOTDIR: 'no such file (a part of its path is a file, not a folder)',
  ELOOP: 'no such file (its path loops through symbolic links)',
  ENAMETOOLONG: 'the file name is too long',
  EMFILE: 'too many files open in this process',
  EIO: 'input/output error (the disk or the file system failed)',
};

/**
 * @param e the error of `fs.readFileSync` / `readFile` / `openSync` / a read stream.
 * @param what the phrase put before any other failure: `cannot read file: resource busy or locked`.
 * @returns the words for a known code (`no such file`); else `<what>: <Node's words without the
 *   code, syscall and path>`, or `<what>: <message>` for an error without a code.
 */
export function readFailure(e: unknown, what = 'cannot read file'): string {
  const err = e as NodeJS.ErrnoException | undefined;
  const code = err?.code;
  const msg = err?.message ?? String(e);
  if (code !== undefined && READ_FAILURES[code] !== undefined) return READ_FAILURES[code];
  if (code === undefined) return `${what}: ${msg}`;
  return `${what}: ${nodeWords(err!)}`;
}

/**
 * Node's words for an error with a code, without the code, the syscall and the path:
 * `EBUSY: resource busy or locked, open '/x'` → `resource busy or locked`.
 */
export function nodeWords(err: NodeJS.ErrnoException): string {
  const msg = err.message ?? String(err);
  if (!err.code) return msg;
  return new RegExp(`^${err.code}: (.*?)(, \\w+( '.*')?)?$`).exec(msg)?.[1] ?? msg;
}
