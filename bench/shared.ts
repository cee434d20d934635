// Where ../shared is: TRAINFORMER_SHARED, else beside the repository root.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  // dist/bench/shared.js → repository root
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function sharedDir(): string {
  return process.env.TRAINFORMER_SHARED ?? path.resolve(repoRoot(), '..', 'shared');
}
