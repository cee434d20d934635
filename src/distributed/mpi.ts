/**
 * Loads the MPI binding (`native/mpi/`, built by `npm run build:native` when Open MPI's `mpi.h` is
 * present): a small N-API addon whose one communication thread makes every MPI call, so a
 * collective runs while JavaScript computes. See native/mpi/comm.h for the design.
 */
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The raw addon (argument order in native/mpi/addon.cc). Ids name queued operations. */
export interface MpiAddon {
  init(): { rank: number; size: number; threadLevel: number; library: string };
  /** op: 0 sum, 1 avg, 2 max, 3 min. */
  allReduce(buf: MpiArray, op: number, label: string, timeoutSec: number): number;
  broadcast(buf: MpiArray, root: number, label: string, timeoutSec: number): number;
  /** In place: rank r's `counts[r]` elements sit at offset sum(counts[0..r)). */
  allGatherV(buf: MpiArray, counts: Int32Array, label: string, timeoutSec: number): number;
  barrier(label: string, timeoutSec: number): number;
  /** -1 while running, else seconds taken; throws the failure's message. */
  test(id: number): number;
  /** Blocks; seconds taken; throws the failure's message. */
  wait(id: number): number;
  waitAsync(id: number): Promise<number>;
  release(id: number): void;
  abort(code: number): never;
  /** '' or why MPI could not finalize cleanly. */
  finalize(timeoutSec: number): string;
}

/** Typed arrays a collective accepts. */
export type MpiArray = Float32Array | Float64Array | Int32Array | Uint8Array;

const ADDON_FILE = path.join('native', 'mpi', 'build', 'Release', 'trainformer_mpi.node');

/** Finds the addon in the folders above this module (src or dist layout); TRAINFORMER_MPI_ADDON overrides. */
export function findMpiAddon(): string | null {
  const override = process.env.TRAINFORMER_MPI_ADDON;
  if (override) return existsSync(override) ? override : null;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, ADDON_FILE);
    if (existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

let cached: MpiAddon | undefined;

/**
 * Loads the addon. RTLD_GLOBAL: Open MPI loads its transport plugins with dlopen, and they resolve
 * symbols of libmpi, which must therefore be visible globally (mpi4py does the same).
 * @throws Error when it is not built or cannot be loaded.
 */
export function loadMpiAddon(): MpiAddon {
  if (cached) return cached;
  const file = findMpiAddon();
  if (!file) {
    throw new Error(`the MPI binding is not built (${ADDON_FILE}); install libopenmpi-dev and run 'npm run build:native'`);
  }
  const mod = { exports: {} as MpiAddon };
  const { RTLD_NOW, RTLD_GLOBAL } = (constants as unknown as { dlopen: Record<string, number> }).dlopen;
  (process as unknown as { dlopen(m: { exports: unknown }, file: string, flags: number): void }).dlopen(mod, file, RTLD_NOW | RTLD_GLOBAL);
  cached = mod.exports;
  return cached;
}
