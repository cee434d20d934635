/**
 * Start-up check that every rank runs the same thing: each rank hashes named descriptions (the
 * trainformer version, the config, the model's parameter names and shapes, ...), the hashes are
 * all-gathered, and any difference stops every rank with the same message naming what differs
 * and on which ranks — instead of a job whose ranks silently train different models or hang in
 * mismatched collectives.
 */
import { createHash } from 'node:crypto';
import { DistributedError } from '../errors.js';
import type { ProcessGroup } from './process-group.js';

/** 64 bits of SHA-256 as two int32. */
function hash64(text: string): [number, number] {
  const d = createHash('sha256').update(text).digest();
  return [d.readInt32LE(0), d.readInt32LE(4)];
}

/**
 * All-gathers a hash of each item and compares them with rank 0's.
 * @param items name → description, e.g. `{ version: '0.1.0', config: JSON.stringify(cfg) }`;
 *   every rank must pass the same names in the same order.
 * @throws DistributedError (on every rank) naming the items that differ and the ranks that differ.
 */
export function checkSameOnAllRanks(pg: ProcessGroup, items: Record<string, string>): void {
  if (pg.size === 1) return;
  const names = Object.keys(items);
  const k = names.length + 1; // + a hash of the names themselves
  const buf = new Int32Array(2 * k * pg.size);
  const mine = [hash64(names.join('\n')), ...names.map((n) => hash64(items[n]))];
  mine.forEach(([a, b], j) => { buf[2 * (pg.rank * k + j)] = a; buf[2 * (pg.rank * k + j) + 1] = b; });
  pg.allGather(buf, new Array<number>(pg.size).fill(2 * k), 'all-gather of the start-up consistency hashes').wait();
  const differ: string[] = [];
  const labels = ['the list of checked items', ...names];
  for (let j = 0; j < k; j++) {
    const ranks: number[] = [];
    for (let r = 1; r < pg.size; r++) {
      if (buf[2 * (r * k + j)] !== buf[2 * j] || buf[2 * (r * k + j) + 1] !== buf[2 * j + 1]) ranks.push(r);
    }
    if (ranks.length) differ.push(`${labels[j]} differs on rank${ranks.length > 1 ? 's' : ''} ${ranks.join(', ')}`);
  }
  if (differ.length) {
    throw new DistributedError(`rank ${pg.rank} of ${pg.size}: the ranks do not run the same job: compared with rank 0, ${differ.join('; ')}; start every rank with the same trainformer version, config and data`);
  }
}
