/**
 * `mkdir -p` that always ends (issue 19). Node's `fs.mkdirSync(p, { recursive: true })` loops
 * forever at 100% CPU where the parent exists but refuses children with ENOENT (`/proc/x` on Linux),
 * so an `outputDir` there hung the run. This walks up one folder at a time and fails on the first
 * error it cannot fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FileFormatError } from '../errors.js';

/**
 * Creates `dir` and its missing parents.
 * @param what names the folder in the error, e.g. `outputDir` (default: the path alone).
 * @throws FileFormatError `what: cannot create <dir> (CODE)` — a file system that does not allow it
 *   (ENOENT under /proc, EROFS, EACCES, EPERM) — or `what: cannot create <dir> (<parent> is a file, not a
 *   folder)` where a parent is a file (ENOTDIR).
 */
export function ensureDir(dir: string, what?: string): void {
  const abs = path.resolve(dir);
  const fail = (code: string): never => {
    throw new FileFormatError(`${what ? `${what}: ` : ''}cannot create ${dir} (${code})`);
  };
  const make = (p: string, depth: number): void => {
    try {
      fs.mkdirSync(p);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      if (code === 'EEXIST') {
        if (!fs.statSync(p).isDirectory()) fail(`${p} is a file, not a folder`);
        return;
      }
      if (code === 'ENOTDIR') fail(`${fileAbove(p) ?? 'a parent'} is a file, not a folder`);
      if (code !== 'ENOENT') fail(code);
      const parent = path.dirname(p);
      // ENOENT with the parent present: this file system refuses the folder (/proc).
      if (parent === p || depth > 4096 || fs.existsSync(parent)) fail(code);
      make(parent, depth + 1);
      try {
        fs.mkdirSync(p);
      } catch (e2) {
        const c2 = (e2 as NodeJS.ErrnoException).code ?? 'error';
        if (c2 !== 'EEXIST') fail(c2);
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
