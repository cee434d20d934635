// The lr_schedule and precision_cast handlers on hand-written cases in the golden format covering
// what the shared set lacks: NaN / inf / overflow / underflow casts and the other schedule names.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { runGoldenFolder } from '../../src/golden/run.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'golden-handlers-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function run(kind: string, cases: unknown[]) {
  const dir = mkdtempSync(path.join(tmp, 'c'));
  writeFileSync(path.join(dir, `${kind}.json`), JSON.stringify({ kind, default_tolerance: { rtol: 1e-5, atol: 1e-6 }, cases }));
  return runGoldenFolder(dir, { kinds: [kind] });
}

const exact = { rtol: 0, atol: 0 };
const u32 = (data: number[]) => ({ dtype: 'uint32', shape: [data.length], data });
const u16 = (data: number[]) => ({ dtype: 'uint16', shape: [data.length], data });
const f32 = (data: unknown[]) => ({ dtype: 'float32', shape: [data.length], data });
const bool = (data: boolean[]) => ({ dtype: 'bool', shape: [data.length], data });

// float16: 70000 overflows; ±inf kept; 1e-8 is below half the smallest subnormal 2^-24 (signed 0);
// NaNs (quiet, signalling payload, negative all-ones) accept any NaN encoding.
const f16Case = {
  name: 'f16_nonfinite',
  options: { target: 'float16', rounding: 'nearest_even' },
  inputs: {
    x_bits: u32([0x478ba000, 0x7f800000, 0xff800000, 0x322bcc77, 0xb22bcc77, 0x7fc00000, 0x7f800001, 0xffffffff]),
    x: f32([70000, 'Infinity', '-Infinity', 1e-8, -1e-8, 'NaN', 'NaN', 'NaN']),
  },
  expected: {
    bits: u16([0x7c00, 0x7c00, 0xfc00, 0x0000, 0x8000, 0x7e00, 0x7e00, 0x7e00]),
    value: f32(['Infinity', 'Infinity', '-Infinity', 0, -0, 'NaN', 'NaN', 'NaN']),
    is_nan: bool([false, false, false, false, false, true, true, true]),
  },
  tolerance: exact,
};

// bfloat16: float32 max overflows to inf; NaN with payload in the low bits stays NaN.
const bf16Case = {
  name: 'bf16_nonfinite',
  options: { target: 'bfloat16', rounding: 'nearest_even' },
  inputs: { x_bits: u32([0x7f7fffff, 0x7f800001, 0x80000000]), x: f32([3.4028234663852886e38, 'NaN', -0]) },
  expected: {
    bits: u16([0x7f80, 0x7fc0, 0x8000]),
    value: f32(['Infinity', 'NaN', -0]),
    is_nan: bool([false, true, false]),
  },
  tolerance: exact,
};

test('precision_cast handler: non-finite, overflow and underflow cases pass', () => {
  const s = run('precision_cast', [f16Case, bf16Case]);
  assert.deepEqual(s.failures, []);
  assert.equal(s.passed, 2);
});

test('precision_cast handler: wrong bits fail where is_nan is false, and NaN must stay NaN', () => {
  const wrongBits = structuredClone(f16Case);
  wrongBits.name = 'wrong_bits';
  wrongBits.expected.bits.data[3] = 0x0001;
  const notNan = structuredClone(bf16Case);
  notNan.name = 'nan_expected_for_finite';
  notNan.expected.is_nan.data[0] = true;
  const s = run('precision_cast', [wrongBits, notNan]);
  assert.equal(s.failed, 2);
  assert.match(s.failures[0]!.message, /^expected\.bits\[3\]: got 0, expected 1/);
  assert.match(s.failures[1]!.message, /^expected\.is_nan\[0\]/);
});

test('lr_schedule handler: HF names, null options and options a schedule does not read', () => {
  const lr = (data: number[]) => ({ dtype: 'float64', shape: [data.length], data });
  const tol = { rtol: 1e-7, atol: 1e-12 };
  const cases = [
    // cosine_with_restarts, 2 cycles over 4 steps: ½(1+cos(π·((k/2) mod 1))) -> 1, ½, 1, ½, 0.
    { name: 'restarts', options: { schedule: 'cosine_with_restarts', base_lr: 1, num_warmup_steps: 0, num_training_steps: 4, num_cycles: 2 }, inputs: { num_steps: 4 }, expected: { lr: lr([1, 0.5, 1, 0.5, 0]) }, tolerance: tol },
    // constant with a warmup option it ignores, and a null option.
    { name: 'constant_extra', options: { schedule: 'constant', base_lr: 0.5, num_warmup_steps: 3, num_training_steps: 9, timescale: null }, inputs: { num_steps: 2 }, expected: { lr: lr([0.5, 0.5, 0.5]) }, tolerance: tol },
    // nanoGPT original warmup it/warmup_iters.
    { name: 'nanogpt_original', options: { schedule: 'nanogpt_cosine', base_lr: 1, warmup_iters: 2, lr_decay_iters: 4, min_lr: 0, warmup_formula: 'it/warmup_iters' }, inputs: { num_steps: 5 }, expected: { lr: lr([0, 0.5, 1, 0.5, 0, 0]) }, tolerance: tol },
    // An invalid schedule is an error, as an expected_error case.
    { name: 'bad_lr_end', options: { schedule: 'polynomial_with_warmup', base_lr: 1e-3, num_warmup_steps: 0, num_training_steps: 5, lr_end: 1e-2, power: 1 }, inputs: { num_steps: 3 }, expected_error: 'lr_end (0.01) must be smaller than initial lr (0.001)' },
  ];
  const s = run('lr_schedule', cases);
  assert.deepEqual(s.failures, []);
  assert.equal(s.passed, 4);
});
