// distillationLoss against PyTorch 1.13: T² · F.kl_div(F.log_softmax(s/T), F.log_softmax(t/T),
// log_target=True, reduction='batchmean') and its gradient w.r.t. the student's logits, on fixed
// batches (fixtures/distillation/kd.json, written by fixtures/make_distillation_cases.py in float64
// autograd): classification rows at T = 1, 2, 4; an lm-shaped 12 × 65 batch with ignored rows; a
// teacher confident enough that its probabilities underflow float32.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { distillationLoss } from '../../src/losses/index.js';
import { repoRoot } from '../golden/paths.js';
import { assertClose, ints } from './helpers.js';

interface Case {
  name: string; temperature: number; loss: number; target?: number[];
  student: { shape: number[]; data: number[] }; teacher: { shape: number[]; data: number[] }; gradStudent: { shape: number[]; data: number[] };
}
const { cases } = JSON.parse(readFileSync(path.join(repoRoot(), 'test/losses/fixtures/distillation/kd.json'), 'utf8')) as { cases: Case[] };

test('the PyTorch kd fixture holds the cases it promises', () => {
  assert.equal(cases.length, 6);
  assert.ok(cases.some((c) => c.target?.includes(-100)));
});

for (const c of cases) {
  for (const dtype of ['float64', 'float32'] as const) {
    // float64: the same arithmetic as the reference up to rounding; float32: training's dtype.
    const [rtol, atol] = dtype === 'float64' ? [1e-10, 1e-12] : [2e-5, 1e-6];
    test(`kd = PyTorch's T²·kl_div(log_target, batchmean), value and student gradient: ${c.name}, ${dtype}`, () => {
      const arr = (v: number[]) => (dtype === 'float64' ? Float64Array.from(v) : Float32Array.from(v));
      const s = T.tensor(arr(c.student.data), c.student.shape).requiresGrad_();
      const t = T.tensor(arr(c.teacher.data), c.teacher.shape);
      const kd = distillationLoss(s, { logits: t }, { temperature: c.temperature, ...(c.target ? { target: ints(c.target) } : {}) });
      assertClose([kd.item()], [c.loss], rtol, atol, 'kd');
      T.backward(kd);
      assertClose(s.grad!.data(), c.gradStudent.data, rtol, atol, 'd kd / d student');
    });
  }
}
