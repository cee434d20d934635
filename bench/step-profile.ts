/**
 * Where a training step's time goes: the bench/train-step.ts step (same model, batches, optimizer)
 * with every backend kernel call timed (wall ms, main thread), grouped by phase (forward, backward,
 * optimizer) and by kernel — matrix products also by shape, dtype and operand kinds. Prints a table
 * of the medians over the timed steps. A profiling aid, never a test; timings include the calls'
 * argument checks and any multi-threaded work they wait for.
 *
 * `--replay N` then calls each kernel that took at least 0.5 ms again, N times in a quiet loop on
 * copies of the arguments of its last call, back to back and then each after 2 ms of idling, and
 * prints its median time per call in the step next to the loops' (wall, and CPU ms of all threads):
 * a kernel slower inside the step than back to back is slowed by what runs around it (threads woken
 * from sleep, other threads of the process, cold caches). On Linux it also prints the CPU time each
 * thread of the process used over the timed steps (/proc/self/task): the main (JS) thread, the
 * kernel pool's and OpenMP's workers, and V8's and libuv's threads (which are all named `node`).
 * The per-call CPU column is not to be trusted for calls shorter than a few scheduler ticks (4 ms at
 * Linux's CONFIG_HZ=250): the kernel adds a thread that is running on another CPU to the process's CPU
 * time only at a tick, so a 1.4 ms call that ran on both threads can show about one thread's CPU (seen
 * on the bf16 attention forward, 2026-12-07). The per-thread totals over the steps are sound.
 *
 *   node dist/bench/step-profile.js --config small [--steps 3] [--warmup 1] [--dtype float32|bf16] [--top 40] [--replay 10]
 */
import { benchArgs } from './args.js';
import * as T from '../src/tensor/index.js';
import { getBackend } from '../src/backend/index.js';
import { GPT } from '../src/models/gpt.js';
import { AdamW } from '../src/optim/adam.js';
import { groupParameters } from '../src/optim/param-groups.js';
import { clipGradNorm } from '../src/optim/clip-grad.js';
import { fusedLinearCrossEntropy } from '../src/losses/index.js';
import { autocast } from '../src/amp/autocast.js';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sharedDir } from './shared.js';

const USAGE = 'usage: node dist/bench/step-profile.js [--config small] [--steps 3] [--warmup 1] [--dtype float32|bf16|fp16] [--top 40] [--replay 0]';

type Phase = 'fwd' | 'bwd' | 'opt';
let phase: Phase = 'fwd';
const acc = new Map<string, number[]>(); // key → per-step wall ms (index = timed step)
const accCpu = new Map<string, number[]>(); // key → per-step CPU ms of all threads
/** CPU ms (user + system, all threads) of this process so far. */
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
let stepIdx = -1;
/** Kernels' per-call wall and CPU ms in the timed steps, and a copy of the arguments of the last call. */
const calls = new Map<string, { name: string; ms: number[]; cpu: number[]; args?: unknown[] }>();
let capture = false;

/** A copy of a call's arguments (typed arrays cloned, so later steps cannot change them). */
function copyArgs(args: unknown[]): unknown[] {
  return args.map((a) => (ArrayBuffer.isView(a) ? (a as Float32Array).slice() : a));
}

/** CPU ms (user + system) of each thread of this process, by thread id (Linux; empty elsewhere). */
function threadCpu(): Map<string, number> {
  const m = new Map<string, number>();
  let tids: string[];
  try { tids = readdirSync('/proc/self/task'); } catch { return m; }
  const tick = 10; // USER_HZ is 100 on Linux
  for (const t of tids) {
    try {
      const s = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      m.set(t, (Number(f[11]) + Number(f[12])) * tick);
    } catch { /* the thread ended */ }
  }
  return m;
}

/** A short label for one call: the kernel, and for products the shape and operand kinds. */
function label(name: string, args: unknown[]): string {
  const kind = (a: unknown): string => (a instanceof Uint16Array ? 'h' : 'f');
  if (name === 'matmulLowp') {
    const [dtype, a, b, , batch, m, n, k, ta, tb] = args as [string, unknown, unknown, unknown, number, number, number, number, boolean, boolean];
    return `matmulLowp ${dtype} ${kind(a)}${kind(b)} ${batch}x[${m}x${k}${ta ? 'ᵀ' : ''}]·[${k}x${n}${tb ? 'ᵀ' : ''}]`;
  }
  if (name === 'linearLowp') {
    const [dtype, x, w, bias, out, rows, outF, inF] = args as [string, unknown, unknown, unknown, unknown, number, number, number];
    return `linearLowp ${dtype} ${kind(x)}${kind(w)}${bias ? '+b' : ''}→${kind(out)} [${rows}x${inF}]·[${outF}x${inF}]ᵀ`;
  }
  if (name === 'matmul') {
    const [, , , batch, m, n, k, ta, tb] = args as [unknown, unknown, unknown, number, number, number, number, boolean, boolean];
    return `matmul f32 ${batch}x[${m}x${k}${ta ? 'ᵀ' : ''}]·[${k}x${n}${tb ? 'ᵀ' : ''}]`;
  }
  if ((name === 'unary' || name === 'binary') && typeof args[0] === 'string') return `${name} ${args[0]}`;
  return name;
}

