// attentionLowp / attentionLowpBackward (bf16 q, k, v as bit patterns) on both backends and every
// native implementation the CPU offers (the bf16 tile kernel with its products on AMX tiles or on
// AVX512_BF16's vdpbf16ps; 'emulate': widen and run the float32 kernel), against an independent
// float64 computation on the same bf16 values (masks, RoPE tables and softmax written out here), with
// error bounds derived per element (test/util/attention-lowp-reference.ts: float32 sums on every path;
// the tile kernel's bf16 roundings of P, dO and dS on top).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { jsBackend } from '../../src/backend/js/index.js';
import { loadNativeAddon, loadNativeBackend, type AttentionLowpImpl } from '../../src/backend/native/index.js';
import { toBfloat16Bits } from '../../src/amp/cast.js';
import { autocast } from '../../src/amp/autocast.js';
import { setBackend } from '../../src/backend/index.js';
import * as T from '../../src/tensor/index.js';
import { rng } from '../util/rng.js';
import { type Case, type Inputs, type Ref, inputs, randn, reference, within } from '../util/attention-lowp-reference.js';

const native = loadNativeBackend();
const addon = loadNativeAddon();

function check(be: Backend, c: Case, x: Inputs, ref: Ref, what: string): void {
  const { bh, t, s, d, heads, causal, window } = c;
  const out = new Float32Array(bh * t * d).fill(7), lse = new Float32Array(bh * t).fill(7);
  be.attentionLowp('bfloat16', x.q, x.k, x.v, out, lse, x.keyPad, x.cos, x.sin, bh, t, s, d, heads, x.scale, causal, window);
  within(out, ref.out, ref.tol.out, `${what} out`);
  for (let i = 0; i < bh * t; i++) {
    if (ref.lse[i] === -Infinity) assert.equal(lse[i], -Infinity, `${what} lse[${i}] of a row that sees no key`);
    else assert.ok(Math.abs(lse[i]! - ref.lse[i]!) <= ref.tol.lse[i]!, `${what} lse[${i}]: ${lse[i]} vs ${ref.lse[i]} (bound ${ref.tol.lse[i]})`);
  }
  // native must overwrite, not accumulate: start from garbage
  const dq = new Float32Array(bh * t * d).fill(5), dk = new Float32Array(bh * s * d).fill(5), dv = new Float32Array(bh * s * d).fill(5);
  be.attentionLowpBackward('bfloat16', x.q, x.k, x.v, out, lse, x.g, dq, dk, dv, x.keyPad, x.cos, x.sin, bh, t, s, d, heads, x.scale, causal, window);
  within(dq, ref.dq, ref.tol.dq, `${what} dq`);
  within(dk, ref.dk, ref.tol.dk, `${what} dk`);
  within(dv, ref.dv, ref.tol.dv, `${what} dv`);
}

const base = { bh: 4, d: 64, heads: 2, causal: false, window: 0, pad: 'none', rope: false } as const;
const cases: Case[] = [];
for (const t of [1, 63, 64, 65, 1000]) {
  const b = t === 1000 ? { ...base, bh: 2, heads: 1 } : base;
  cases.push({ ...b, t, s: t }, { ...b, t, s: t, causal: true }, { ...b, t, s: t, causal: true, pad: 'quarter' },
    { ...b, t, s: t, causal: true, window: 48 }, { ...b, t, s: t, causal: true, rope: true });
}
for (const d of [32, 80]) { // head sizes of one 32-pair step and of a 64 + 16 column product (K padded to 96)
  for (const t of [1, 17, 100]) {
    cases.push({ ...base, d, t, s: t, causal: true }, { ...base, d, t, s: t, causal: true, pad: 'quarter', window: 12 },
      { ...base, d, t, s: t, rope: true });
  }
}
cases.push(
  { ...base, t: 65, s: 100, causal: true }, // s > t: query blocks start at odd rows (off = 35)
  { ...base, t: 100, s: 65, causal: true, window: 20 }, // s < t: the first rows see no key
  { ...base, t: 70, s: 70, d: 40, causal: true, rope: true }, // head size not a multiple of 32
  { ...base, t: 65, s: 65, causal: false, pad: 'all' }, // a batch row whose keys are all padding
);

