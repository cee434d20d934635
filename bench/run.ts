/**
 * `npm run bench`: trains the `tiny`, `small` and `gpt2` configurations of ../shared/bench/configs.json
 * with trainformer-native, trainformer-js (tiny only) and PyTorch (../shared/bench/torch_train.py with
 * /usr/bin/python3, skipped with a notice where it has no torch), each in its own process under the
 * same environment — PyTorch's best on this machine (../shared/bench/README.md): OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE unset, glibc malloc tuned, the OpenMP OpenBLAS first on LD_LIBRARY_PATH when
 * installed — and prints tokens/s, peak RSS, the ratio to PyTorch and model FLOPs utilisation against
 * the cblas_sgemm peak (2048³) measured in the same run. A benchmark, never a test.
 *
 *   npm run bench -- [--configs tiny,small,gpt2] [--impls native,js,torch] [--threads 2] [--max-seconds 60] [--no-lce] [--dtype bf16]
 *
 * `--dtype bf16` adds, after the float32 table, a bf16 table: trainformer-native under autocast
 * (bfloat16) against PyTorch's torch.autocast('cpu', dtype=torch.bfloat16), the ratio, peak RSS
 * against trainformer's own float32 run, and MFU against the 2048³ bf16 product peak (bench/bf16-gemm.ts:
 * the fastest of oneDNN and the own kernel, bf16 operands, float32 result) measured in the same run, and for
 * comparison PyTorch's own 2048³ bf16 product (bf16 result).
 *
 * then runs bench/fused-lce.ts (fused vs unfused LM head + cross-entropy) unless --no-lce.
 *
 * `npm run bench -- --seq [...]` runs the long-context benchmark instead (bench/seq.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { badFlag, benchArgs } from './args.js';
import { OPENMP_BLAS, bestEnv, hasTorch, repoRoot, sharedDir } from './shared.js';
import { seqBench } from './seq.js';

const USAGE = 'usage: npm run bench -- [--configs tiny,small,gpt2] [--impls native,js,torch] [--threads 2] [--max-seconds 60] [--steps 10] [--no-lce] [--dtype float32|bf16]  (npm run bench -- --seq --help: the long-context benchmark)';

/** Median GFLOPS of torch's a @ b on 2048×2048 bfloat16 tensors (bf16 result); argv[1] = threads. */
const TORCH_BF16_MM = `import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
n = 2048
a = torch.randn(n, n).bfloat16(); b = torch.randn(n, n).bfloat16()
for _ in range(2): a @ b
r = []
for _ in range(10):
    t = time.perf_counter(); a @ b; r.append(2 * n ** 3 / (time.perf_counter() - t) / 1e9)
print(json.dumps({"gflops": sorted(r)[5]}))`;

