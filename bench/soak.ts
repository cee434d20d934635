/**
 * Soak benchmark (issue 19, "Must show"): RSS and heap of a Trainer run of a tiny character GPT
 * over many optimizer steps (default 20,000), sampled at 10%, 50% and 100% of them. Memory must
 * be flat once the run is warm: a storage released by its scope leaves the GC registry, and the
 * loop yields to the event loop every step.
 *
 *   node dist/bench/soak.js [--steps 20000]
 *
 * Heap is `heapUsed` after a full garbage collection (the live JavaScript objects); RSS is the
 * process's resident set (JS heap, typed-array backing stores, the addon's buffers, malloc's free
 * lists). Prints one line per sample and a JSON summary. A benchmark, never a test.
 */
import { benchArgs } from './args.js';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { getBackend } from '../src/backend/index.js';
import { createTask } from '../src/tasks/index.js';
import { Trainer } from '../src/train/trainer.js';
import * as T from '../src/tensor/index.js';
import { shakespeareLmConfig } from './shakespeare-config.js';

const USAGE = 'usage: node dist/bench/soak.js [--steps 20000]';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const fullGc = (): void => gc();
const MiB = 2 ** 20;

const { values } = benchArgs(USAGE, { steps: { type: 'string', number: 'count', default: '20000' } });
const steps = Number(values.steps);
const config = shakespeareLmConfig('tf-soak-', 100_000, {
  data: { blockSize: 16, tokenizer: { type: 'char' } },
  model: { nLayer: 1, nHead: 2, nEmbd: 16 },
  perDeviceTrainBatchSize: 4, maxSteps: steps, learningRate: 1e-3, loggingSteps: 100,
  evalStrategy: 'no', saveStrategy: 'no', disableTqdm: true,
});
const task = await createTask(config);
const at = new Set([0.1, 0.5, 1].map((f) => Math.round(f * steps)));
// SOAK_TRACE=1: also every 10%, with V8's heap spaces (committed MiB), to see where RSS goes.
const trace = process.env.SOAK_TRACE === '1';
if (trace) for (let i = 1; i <= 10; i++) at.add(Math.round((i / 10) * steps));
const samples: { step: number; rssMiB: number; heapMiB: number; arrayBuffersMiB: number; liveBuffers: number; registered: number }[] = [];
const t0 = Date.now();
await new Trainer({
  config, task, callbacks: [{
    onStepEnd: (_t, info) => {
      if (!at.has(info.step)) return;
      fullGc();
      const m = process.memoryUsage();
      const s = T.memoryStats() as { liveBuffers: number; registered?: number };
      const sample = { step: info.step, rssMiB: +(m.rss / MiB).toFixed(1), heapMiB: +(m.heapUsed / MiB).toFixed(1), arrayBuffersMiB: +(m.arrayBuffers / MiB).toFixed(1), liveBuffers: s.liveBuffers, registered: s.registered ?? -1 };
      samples.push(sample);
      if (trace) {
        const spaces = getHeapSpaceStatistics().map((sp) => `${sp.space_name.replace('_space', '')} ${(sp.physical_space_size / MiB).toFixed(1)}`).join(', ');
        process.stdout.write(`  heapTotal ${(m.heapTotal / MiB).toFixed(1)} external ${(m.external / MiB).toFixed(1)}; ${spaces}\n`);
      }
      process.stdout.write(`step ${sample.step}: rss ${sample.rssMiB} MiB, heap ${sample.heapMiB} MiB, array buffers ${sample.arrayBuffersMiB} MiB, live buffers ${sample.liveBuffers}, registered ${sample.registered}\n`);
    },
  }],
}).train();
const first = samples[0], last = samples[samples.length - 1];
process.stdout.write(JSON.stringify({
  backend: getBackend().name, steps, seconds: (Date.now() - t0) / 1000, samples,
  rssChange: +((last.rssMiB / first.rssMiB - 1) * 100).toFixed(1), heapChange: +((last.heapMiB / first.heapMiB - 1) * 100).toFixed(1),
  env: { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? null },
}) + '\n');
