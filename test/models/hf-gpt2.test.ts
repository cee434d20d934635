// Hugging Face GPT-2 interop: a random checkpoint written here in the published layout
// (transformers' GPT2LMHeadModel: Conv1D weights [in, out], `transformer.` prefix, causal-mask
// buffers, tied LM head) loads into GPT and its logits match a float64 GPT-2 forward written below
// straight from the formulas; save → reload is exact; the hf-logits command prints the difference.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, FileFormatError } from '../../src/errors.js';
import { type SafeTensor, readSafetensorsFile, writeSafetensorsFile } from '../../src/io/safetensors.js';
import { StateDictError } from '../../src/nn/module.js';
import * as T from '../../src/tensor/index.js';
import { GPT, loadHFGPT2, saveHFGPT2 } from '../../src/models/index.js';
import { hfLogitsMain } from '../../src/cli/hf-logits.js';
import { repoRoot } from '../golden/paths.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'hf-gpt2-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Cfg { V: number; P: number; C: number; L: number; H: number; inner: number; eps: number; act: 'gelu_new' | 'gelu'; tied: boolean }

/** Random weights in HF layout, as float32-rounded float64 arrays: name → {shape, data}. */
function randomWeights(c: Cfg, seed: number): Map<string, { shape: number[]; data: Float64Array }> {
  const g = new T.Generator(seed);
  const w = new Map<string, { shape: number[]; data: Float64Array }>();
  const put = (name: string, shape: number[], std: number, mean = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const d = new Float64Array(n);
    for (let i = 0; i < n; i++) d[i] = Math.fround(mean + std * g.normal());
    w.set(name, { shape, data: d });
  };
  put('wte.weight', [c.V, c.C], 0.3);
  put('wpe.weight', [c.P, c.C], 0.1);
  for (let l = 0; l < c.L; l++) {
    const p = `h.${l}.`;
    put(`${p}ln_1.weight`, [c.C], 0.2, 1); put(`${p}ln_1.bias`, [c.C], 0.1);
    put(`${p}attn.c_attn.weight`, [c.C, 3 * c.C], 0.3); put(`${p}attn.c_attn.bias`, [3 * c.C], 0.1);
    put(`${p}attn.c_proj.weight`, [c.C, c.C], 0.2); put(`${p}attn.c_proj.bias`, [c.C], 0.1);
    put(`${p}ln_2.weight`, [c.C], 0.2, 1); put(`${p}ln_2.bias`, [c.C], 0.1);
    put(`${p}mlp.c_fc.weight`, [c.C, c.inner], 0.3); put(`${p}mlp.c_fc.bias`, [c.inner], 0.1);
    put(`${p}mlp.c_proj.weight`, [c.inner, c.C], 0.2); put(`${p}mlp.c_proj.bias`, [c.C], 0.1);
  }
  put('ln_f.weight', [c.C], 0.2, 1); put('ln_f.bias', [c.C], 0.1);
  if (!c.tied) put('lm_head.weight', [c.V, c.C], 0.3);
  return w;
}

/**
 * GPT-2 forward in float64 from the formulas (Radford et al. 2019; transformers modeling_gpt2.py):
 * h = wte[ids] + wpe[pos]; per block h += attn(ln_1(h)), h += mlp(ln_2(h)) with Conv1D y = x W + b
 * (W [in, out]), causal softmax(q kᵀ/√d) v per head, gelu_new; logits = ln_f(h) · (lm_head or wte)ᵀ.
 */
