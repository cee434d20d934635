/**
 * Why a file could not be read, in words for a one-line message: a folder given where a file is
 * expected (EISDIR) is said as such instead of the bare code the fresh-user trial met.
 */

/**
 * @param e the error of `fs.readFileSync` / `readFile` / a read stream.
 * @param what the phrase for any other failure, followed by the code: `cannot read file (EACCES)`.
 * @returns `is a folder, expected a file` for EISDIR, else `<what> (<code or message>)`.
 */
export function readFailure(e: unknown, what = 'cannot read file'): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EISDIR') return 'is a folder, expected a file';
  return `${what} (${code ?? (e as Error | undefined)?.message ?? String(e)})`;
}
