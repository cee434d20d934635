/**
 * Decoding speed with and without the key/value cache (issue 14): an EncoderDecoder of nEmbd 256,
 * 4 heads, 3 + 3 layers, vocabulary 8,000 (random weights), `--batch` sources of 12 tokens (default
 * 8), exactly 64 new tokens per output (minNewTokens = maxNewTokens = 64), greedy and beam search
 * with 4 beams. The two variants alternate, `--repeats` times each (default 5), so that a change of
 * the machine's load falls on both; the table gives the median wall seconds, the median CPU seconds
 * of the process (every thread; what the work costs, less sensitive to other processes than the
 * wall time), the speed-up of the cache in both, and checks both give the same tokens.
 *
 *   npm run bench:decode [-- --repeats 5 --batch 8]
 *
 * A benchmark, never a test: run it under `flock /tmp/trainformer-bench.lock` and report the load.
 */
import { loadavg } from 'node:os';
import { benchArgs } from './args.js';
import { getBackend } from '../src/backend/index.js';
import { EncoderDecoder } from '../src/models/index.js';
import * as T from '../src/tensor/index.js';

const USAGE = 'usage: npm run bench:decode [-- --repeats 5 --batch 8]';

const { values } = benchArgs(USAGE, { repeats: { type: 'string', number: 'count', default: '5' }, batch: { type: 'string', number: 'count', default: '8' } });
const repeats = Number(values.repeats), B = Number(values.batch), S = 12, NEW = 64, V = 8000;

const m = new EncoderDecoder({
  srcVocabSize: V, nEmbd: 256, nHead: 4, nEncoderLayer: 3, nDecoderLayer: 3, blockSize: 72,
  shareEmbeddings: true, padTokenId: 0, bosTokenId: 4, eosTokenId: 5, seed: 1,
}).eval();
const ids = new Int32Array(B * S);
for (let i = 0; i < ids.length; i++) ids[i] = 6 + ((i * 7919) % (V - 6));
const src = T.tensor(ids, [B, S], 'int32');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Timing { wall: number[]; cpu: number[]; out: number[] }

/** One run: wall and CPU seconds (all threads of the process). */
function once(run: () => Int32Array | number[], t: Timing): void {
  const c0 = process.cpuUsage(), t0 = performance.now();
  t.out = Array.from(T.scope(() => run()));
  const c = process.cpuUsage(c0);
  t.wall.push((performance.now() - t0) / 1000);
  t.cpu.push((c.user + c.system) / 1e6);
}

const opts = { maxNewTokens: NEW, minNewTokens: NEW };
process.stdout.write(`backend ${getBackend().name}, batch ${B} × ${S} source tokens, ${NEW} new tokens, ${repeats} repeats each, alternating (median), load ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
process.stdout.write('| decoding | no cache wall (s) | cache wall (s) | speed-up (wall) | no cache CPU (s) | cache CPU (s) | speed-up (CPU) | same tokens |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n');
for (const [name, run] of [
  ['greedy', (useCache: boolean) => m.greedyDecode(src, { ...opts, useCache }).toArray() as number[]],
  ['beam 4', (useCache: boolean) => m.beamSearch(src, { ...opts, numBeams: 4, useCache }).sequences.toArray() as number[]],
] as const) {
  const off: Timing = { wall: [], cpu: [], out: [] }, on: Timing = { wall: [], cpu: [], out: [] };
  for (let r = 0; r < repeats; r++) {
    once(() => run(false), off);
    once(() => run(true), on);
  }
  const same = off.out.length === on.out.length && off.out.every((v, i) => v === on.out[i]);
  const [w0, w1, c0, c1] = [median(off.wall), median(on.wall), median(off.cpu), median(on.cpu)];
  process.stdout.write(`| ${name} | ${w0.toFixed(2)} | ${w1.toFixed(2)} | ${(w0 / w1).toFixed(1)}× | ${c0.toFixed(2)} | ${c1.toFixed(2)} | ${(c0 / c1).toFixed(1)}× | ${same ? 'yes' : 'NO'} |\n`);
}
process.stdout.write(`load after ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