function runJson(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutS: number): Record<string, unknown> | string {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 1 << 24 });
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) return `failed (${r.error ? r.error.message : `exit ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' | ')}`;
  return JSON.parse(line) as Record<string, unknown>;
}

async function main(): Promise<void> {
  if (process.argv.includes('--seq')) { await seqBench(process.argv.slice(2).filter((a) => a !== '--seq')); return; }
  const { values } = benchArgs(USAGE, {
    configs: { type: 'string', default: 'tiny,small,gpt2' }, impls: { type: 'string', default: 'native,js,torch' },
    threads: { type: 'string', number: 'count', default: '2' }, 'max-seconds': { type: 'string', number: 'positive', default: '60' }, steps: { type: 'string', number: 'count', default: '10' },
    lce: { type: 'boolean', default: true }, 'no-lce': { type: 'boolean', default: false },
    dtype: { type: 'string', default: 'float32' },
  });
  if (values.dtype !== 'float32' && values.dtype !== 'bf16') badFlag(`--dtype must be float32 or bf16, got '${values.dtype}'`);
  const bf16 = values.dtype === 'bf16';
  const threads = Number(values.threads);
  const env = bestEnv(threads);
  const dist = path.join(repoRoot(), 'dist', 'bench');
  const impls = values.impls!.split(',');
  const common = ['--steps', values.steps!, '--max-seconds', values['max-seconds']!];
  console.log(`environment: OPENBLAS_CORETYPE/L2_SIZE unset, malloc tuned, ${existsSync(OPENMP_BLAS) ? 'OpenMP OpenBLAS' : 'default OpenBLAS (libopenblas0-openmp not installed)'}, ${threads} threads`);
  const peak = runJson(process.execPath, [path.join(dist, 'sgemm.js'), '--size', '2048', '--threads', String(threads)], env, 300);
  const peakGflops = typeof peak === 'string' ? NaN : Number(peak.gflops);
  console.log(typeof peak === 'string' ? `sgemm peak: ${peak}` : `cblas_sgemm 2048³ peak: ${peakGflops.toFixed(1)} GFLOPS (${threads} threads)`);
  let bf16Peak = NaN;
  if (bf16) {
    const p = runJson(process.execPath, [path.join(dist, 'bf16-gemm.js'), '--size', '2048', '--threads', String(threads)], env, 300);
    // MFU is against the fastest bf16 product measured here (of oneDNN and the own kernel), whichever
    // the step uses, so that choosing the slower one at 2048³ cannot raise the MFU figure.
    const byImpl = typeof p === 'string' ? {} : (p.byImpl as Record<string, number>);
    const best = Object.entries(byImpl).sort((a, b) => b[1] - a[1])[0];
    bf16Peak = best ? best[1] : NaN;
    console.log(typeof p === 'string' ? `bf16 peak: ${p}` : `bf16 2048³ peak: ${bf16Peak.toFixed(1)} GFLOPS (${best?.[0]}, the fastest; ${threads} threads; by implementation ${JSON.stringify(byImpl)}; the step uses ${String(p.impl)})`);
  }
  const torch = impls.includes('torch') && hasTorch();
  if (bf16 && torch) {
    // PyTorch's own 2048³ bf16 product (bf16 result, as its autocast linear layers write), for comparison only.
    const tp = runJson('/usr/bin/python3', ['-c', TORCH_BF16_MM, String(threads)], env, 300);
    console.log(typeof tp === 'string' ? `PyTorch bf16 a@b: ${tp}` : `PyTorch bf16 a@b 2048³ (bf16 result): ${Number(tp.gflops).toFixed(1)} GFLOPS (${threads} threads; not the MFU reference)`);
  }
  const bfRows: string[][] = [['config', 'impl', 'tokens/s', 'ms/step', 'peak RSS MB', 'RSS vs own fp32', 'vs PyTorch bf16', 'MFU % (bf16 peak)']];
  if (impls.includes('torch') && !torch) console.log('PyTorch: skipped (/usr/bin/python3 has no torch; apt-get install python3-torch)');
  const rows: string[][] = [['config', 'impl', 'tokens/s', 'ms/step', 'peak RSS MB', 'vs PyTorch', 'MFU %']];
  for (const config of values.configs!.split(',')) {
    const results: [string, Record<string, unknown> | string][] = [];
    if (torch) {
      results.push(['pytorch', runJson('/usr/bin/python3', [path.join(sharedDir(), 'bench', 'torch_train.py'), '--config', config, '--threads', String(threads), ...common], env, 900)]);
    }
    if (impls.includes('native')) {
      results.push(['trainformer-native', runJson(process.execPath, [path.join(dist, 'train-step.js'), '--config', config, ...common], { ...env, TRAINFORMER_BACKEND: 'native' }, 900)]);
    }
    if (impls.includes('js') && config === 'tiny') {
      results.push(['trainformer-js', runJson(process.execPath, [path.join(dist, 'train-step.js'), '--config', config, ...common, '--min-steps', '2'], { ...env, TRAINFORMER_BACKEND: 'js' }, 900)]);
    }
    if (bf16) {
      const bfResults: [string, Record<string, unknown> | string][] = [];
      if (torch) bfResults.push(['pytorch-bf16', runJson('/usr/bin/python3', [path.join(sharedDir(), 'bench', 'torch_train.py'), '--config', config, '--threads', String(threads), ...common, '--dtype', 'bf16'], env, 900)]);
      if (impls.includes('native')) bfResults.push(['trainformer-native-bf16', runJson(process.execPath, [path.join(dist, 'train-step.js'), '--config', config, ...common, '--dtype', 'bf16'], { ...env, TRAINFORMER_BACKEND: 'native' }, 900)]);
      const tb = bfResults.find(([n, r]) => n === 'pytorch-bf16' && typeof r !== 'string')?.[1] as Record<string, number> | undefined;
      const own32 = results.find(([n, r]) => n === 'trainformer-native' && typeof r !== 'string')?.[1] as Record<string, number> | undefined;
      for (const [name, r] of bfResults) {
        if (typeof r === 'string') { bfRows.push([config, name, r, '', '', '', '', '']); continue; }
        const tps = Number(r.tokens_per_s), rss = Number(r.peak_rss_mb);
        const mfu = 100 * Number(r.achieved_gflops) / bf16Peak;
        bfRows.push([config, name, tps.toFixed(0), Number(r.ms_per_step).toFixed(1), rss.toFixed(0),
          name.startsWith('trainformer') && own32 ? `${(rss / own32.peak_rss_mb).toFixed(2)}×` : '-',
          tb ? `${(tps / tb.tokens_per_s).toFixed(2)}×` : '-', Number.isFinite(mfu) ? mfu.toFixed(1) : '-']);
      }
    }
    const torchTps = results.find(([n, r]) => n === 'pytorch' && typeof r !== 'string')?.[1] as Record<string, number> | undefined;
    for (const [name, r] of results) {
      if (typeof r === 'string') { rows.push([config, name, r, '', '', '', '']); continue; }
      const tps = Number(r.tokens_per_s);
      const mfu = 100 * Number(r.achieved_gflops) / peakGflops;
      rows.push([config, name, tps.toFixed(0), Number(r.ms_per_step).toFixed(1), Number(r.peak_rss_mb).toFixed(0),
        torchTps ? `${(tps / torchTps.tokens_per_s).toFixed(2)}×` : '-', Number.isFinite(mfu) ? mfu.toFixed(1) : '-']);
    }
  }
  const print = (t: string[][]) => {
    const widths = t[0].map((_, i) => Math.max(...t.map((r) => r[i].length)));
    for (const r of t) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
  };
  console.log('float32 (MFU against the cblas_sgemm peak):');
  print(rows);
  if (bf16) {
    console.log('\nbf16 autocast (MFU against the bf16 2048³ peak):');
    print(bfRows);
  }
  if (values.lce && !values['no-lce']) {
    // Issue 3's figure: LM head + cross-entropy at N = 4096, C = 768, V = 50257, unfused vs fused.
    console.log('\nfused linear + cross-entropy (N = 4096 tokens, C = 768, V = 50257; native when built):');
    const r = spawnSync(process.execPath, [path.join(dist, 'fused-lce.js'), '--reps', '2'], { env, encoding: 'utf8', timeout: 1800 * 1000 });
    process.stdout.write(r.stdout ?? '');
    if (r.status !== 0) console.log(`fused-lce failed: ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' | ')}`);
  }
}

await main();
