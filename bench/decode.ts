/**
 * Decoding speed with and without the key/value cache (issue 14): an EncoderDecoder of the
 * examples/eng-fra.json sizes (nEmbd 256, 4 heads, 3 + 3 layers, vocabulary 8,000, random weights),
 * 32 sources of 12 tokens (--batch), exactly 64 new tokens per output (minNewTokens = maxNewTokens = 64), greedy
 * and beam search with 4 beams. Each variant runs `--repeats` times (default 3); the table gives
 * median seconds and the speed-up of the cache, and checks both give the same tokens.
 *
 *   npm run bench:decode [-- --repeats 3 --batch 8]
 *
 * A benchmark, never a test: run it under `flock /tmp/trainformer-bench.lock` and report the load.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { getBackend } from '../src/backend/index.js';
import { EncoderDecoder } from '../src/models/index.js';
import * as T from '../src/tensor/index.js';

const { values } = parseArgs({ options: { repeats: { type: 'string', default: '3' }, batch: { type: 'string', default: '32' } } });
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

function time(run: () => Int32Array | number[]): { s: number; out: number[] } {
  const ts: number[] = [];
  let out: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    out = Array.from(T.scope(() => run()));
    ts.push((performance.now() - t0) / 1000);
  }
  return { s: median(ts), out };
}

const opts = { maxNewTokens: NEW, minNewTokens: NEW };
process.stdout.write(`backend ${getBackend().name}, batch ${B} × ${S} source tokens, ${NEW} new tokens, ${repeats} repeats (median), load ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
process.stdout.write('| decoding | no cache (s) | cache (s) | speed-up | same tokens |\n| --- | ---: | ---: | ---: | --- |\n');
for (const [name, run] of [
  ['greedy', (useCache: boolean) => m.greedyDecode(src, { ...opts, useCache }).toArray() as number[]],
  ['beam 4', (useCache: boolean) => m.beamSearch(src, { ...opts, numBeams: 4, useCache }).sequences.toArray() as number[]],
] as const) {
  const off = time(() => run(false)), on = time(() => run(true));
  const same = off.out.length === on.out.length && off.out.every((v, i) => v === on.out[i]);
  process.stdout.write(`| ${name} | ${off.s.toFixed(2)} | ${on.s.toFixed(2)} | ${(off.s / on.s).toFixed(1)}× | ${same ? 'yes' : 'NO'} |\n`);
}
process.stdout.write(`load after ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