function referenceLogits(c: Cfg, w: Map<string, { shape: number[]; data: Float64Array }>, ids: number[]): Float64Array {
  const Tn = ids.length, C = c.C, D = C / c.H;
  const W = (n: string) => w.get(n)!.data;
  const ln = (x: Float64Array[], g: Float64Array, b: Float64Array) => x.map((row) => {
    const mu = row.reduce((s, v) => s + v, 0) / C;
    const va = row.reduce((s, v) => s + (v - mu) ** 2, 0) / C;
    return row.map((v, j) => ((v - mu) / Math.sqrt(va + c.eps)) * g[j] + b[j]);
  });
  const conv1d = (x: Float64Array[], Wt: Float64Array, b: Float64Array, nin: number, nout: number) => x.map((row) => {
    const out = new Float64Array(nout);
    for (let o = 0; o < nout; o++) { let s = b[o]; for (let i = 0; i < nin; i++) s += row[i] * Wt[i * nout + o]; out[o] = s; }
    return out;
  });
  const act = (v: number) => c.act === 'gelu_new'
    ? 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))
    : 0.5 * v * (1 + erf(v / Math.SQRT2));
  let h = ids.map((id, t) => Float64Array.from({ length: C }, (_, j) => W('wte.weight')[id * C + j] + W('wpe.weight')[t * C + j]));
  for (let l = 0; l < c.L; l++) {
    const p = `h.${l}.`;
    const a = ln(h, W(`${p}ln_1.weight`), W(`${p}ln_1.bias`));
    const qkv = conv1d(a, W(`${p}attn.c_attn.weight`), W(`${p}attn.c_attn.bias`), C, 3 * C);
    const merged = Array.from({ length: Tn }, () => new Float64Array(C));
    for (let hd = 0; hd < c.H; hd++) {
      for (let i = 0; i < Tn; i++) {
        const s: number[] = [];
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qkv[i][hd * D + d] * qkv[j][C + hd * D + d];
          s.push(dot / Math.sqrt(D));
        }
        const m = Math.max(...s);
        const e = s.map((v) => Math.exp(v - m));
        const z = e.reduce((x, y) => x + y, 0);
        for (let d = 0; d < D; d++) {
          let o = 0;
          for (let j = 0; j <= i; j++) o += (e[j] / z) * qkv[j][2 * C + hd * D + d];
          merged[i][hd * D + d] = o;
        }
      }
    }
    const attn = conv1d(merged, W(`${p}attn.c_proj.weight`), W(`${p}attn.c_proj.bias`), C, C);
    h = h.map((row, t) => row.map((v, j) => v + attn[t][j]));
    const b2 = ln(h, W(`${p}ln_2.weight`), W(`${p}ln_2.bias`));
    const f = conv1d(b2, W(`${p}mlp.c_fc.weight`), W(`${p}mlp.c_fc.bias`), C, c.inner).map((row) => row.map(act));
    const m2 = conv1d(f, W(`${p}mlp.c_proj.weight`), W(`${p}mlp.c_proj.bias`), c.inner, C);
    h = h.map((row, t) => row.map((v, j) => v + m2[t][j]));
  }
  const hf = ln(h, W('ln_f.weight'), W('ln_f.bias'));
  const head = c.tied ? W('wte.weight') : W('lm_head.weight');
  const out = new Float64Array(Tn * c.V);
  for (let t = 0; t < Tn; t++) for (let v = 0; v < c.V; v++) {
    let s = 0;
    for (let j = 0; j < C; j++) s += hf[t][j] * head[v * C + j];
    out[t * c.V + v] = s;
  }
  return out;
}

/** erf by Abramowitz–Stegun 7.1.26 is too coarse here; use the series / continued fraction split. */
function erf(x: number): number {
  const s = Math.sign(x), a = Math.abs(x);
  if (a < 3) { // Maclaurin series, converges fast for |x| < 3
    let term = a, sum = a;
    for (let n = 1; n < 80; n++) { term *= (-a * a) / n; sum += term / (2 * n + 1); }
    return (s * 2 * sum) / Math.sqrt(Math.PI);
  }
  // erfc continued fraction (Lentz) for large |x|
  let f = a, C0 = a, D0 = 0;
  for (let n = 1; n < 60; n++) {
    const an = n / 2;
    D0 = a + an * D0; D0 = 1 / D0;
    C0 = a + an / C0;
    f *= C0 * D0;
  }
  return s * (1 - Math.exp(-a * a) / (f * Math.sqrt(Math.PI)));
}

/** Writes a HF GPT-2 folder: config.json and model.safetensors (optionally prefixed, with mask buffers). */
function writeFolder(dir: string, c: Cfg, w: Map<string, { shape: number[]; data: Float64Array }>,
  opts: { prefix?: boolean; buffers?: boolean; dtype?: 'F32' | 'BF16'; extraConfig?: Record<string, unknown>; drop?: string } = {}): void {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, { shape, data }] of w) {
    if (name === opts.drop) continue;
    const key = opts.prefix && name !== 'lm_head.weight' ? `transformer.${name}` : name;
    if (opts.dtype === 'BF16') {
      const bits = new Uint32Array(Float32Array.from(data).buffer);
      tensors[key] = { dtype: 'BF16', shape, data: Uint16Array.from(bits, (b) => b >>> 16) };
    } else tensors[key] = { dtype: 'F32', shape, data: Float32Array.from(data) };
  }
  if (c.tied && opts.prefix) tensors['lm_head.weight'] = { dtype: 'F32', shape: [c.V, c.C], data: Float32Array.from(w.get('wte.weight')!.data) };
  if (opts.buffers) {
    for (let l = 0; l < c.L; l++) {
      const mask = new Float32Array(c.P * c.P);
      for (let i = 0; i < c.P; i++) for (let j = 0; j <= i; j++) mask[i * c.P + j] = 1;
      tensors[`${opts.prefix ? 'transformer.' : ''}h.${l}.attn.bias`] = { dtype: 'F32', shape: [1, 1, c.P, c.P], data: mask };
      tensors[`${opts.prefix ? 'transformer.' : ''}h.${l}.attn.masked_bias`] = { dtype: 'F32', shape: [], data: Float32Array.from([-1e4]) };
    }
  }
  writeSafetensorsFile(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: c.V, n_positions: c.P, n_ctx: c.P, n_embd: c.C,
    n_layer: c.L, n_head: c.H, n_inner: c.inner === 4 * c.C ? null : c.inner, activation_function: c.act,
    layer_norm_epsilon: c.eps, resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1, tie_word_embeddings: c.tied,
    bos_token_id: c.V - 1, eos_token_id: c.V - 1, ...opts.extraConfig,
  }, null, 2));
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const base: Cfg = { V: 50, P: 16, C: 24, L: 2, H: 3, inner: 96, eps: 1e-5, act: 'gelu_new', tied: true };
const input = [[5, 17, 3, 42, 0, 49, 8, 8, 21, 30, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]];

