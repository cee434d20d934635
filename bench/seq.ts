/**
 * `npm run bench -- --seq`: training throughput and memory as the context grows. GPT of 4 layers ×
 * 256 (4 heads, vocabulary 65), batch 1, T = 512 … 8192: trainformer-native with and without
 * gradientCheckpointing (bench/seq-step.ts) and PyTorch (bench/torch_seq.py, its attention as 1.13
 * computes it), each point in its own process under the same environment (bench/shared.ts bestEnv).
 * A watchdog reads each process's resident memory (/proc/<pid>/status VmRSS) every 50 ms and stops
 * it above the memory cap (default 8 GB), reported as "over cap". Prints a table (tokens/s, ms/step,
 * peak RSS), the least-squares slope of peak RSS against T for the checkpointed runs (MB per 1k
 * tokens), the largest T that trained within the cap, and `uptime`'s load. A benchmark, never a test.
 *
 *   npm run bench -- --seq [--seqs 512,1024,2048,4096,8192] [--impls ckpt,native,torch] [--cap-gb 8]
 *                           [--threads 2] [--steps 3] [--warmup 1] [--max-seconds 60]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { benchArgs } from './args.js';
import { bestEnv, hasTorch, repoRoot } from './shared.js';

const USAGE = 'usage: npm run bench -- --seq [--seqs 512,1024,2048,4096,8192] [--impls ckpt,native,torch] [--cap-gb 8] [--threads 2] [--steps 3] [--warmup 1] [--max-seconds 60]';

interface Point { impl: string; seq: number; result: Record<string, number> | null; note: string }

/** VmRSS of a process in MB, or NaN once it is gone. */
function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch { return NaN; }
}

/** Runs a command, killing it when its RSS passes capMb; resolves with its last JSON line or why there is none. */
function runCapped(cmd: string, args: string[], env: NodeJS.ProcessEnv, capMb: number, timeoutS: number): Promise<{ json: Record<string, number> | null; note: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '', maxSeen = 0, over = false, timedOut = false;
    child.stdout.on('data', (d) => { out += String(d); });
    child.stderr.on('data', (d) => { err += String(d); });
    const watch = setInterval(() => {
      const r = rssMb(child.pid!);
      if (r > maxSeen) maxSeen = r;
      if (r > capMb && !over) { over = true; child.kill('SIGKILL'); }
    }, 50);
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutS * 1000);
    child.on('close', (code) => {
      clearInterval(watch);
      clearTimeout(timer);
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (over) resolve({ json: null, note: `over the ${(capMb / 1024).toFixed(0)} GB cap (stopped at ${maxSeen.toFixed(0)} MB)` });
      else if (timedOut) resolve({ json: null, note: `over ${timeoutS} s` });
      else if (code !== 0 || !line) {
        const oom = /out of memory|can't allocate|Cannot allocate|bad_alloc|Array buffer allocation failed/i.test(err);
        // Node ends an uncaught exception with its version line; name the error line instead.
        const lines = err.trim().split('\n');
        const why = lines.filter((l) => /Error\b/.test(l)).pop() ?? lines.slice(-1)[0] ?? '';
        resolve({ json: null, note: `${oom ? 'out of memory' : 'failed'} (exit ${code}): ${why.trim()}` });
      } else resolve({ json: JSON.parse(line) as Record<string, number>, note: '' });
    });
  });
}

/** Least-squares line y = a + b·x. */
export function fitLine(xs: readonly number[], ys: readonly number[]): { intercept: number; slope: number; r2: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) { sxy += (xs[i] - mx) * (ys[i] - my); sxx += (xs[i] - mx) ** 2; syy += (ys[i] - my) ** 2; }
  const slope = sxy / sxx;
  return { intercept: my - slope * mx, slope, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

function uptime(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' / ');
}