/** The native implementations this CPU offers: the tile kernel on AMX and/or AVX512_BF16, and emulate. */
function available(): AttentionLowpImpl[] {
  if (!addon) return [];
  const info = addon.attentionLowpInfo();
  return [...(info.amx ? ['amx' as const] : []), ...(info.avx512bf16 ? ['avx512bf16' as const] : []), 'emulate'];
}
const impls = available();

describe('attentionLowp (bf16 q, k, v) against float64 on the bf16 values', () => {
  const initial = addon?.attentionLowpInfo().impl;
  for (const [i, c] of cases.entries()) {
    const name = `bh ${c.bh} t ${c.t} s ${c.s} d ${c.d}${c.causal ? ' causal' : ''}${c.window ? ` window ${c.window}` : ''}${c.pad !== 'none' ? ` pad ${c.pad}` : ''}${c.rope ? ' rope' : ''}`;
    test(name, () => {
      const x = inputs(c, 100 + i);
      const plain = reference(c, x, false);
      if (c.t <= 100) check(jsBackend, c, x, plain, `js ${name}`); // the js reference kernel is slow at t = 1000
      for (const impl of impls) {
        addon!.attentionLowpInfo(impl);
        try {
          check(native!, c, x, impl !== 'emulate' ? reference(c, x, true) : plain, `native ${impl} ${name}`);
        } finally {
          addon!.attentionLowpInfo(initial);
        }
      }
    });
  }
  test('the best implementation is the default (AMX, then AVX512_BF16), each available one can be picked, and they differ', { skip: addon ? false : 'native addon not built' }, () => {
    const info = addon!.attentionLowpInfo();
    assert.equal(info.impl, info.amx ? 'amx' : info.avx512bf16 ? 'avx512bf16' : 'emulate');
    if (info.amx) assert.ok(info.avx512bf16, 'the AMX kernel runs AVX-512 around its tile products');
    // The tile kernel rounds P to bf16 before P·V, the emulation does not: some output differs (so the
    // switch took effect), both within their bounds (the cases above).
    const c: Case = { ...base, bh: 2, heads: 1, t: 64, s: 64, causal: true };
    const x = inputs(c, 99);
    const outs = new Map<AttentionLowpImpl, Float32Array>();
    try {
      for (const impl of ['amx', 'avx512bf16', 'emulate'] as const) {
        if (!impls.includes(impl)) {
          assert.throws(() => addon!.attentionLowpInfo(impl), /not available/);
          continue;
        }
        assert.equal(addon!.attentionLowpInfo(impl).impl, impl);
        const out = new Float32Array(c.bh * c.t * c.d), lse = new Float32Array(c.bh * c.t);
        native!.attentionLowp('bfloat16', x.q, x.k, x.v, out, lse, null, null, null, c.bh, c.t, c.s, c.d, c.heads, x.scale, true, 0);
        outs.set(impl, out);
      }
    } finally {
      addon!.attentionLowpInfo(initial);
    }
    for (const impl of impls) {
      if (impl === 'emulate') continue;
      assert.ok(outs.get(impl)!.some((v, i) => v !== outs.get('emulate')![i]), `${impl} and emulate give the same bits: the switch did nothing`);
    }
  });
});