/** Wraps every method of the process's backend with a timer (the backend object is shared). */
function instrument(): void {
  const be = getBackend() as unknown as Record<string, unknown>;
  for (const [name, fn] of Object.entries(be)) {
    if (typeof fn !== 'function') continue;
    be[name] = (...args: unknown[]): unknown => {
      const c = cpuMs(), s = performance.now();
      const r = (fn as (...a: unknown[]) => unknown)(...args);
      if (stepIdx >= 0) {
        const w = performance.now() - s, cpu = cpuMs() - c;
        const key = `${phase} ${label(name, args)}`;
        let row = acc.get(key), rowCpu = accCpu.get(key);
        if (!row) acc.set(key, row = []);
        if (!rowCpu) accCpu.set(key, rowCpu = []);
        row[stepIdx] = (row[stepIdx] ?? 0) + w;
        rowCpu[stepIdx] = (rowCpu[stepIdx] ?? 0) + cpu;
        const l = label(name, args);
        let k = calls.get(l);
        if (!k) calls.set(l, k = { name, ms: [], cpu: [] });
        k.ms.push(w);
        k.cpu.push(cpu);
        if (capture && w >= 0.5) k.args = copyArgs(args);
      }
      return r;
    };
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
}

function main(): void {
  const { values } = benchArgs(USAGE, {
    config: { type: 'string', default: 'small' }, steps: { type: 'string', number: 'count', default: '3' }, warmup: { type: 'string', number: 'int', default: '1' },
    dtype: { type: 'string', default: 'bf16' }, top: { type: 'string', number: 'count', default: '40' }, replay: { type: 'string', number: 'int', default: '0' },
  });
  const amp = values.dtype === 'float32' ? null : values.dtype === 'bf16' ? 'bfloat16' as const : 'float16' as const;
  const all = JSON.parse(readFileSync(path.join(sharedDir(), 'bench', 'configs.json'), 'utf8'));
  const cfg = all.configs[values.config!] as { vocab_size: number; n_layer: number; n_head: number; n_embd: number; block_size: number; batch_size: number } | undefined;
  if (!cfg) throw new Error(`unknown config ${values.config}`);
  const oc = all.common.optimizer as unknown as { lr: number; betas: [number, number]; eps: number; weight_decay: number; grad_clip_norm: number };
  const model = new GPT({ vocabSize: cfg.vocab_size, nLayer: cfg.n_layer, nHead: cfg.n_head, nEmbd: cfg.n_embd, blockSize: cfg.block_size,
    dropout: 0, bias: true, tieWordEmbeddings: true, activation: 'gelu', layerNormEpsilon: 1e-5, seed: 1337 });
  const opt = new AdamW(groupParameters(model.namedParameters(), { policy: 'nanogpt', weightDecay: oc.weight_decay }), { lr: oc.lr, betas: oc.betas, eps: oc.eps });
  const B = cfg.batch_size, Tn = cfg.block_size, V = cfg.vocab_size;
  const gen = new T.Generator(1337);
  const pool = Array.from({ length: 4 }, () => T.randint(0, V, [B, Tn + 1], gen).keep());
  const params = model.parameters();
  const raw = { ...getBackend() } as unknown as Record<string, (...a: unknown[]) => unknown>;
  instrument();
  const total: Record<Phase, number[]> = { fwd: [], bwd: [], opt: [] };
  const totalCpu: number[] = [];
  const step = (i: number): void => T.scope(() => {
    const batch = pool[i % pool.length];
    const x = batch.narrow(1, 0, Tn).contiguous(), y = batch.narrow(1, 1, Tn).contiguous();
    opt.zeroGrad();
    let t = performance.now();
    const mark = (p: Phase): void => {
      const now = performance.now();
      if (stepIdx >= 0) total[phase][stepIdx] = now - t;
      t = now;
      phase = p;
    };
    phase = 'fwd';
    autocast({ dtype: amp ?? 'bfloat16', enabled: amp !== null }, () => {
      const l = fusedLinearCrossEntropy(model.hidden(x).reshape(B * Tn, -1), model.lmHeadWeight(), y.reshape(B * Tn));
      mark('bwd');
      T.backward(l);
    });
    mark('opt');
    clipGradNorm(params, oc.grad_clip_norm, { deferTo: opt }); // as bench/train-step.ts
    opt.step();
    mark('fwd');
  });
  const warmup = Number(values.warmup), steps = Number(values.steps);
  for (let i = 0; i < warmup; i++) step(i);
  const cpu0 = threadCpu();
  for (let i = 0; i < steps; i++) {
    stepIdx = i;
    capture = Number(values.replay) > 0 && i === steps - 1;
    const c = cpuMs();
    step(warmup + i);
    totalCpu[i] = cpuMs() - c;
  }
  const cpu1 = threadCpu();
  stepIdx = -1;
  const sum = (p: Phase): number => median(total[p]);
  console.log(`${values.config} ${values.dtype} backend ${getBackend().name}: step ${(sum('fwd') + sum('bwd') + sum('opt')).toFixed(1)} ms = fwd ${sum('fwd').toFixed(1)} + bwd ${sum('bwd').toFixed(1)} + opt ${sum('opt').toFixed(1)} (medians of ${steps})`);
  const med = (v: number[]): number => median(Array.from({ length: steps }, (_, i) => v[i] ?? 0));
  const rows = [...acc.entries()].map(([k, v]) => [k, med(v), med(accCpu.get(k)!)] as const).sort((a, b) => b[1] - a[1]);
  const kernels = rows.reduce((s, r) => s + r[1], 0), kernelsCpu = rows.reduce((s, r) => s + r[2], 0);
  console.log(`kernels ${kernels.toFixed(1)} ms wall, ${kernelsCpu.toFixed(1)} ms CPU; rest (JS, allocation, GC) ${(sum('fwd') + sum('bwd') + sum('opt') - kernels).toFixed(1)} ms wall, ${(median(totalCpu) - kernelsCpu).toFixed(1)} ms CPU; step CPU ${median(totalCpu).toFixed(1)} ms`);
  console.log('  wall ms    CPU ms  phase kernel');
  for (const [k, ms, cpu] of rows.slice(0, Number(values.top))) console.log(`${ms.toFixed(1).padStart(9)} ${cpu.toFixed(1).padStart(9)}  ${k}`);
  if (cpu1.size > 0) {
    const per = [...cpu1].map(([t, v]) => [t, (v - (cpu0.get(t) ?? 0)) / steps] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
    console.log(`CPU ms per step by thread (main ${process.pid}): ${per.map(([t, v]) => `${t === String(process.pid) ? 'main' : t} ${v.toFixed(0)}`).join(', ')}`);
  }
  const reps = Number(values.replay);
  if (reps > 0) {
    console.log(`  ms/call: in the step (wall CPU)  quiet (wall CPU)  after 2 ms idle (wall)  calls/step  kernel (quiet: ${reps} calls back to back on copies of the arguments; idle: each after 2 ms in which the process's threads sleep or spin)`);
    const out: [number, string][] = [];
    const f = (x: number, w: number): string => x.toFixed(2).padStart(w);
    for (const [l, c] of calls) {
      if (!c.args) continue;
      const fn = raw[c.name];
      fn(...c.args);
      const ts: number[] = [], cs: number[] = [], idle: number[] = [];
      for (let r = 0; r < reps; r++) {
        const u = cpuMs(), s = performance.now();
        fn(...c.args);
        ts.push(performance.now() - s);
        cs.push(cpuMs() - u);
      }
      for (let r = 0; r < reps; r++) {
        const until = performance.now() + 2;
        while (performance.now() < until) { /* idle main thread: the kernel threads go back to waiting */ }
        const s = performance.now();
        fn(...c.args);
        idle.push(performance.now() - s);
      }
      out.push([median(c.ms) * c.ms.length / steps, `${f(median(c.ms), 24)} ${f(median(c.cpu), 6)} ${f(median(ts), 9)} ${f(median(cs), 6)} ${f(median(idle), 17)} ${(c.ms.length / steps).toFixed(0).padStart(16)}  ${l}`]);
    }
    for (const [, line] of out.sort((a, b) => b[0] - a[0])) console.log(line);
  }
}

main();