export async function seqBench(argv: string[]): Promise<void> {
  const { values } = benchArgs(USAGE, {
    seqs: { type: 'string', number: 'counts', default: '512,1024,2048,4096,8192' }, impls: { type: 'string', default: 'ckpt,native,torch' },
    'cap-gb': { type: 'string', number: 'positive', default: '8' }, threads: { type: 'string', number: 'count', default: '2' }, steps: { type: 'string', number: 'count', default: '3' },
    warmup: { type: 'string', number: 'int', default: '1' }, 'max-seconds': { type: 'string', number: 'positive', default: '60' },
  }, argv);
  const seqs = values.seqs!.split(',').map(Number);
  const impls = values.impls!.split(',');
  const capMb = Number(values['cap-gb']) * 1024;
  const threads = Number(values.threads);
  const env = bestEnv(threads);
  const step = path.join(repoRoot(), 'dist', 'bench', 'seq-step.js');
  const torchPy = path.join(repoRoot(), 'bench', 'torch_seq.py');
  const common = ['--steps', values.steps!, '--warmup', values.warmup!, '--max-seconds', values['max-seconds']!];
  const torch = impls.includes('torch') && hasTorch();
  console.log(`long-context training: GPT 4 layers × 256 (4 heads, V 65), batch 1; ${threads} threads; RSS cap ${values['cap-gb']} GB; load average at start ${uptime()}`);
  if (impls.includes('torch') && !torch) console.log('PyTorch: skipped (/usr/bin/python3 has no torch)');
  const points: Point[] = [];
  for (const seq of seqs) {
    const runs: [string, string, string[], NodeJS.ProcessEnv][] = [];
    if (impls.includes('ckpt')) runs.push(['trainformer-native + checkpointing', process.execPath, [step, '--seq', String(seq), '--checkpointing', ...common], { ...env, TRAINFORMER_BACKEND: 'native' }]);
    if (impls.includes('native')) runs.push(['trainformer-native', process.execPath, [step, '--seq', String(seq), ...common], { ...env, TRAINFORMER_BACKEND: 'native' }]);
    if (torch) runs.push(['pytorch', '/usr/bin/python3', [torchPy, '--seq', String(seq), '--threads', String(threads), ...common], env]);
    for (const [impl, cmd, args, e] of runs) {
      const { json, note } = await runCapped(cmd, args, e, capMb, 1800);
      points.push({ impl, seq, result: json, note });
      console.log(`  T=${seq} ${impl}: ${json ? `${json.tokens_per_s} tok/s, ${json.ms_per_step} ms/step, peak RSS ${json.peak_rss_mb} MB` : note} (load ${uptime()})`);
    }
  }
  const rows = [['T', 'impl', 'tokens/s', 'ms/step', 'peak RSS MB', 'vs PyTorch']];
  for (const p of points) {
    const torchPt = points.find((q) => q.seq === p.seq && q.impl === 'pytorch' && q.result);
    const r = p.result;
    rows.push([String(p.seq), p.impl, r ? r.tokens_per_s.toFixed(0) : p.note, r ? r.ms_per_step.toFixed(0) : '', r ? r.peak_rss_mb.toFixed(0) : '',
      r && torchPt ? `${(r.tokens_per_s / torchPt.result!.tokens_per_s).toFixed(2)}×` : '-']);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log();
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
  console.log();
  for (const impl of [...new Set(points.map((p) => p.impl))]) {
    const ok = points.filter((p) => p.impl === impl && p.result && p.result.peak_rss_mb <= capMb);
    const largest = ok.length ? Math.max(...ok.map((p) => p.seq)) : null;
    let line = `${impl}: largest T trained within ${values['cap-gb']} GB: ${largest ?? 'none'}`;
    if (ok.length >= 2) {
      const f = fitLine(ok.map((p) => p.seq / 1000), ok.map((p) => p.result!.peak_rss_mb));
      line += `; peak RSS ≈ ${f.intercept.toFixed(0)} MB + ${f.slope.toFixed(1)} MB per 1k tokens (least squares, R² ${f.r2.toFixed(4)})`;
      if (impl.includes('checkpointing') && f.slope > 0) line += `; the line reaches ${values['cap-gb']} GB at T ≈ ${Math.floor((capMb - f.intercept) / f.slope * 1000)} (extrapolated)`;
    }
    console.log(line);
  }
  console.log(`load average at end ${uptime()}`);
}