describe('attentionLowp with one task per head (its K and V tiles formed once) against float64', { skip: addon ? false : 'native addon not built' }, () => {
  // The tile kernel's forward runs one task per head when bh ≥ 4 · threads and there is no window,
  // else one per 64-row query block: the pool is pinned to 1 and 2 threads so that both run here.
  const perHead: Case[] = [
    { ...base, bh: 8, heads: 4, t: 130, s: 130, causal: true, pad: 'quarter' },
    { ...base, bh: 8, heads: 2, t: 200, s: 200, rope: true },
    { ...base, bh: 8, heads: 4, t: 100, s: 150, causal: true }, // s > t: later key tiles seen by later blocks only
    { ...base, bh: 8, heads: 4, t: 129, s: 129, d: 80, causal: true, rope: true },
  ];
  const initial = addon?.attentionLowpInfo().impl;
  for (const [i, c] of perHead.entries()) {
    test(`bh ${c.bh} t ${c.t} s ${c.s} d ${c.d}${c.causal ? ' causal' : ''}${c.pad !== 'none' ? ` pad ${c.pad}` : ''}${c.rope ? ' rope' : ''}`, () => {
      const x = inputs(c, 200 + i);
      const plain = reference(c, x, false), tiles = reference(c, x, true);
      const threads = addon!.numThreads();
      try {
        for (const n of [1, 2]) {
          addon!.setNumThreads(n);
          for (const impl of impls) {
            addon!.attentionLowpInfo(impl);
            check(native!, c, x, impl !== 'emulate' ? tiles : plain, `native ${impl} threads ${n}`);
          }
        }
      } finally {
        addon!.setNumThreads(threads);
        addon!.attentionLowpInfo(initial);
      }
    });
  }
});

describe('scaledDotProductAttention under bf16 autocast: native vs the js backend', { skip: native ? false : 'native addon not built' }, () => {
  test('forward and gradients agree within the bounds of the tile kernel\'s roundings (causal, padding)', () => {
    const r = rng(7);
    const B = 2, H = 3, N = 90, D = 64;
    const mk = (): Float32Array => randn(r, B * H * N * D);
    const qv = mk(), kv = mk(), vv = mk(), gv = mk();
    const mask = new Float32Array(B * N);
    for (let j = 70; j < N; j++) mask[N + j] = 1;
    const run = (): Float32Array[] => {
      const q = T.tensor(qv, [B, H, N, D]).requiresGrad_(), k = T.tensor(kv, [B, H, N, D]).requiresGrad_(), v = T.tensor(vv, [B, H, N, D]).requiresGrad_();
      const out = autocast({ dtype: 'bfloat16' }, () => T.scaledDotProductAttention(q, k, v, { causal: true, keyPaddingMask: T.tensor(mask, [B, N]) }));
      T.backward(T.sum(T.mul(out, T.tensor(gv, [B, H, N, D]))));
      return [out, q.grad!, k.grad!, v.grad!].map((x) => Float32Array.from(x.data() as Float32Array));
    };
    const prev = setBackend(jsBackend);
    let js: Float32Array[], nat: Float32Array[];
    try {
      js = run();
      setBackend(native!);
      nat = run();
    } finally {
      setBackend(prev);
    }
    // The bound of the kernel test for these inputs (rounded as autocast rounds them).
    const c: Case = { bh: B * H, t: N, s: N, d: D, heads: H, causal: true, window: 0, pad: 'none', rope: false };
    const x: Inputs = { q: Uint16Array.from(qv, toBfloat16Bits), k: Uint16Array.from(kv, toBfloat16Bits), v: Uint16Array.from(vv, toBfloat16Bits), g: gv, keyPad: mask, cos: null, sin: null, scale: 1 / Math.sqrt(D) };
    const tiles = addon!.attentionLowpInfo().impl !== 'emulate';
    const ref = reference(c, x, tiles), plain = reference(c, x, false);
    const names = ['out', 'dq', 'dk', 'dv'] as const;
    names.forEach((n, i) => {
      const tolA = ref.tol[n], tolP = plain.tol[n];
      // |native - js| ≤ |native - exact| + |js - exact|
      const both = tolA.map((a, j) => a + tolP[j]!);
      within(nat[i]!, Float64Array.from(js[i]!), both, `autocast native vs js ${n}`);
    });
  });
});
