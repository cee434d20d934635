/**
 * `mkdir -p` that always ends (issue 19). Node's `fs.mkdirSync(p, { recursive: true })` loops
 * forever at 100% CPU where the parent exists but refuses children with ENOENT (`/proc/x` on Linux),
 * so an `outputDir` there hung the run. This walks up one folder at a time and fails on the first
 * error it cannot fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FileFormatError } from '../errors.js';
import { nodeWords } from './read-failure.js';

/** Why a folder could not be made, in words (the codes `mkdir` commonly fails with; else Node's words). */
const MKDIR_FAILURES: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'its path loops through symbolic links',
  EIO: 'input/output error (the disk or the file system failed)',
};

/**
 * Creates `dir` and its missing parents.
 * @param what names the folder in the error, e.g. `outputDir` (default: the path alone).
 * @throws FileFormatError `what: cannot create <dir> (<why>)`, the why in words: `permission
 *   denied`, `the file system is read-only`, `/proc does not allow new folders` (ENOENT with the
 *   parent present: /proc, sysfs), `<parent> is a file, not a folder` (ENOTDIR), … — before, the
 *   bare code (`(ENOENT)`).
 */
export function ensureDir(dir: string, what?: string): void {
  const abs = path.resolve(dir);
  const fail = (why: string): never => {
    throw new FileFormatError(`${what ? `${what}: ` : ''}cannot create ${dir} (${why})`);
  };
  const failWith = (e: unknown): never => {
    const err = e as NodeJS.ErrnoException;
    return fail((err.code !== undefined ? MKDIR_FAILURES[err.code] : undefined) ?? nodeWords(err));
  };
  const make = (p: string, depth: number): void => {
    try {
      fs.mkdirSync(p);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        if (!fs.statSync(p).isDirectory()) fail(`${p} is a file, not a folder`);
        return;
      }
      if (code === 'ENOTDIR') fail(`${fileAbove(p) ?? 'a parent'} is a file, not a folder`);
      if (code !== 'ENOENT') failWith(e);
      const parent = path.dirname(p);
      // ENOENT with the parent present: this file system refuses the folder (/proc).
      if (fs.existsSync(parent)) fail(`${parent} does not allow new folders`);
      if (parent === p || depth > 4096) failWith(e);
      make(parent, depth + 1);
      try {
        fs.mkdirSync(p);
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') failWith(e2);
      }
    }
  };
  make(abs, 0);
}

/** The nearest existing ancestor of `p` that is not a folder (what ENOTDIR is about), or null. */
export function fileAbove(p: string): string | null {
  for (let q = path.dirname(p); ; q = path.dirname(q)) {
    try {
      if (!fs.statSync(q).isDirectory()) return q;
      return null;
    } catch {
      if (path.dirname(q) === q) return null;
    }
  }
}
