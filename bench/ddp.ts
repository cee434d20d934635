/**
 * Data-parallel scaling benchmark: `npm run bench:ddp [-- --config small --steps 8]`.
 * Runs bench/ddp-step.ts as 1 process × 1 thread and as 2 MPI ranks × 1 thread (each rank its own
 * batch of `batch_size` rows: weak scaling), plus 2 ranks with a single bucket (its all-reduce can
 * only start after backward: no overlap), and prints one table: tokens/s of the job, scaling
 * efficiency = tokens/s(2 ranks) / (2 × tokens/s(1 process)), and how long each step waited for
 * all-reduces after its backward ended. Medians over the timed steps; the slowest rank counts.
 * Needs mpirun. A benchmark, never a test; run it alone (flock /tmp/trainformer-bench.lock).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './args.js';

const USAGE = 'usage: npm run bench:ddp [-- --config small --steps 8]';

interface Row {
  impl: string; config: string; ranks: number; threads: number; bucket_mb: number; buckets: number; buckets_started_during_backward: number;
  tokens_per_s: number; ms_per_step: number; ms_wait_after_backward: number; ms_allreduce: number; ms_after_backward: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const step = path.join(here, 'ddp-step.js');

function runOne(ranks: number, args: string[]): Row {
  const env = { ...process.env, TRAINFORMER_NUM_THREADS: '1' };
  const r = ranks === 1
    ? spawnSync(process.execPath, [step, ...args], { encoding: 'utf8', env })
    : spawnSync('mpirun', ['--oversubscribe', '--allow-run-as-root', '-np', String(ranks), '-x', 'TRAINFORMER_NUM_THREADS',
      ...(process.env.TRAINFORMER_BACKEND ? ['-x', 'TRAINFORMER_BACKEND'] : []), process.execPath, step, ...args], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`benchmark run with ${ranks} rank(s) failed:\n${r.stdout}\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`no result line:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line) as Row;
}

function main(): void {
  const { values } = benchArgs(USAGE, { config: { type: 'string', default: 'small' }, steps: { type: 'string', number: 'count', default: '8' } });
  const base = ['--config', values.config!, '--steps', values.steps!];
  const one = runOne(1, base);
  const two = runOne(2, base);
  const flat = runOne(2, [...base, '--bucket-mb', '100000']);
  const eff = (r: Row): string => (r.ranks === 1 ? '—' : `${((100 * r.tokens_per_s) / (r.ranks * one.tokens_per_s)).toFixed(0)} %`);
  const lines = [
    `data-parallel ${one.config} (${one.impl}, ${values.steps} timed steps, medians; per-rank batch as configs.json)`,
    '| run | tokens/s | ms/step | scaling efficiency | buckets (started during backward) | all-reduce ms | wait after backward ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, r] of [['1 process × 1 thread', one], ['2 ranks × 1 thread, 25 MB buckets', two], ['2 ranks × 1 thread, one bucket (no overlap)', flat]] as const) {
    lines.push(`| ${name} | ${r.tokens_per_s.toFixed(0)} | ${r.ms_per_step.toFixed(0)} | ${eff(r)} | ${r.ranks === 1 ? '—' : `${r.buckets} (${r.buckets_started_during_backward})`} | ${r.ranks === 1 ? '—' : r.ms_allreduce.toFixed(0)} | ${r.ranks === 1 ? '—' : r.ms_wait_after_backward.toFixed(0)} |`);
  }
  console.log(lines.join('\n'));
}

main();
