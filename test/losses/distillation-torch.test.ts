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

// Large temperatures in float32: log p − log q is a difference of two ≈ −log 3 numbers, and T² (1e12
// at T = 1e6) multiplies its rounding: the direct form gave ≈ 3229 in the fresh-user trial, and
// PyTorch 1.13's float32 kl_div gives −4.80 at T = 1e4 and −59603.5 at T = 1e6 on this batch. The
// references are exact (mpmath, 60 digits, the same formula); PyTorch's float64 autograd agrees with
// them to 1e-9 up to T = 1e4, and its gradients (T = 1e3, 1e6) are listed beside them.
const bigS = [[1.5, -0.25, 3.0], [0.1, 0.2, -2.0]], bigT = [[-1.0, 0.5, 2.0], [2.5, -0.75, 0.0]];
const exactKd: [number, number][] = [[20, 0.9767236220084276], [1e3, 0.99846798308312168], [1e4, 0.99884683989949747], [1e6, 0.99888846844475383], [1e8, 0.99888888468445212]];
const torchGrad: Record<number, number[]> = {
  1e3: [0.2636798771096371, -0.2775681646786453, 0.013888287568981843, -0.2085271658770058, 0.3499758320771776, -0.1414486662001718],
  1e6: [0.2638886799875794, -0.2777775682934667, 0.01388888833088089, -0.20833352728388652, 0.34999997598265675, -0.14166644866825265],
};
for (const [temp, exact] of exactKd) {
  test(`kd at T = ${temp} in float32: the exact T²·KL (${exact.toFixed(6)}) within 1e-5 relative, not float32 cancellation × T²`, () => {
    const s = T.tensor(Float32Array.from(bigS.flat()), [2, 3]).requiresGrad_(true);
    const kd = distillationLoss(s, { logits: T.tensor(Float32Array.from(bigT.flat()), [2, 3]) }, { temperature: temp });
    assert.ok(Math.abs(kd.item() - exact) < 1e-5 * exact, `kd ${kd.item()}, exact ${exact}`);
    if (torchGrad[temp]) {
      T.backward(kd);
      assertClose(Array.from(s.grad!.data()), torchGrad[temp], 1e-4, 1e-5, `gradient at T = ${temp}`);
    }
  });
}