function logitsOf(m: GPT, rows: number[][]): Float32Array {
  return T.noGrad(() => m.forward(T.tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length], 'int32'))).data() as Float32Array;
}

describe('Hugging Face GPT-2 checkpoints', () => {
  const variants: Array<[string, Cfg, Parameters<typeof writeFolder>[3]]> = [
    ['prefixed keys, mask buffers, tied head, gelu_new', base, { prefix: true, buffers: true }],
    ['plain keys, untied lm_head, n_inner, exact gelu, eps 1e-6', { ...base, tied: false, inner: 40, act: 'gelu', eps: 1e-6 }, {}],
    ['bfloat16 weights', base, { dtype: 'BF16' }],
  ];
  for (const [name, cfg, opts] of variants) {
    test(`load → logits match the float64 reference to 1e-4: ${name}`, () => {
      const w = randomWeights(cfg, 100 + name.length);
      if (opts?.dtype === 'BF16') for (const v of w.values()) v.data.forEach((x, i) => { v.data[i] = new Float32Array(new Uint32Array([(new Uint32Array(Float32Array.of(x).buffer)[0] >>> 16) << 16]).buffer)[0]; });
      const dir = path.join(tmp, name.replace(/\W+/g, '_'));
      writeFolder(dir, cfg, w, opts);
      const m = loadHFGPT2(dir);
      assert.equal(m.training, false, 'loaded in eval mode');
      assert.equal(m.config.activation, cfg.act);
      const got = logitsOf(m, input);
      const want = new Float64Array(input.flatMap((r) => Array.from(referenceLogits(cfg, w, r))));
      const d = maxDiff(got, want);
      console.log(`# HF GPT-2 (${name}): max |logits - reference| = ${d.toExponential(2)}`);
      assert.ok(d <= 1e-4, `max abs diff ${d}`);
    });
  }

  test('save → reload gives identical tensors and config; the file is in HF layout', () => {
    const m = new GPT({ vocabSize: 30, nLayer: 2, nHead: 2, nEmbd: 8, blockSize: 10, activation: 'gelu_new', tieWordEmbeddings: false, seed: 4 });
    const dir = path.join(tmp, 'saved');
    saveHFGPT2(m, dir);
    const st = readSafetensorsFile(path.join(dir, 'model.safetensors'));
    assert.equal(st.metadata.format, 'pt');
    assert.deepEqual(st.tensors['transformer.h.0.attn.c_attn.weight'].shape, [8, 24], 'Conv1D [in, out]');
    assert.deepEqual(st.tensors['transformer.h.1.mlp.c_fc.weight'].shape, [8, 32]);
    assert.deepEqual(st.tensors['lm_head.weight'].shape, [30, 8]);
    // Conv1D layout: HF weight[i][o] = our weight[o][i].
    const ours = m.h.at(0).attn.c_attn.weight.toArray(), theirs = st.tensors['transformer.h.0.attn.c_attn.weight'].data;
    assert.equal(theirs[1 * 24 + 5], ours[5 * 8 + 1]);
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.model_type, 'gpt2');
    assert.equal(cfg.n_positions, 10);
    assert.equal(cfg.tie_word_embeddings, false);
    const r = loadHFGPT2(dir);
    assert.deepEqual({ ...r.config, seed: 0 }, { ...m.config, seed: 0 }, 'everything but the seed (not part of a HF config)');
    const a = m.stateDict(), b = r.stateDict();
    assert.deepEqual(Object.keys(b), Object.keys(a));
    for (const k of Object.keys(a)) assert.deepEqual(b[k].toArray(), a[k].toArray(), k);
    m.eval();
    assert.deepEqual(Array.from(logitsOf(r, [[1, 2, 3]])), Array.from(logitsOf(m, [[1, 2, 3]])));
  });

  test('a loaded checkpoint saves back with its other config fields kept, and reloads identically', () => {
    const w = randomWeights(base, 7);
    const src = path.join(tmp, 'roundtrip-src'), dst = path.join(tmp, 'roundtrip-dst');
    writeFolder(src, base, w, { prefix: true, buffers: true });
    const m = loadHFGPT2(src);
    saveHFGPT2(m, dst);
    const cfg = JSON.parse(readFileSync(path.join(dst, 'config.json'), 'utf8'));
    assert.equal(cfg.bos_token_id, base.V - 1);
    assert.equal(readSafetensorsFile(path.join(dst, 'model.safetensors')).tensors['lm_head.weight'], undefined, 'tied head not written');
    const r = loadHFGPT2(dst);
    assert.deepEqual(Array.from(logitsOf(r, input)), Array.from(logitsOf(m, input)));
  });

  test('errors: missing weight, wrong shape, unsupported config, missing files', () => {
    const w = randomWeights(base, 8);
    const d1 = path.join(tmp, 'missing');
    writeFolder(d1, base, w, { drop: 'h.1.mlp.c_fc.bias' });
    assert.throws(() => loadHFGPT2(d1), (e: Error) => e instanceof StateDictError && /h\.1\.mlp\.c_fc\.bias/.test(e.message) && e.message.includes(d1));
    const d2 = path.join(tmp, 'shape');
    writeFolder(d2, base, w, { extraConfig: { n_embd: 30, n_head: 3 } });
    assert.throws(() => loadHFGPT2(d2), (e: Error) => e instanceof StateDictError && /shape mismatches/.test(e.message));
    const d3 = path.join(tmp, 'unsupported');
    writeFolder(d3, base, w, { extraConfig: { scale_attn_by_inverse_layer_idx: true } });
    assert.throws(() => loadHFGPT2(d3), (e: Error) => e instanceof ConfigError && /scale_attn_by_inverse_layer_idx/.test(e.message));
    assert.throws(() => loadHFGPT2(path.join(tmp, 'nothing-here')), FileFormatError);
    assert.throws(() => saveHFGPT2(new GPT({ vocabSize: 5, nLayer: 1, nHead: 1, nEmbd: 4, blockSize: 4, norm: 'rmsnorm' }), path.join(tmp, 'x')), ConfigError);
  });

  test('hf-logits prints the max abs difference against a {input_ids, logits} file', () => {
    const w = randomWeights(base, 9);
    const dir = path.join(tmp, 'cli');
    writeFolder(dir, base, w, { prefix: true });
    const want = input.map((r) => {
      const l = referenceLogits(base, w, r);
      return Array.from({ length: r.length }, (_, t) => Array.from(l.slice(t * base.V, (t + 1) * base.V)));
    });
    const json = path.join(tmp, 'expected.json');
    writeFileSync(json, JSON.stringify({ input_ids: input, logits: want }));
    const lines: string[] = [];
    assert.equal(hfLogitsMain([dir, json, '--tol', '1e-4'], (s) => lines.push(s)), 0);
    const m = /^max_abs_diff: (\S+) \(logits \[2, 11, 50\]\)$/.exec(lines[0]);
    assert.ok(m, lines[0]);
    assert.ok(Number(m[1]) <= 1e-4);
    // A wrong expectation is reported (and fails --tol).
    want[0][0][0] += 0.5;
    writeFileSync(json, JSON.stringify({ input_ids: input, logits: want }));
    const out2: string[] = [];
    assert.equal(hfLogitsMain([dir, json, '--tol', '1e-4'], (s) => out2.push(s)), 1);
    assert.ok(Math.abs(Number(/max_abs_diff: (\S+)/.exec(out2[0])![1]) - 0.5) < 1e-3);
    // The compiled script (what `npm run hf-logits` runs), one flat input row.
    writeFileSync(json, JSON.stringify({ input_ids: input[1], logits: want[1] }));
    const r = spawnSync(process.execPath, [path.join(repoRoot(), 'dist/src/cli/hf-logits.js'), dir, json], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^max_abs_diff: \S+ \(logits \[1, 11, 50\]\)/);
    const errs: string[] = [];
    assert.equal(hfLogitsMain([dir], () => {}, (s) => errs.push(s)), 2);
  });
});
