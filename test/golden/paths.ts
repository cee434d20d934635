/**
 * Where tests find the repository root and the shared folder (golden cases, data sets).
 * The shared folder is `<repo root>/../shared`, or `$TRAINFORMER_SHARED` when set.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: the nearest folder above this file (dist/test/golden/...) with trainformer's package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'trainformer') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`repoRoot: no trainformer package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The shared folder: `$TRAINFORMER_SHARED`, else `<repo root>/../shared`. */
export function sharedDir(): string {
  const env = process.env.TRAINFORMER_SHARED;
  return env ? path.resolve(env) : path.resolve(repoRoot(), '../shared');
}

/** The golden case folder: `<shared>/golden`. */
export function goldenDir(): string {
  return path.join(sharedDir(), 'golden');
}
