// Golden cases of optimizer, clip_grad_norm and grad_scaler (../shared/golden) must all pass, and the
// optimiser state after each step must match PyTorch's (the cases' informative state_per_step).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { decodeTensor, isClose } from '../../src/golden/registry.js';
import { optimizerFromGolden } from '../../src/golden/kinds/optimizer.js';
import { runGoldenFolder } from '../../src/golden/run.js';
import { tensor } from '../../src/tensor/index.js';
import { goldenDir } from '../golden/paths.js';

for (const kind of ['optimizer', 'clip_grad_norm', 'grad_scaler']) {
  test(`golden ${kind}: every case passes`, () => {
    const s = runGoldenFolder(goldenDir(), { kinds: [kind] });
    assert.deepEqual(s.failures, []);
    assert.equal(s.failed, 0);
    assert.equal(s.skipped, 0);
    assert.ok(s.passed > 0, `no ${kind} case ran`);
  });
}

const BUFFER_NAMES: Record<string, string> = {
  exp_avg: 'expAvg', exp_avg_sq: 'expAvgSq', max_exp_avg_sq: 'maxExpAvgSq', momentum_buffer: 'momentumBuffer',
};

interface Case {
  name: string;
  options: Record<string, unknown>;
  inputs: { params: unknown[]; grads: (unknown[] | null)[] };
  informative?: { state_per_step?: (Record<string, unknown> | null)[][] };
  tolerance: { rtol: number; atol: number };
}

test('golden optimizer: state after every step matches PyTorch (step counts exactly, buffers to tolerance)', () => {
  const file = JSON.parse(readFileSync(path.join(goldenDir(), 'optimizer.json'), 'utf8')) as { cases: Case[] };
  let checked = 0;
  for (const c of file.cases) {
    const states = c.informative?.state_per_step;
    if (!states) continue;
    const params = c.inputs.params.map((r) => { const d = decodeTensor(r); return tensor(Float32Array.from(d.data), d.shape); });
    const opt = optimizerFromGolden(c.options, params);
    c.inputs.grads.forEach((step, s) => {
      params.forEach((p, i) => {
        const g = step === null ? null : step[i];
        if (g === null) { p.grad = null; return; }
        const d = decodeTensor(g);
        p.grad = tensor(Float32Array.from(d.data), d.shape);
      });
      opt.step();
      const sd = opt.stateDict();
      states[s].forEach((want, i) => {
        const got = sd.state[i];
        if (want === null) { assert.equal(got, null, `${c.name} step ${s} param ${i}: state should be empty`); return; }
        assert.ok(got !== null, `${c.name} step ${s} param ${i}: state missing`);
        for (const [k, v] of Object.entries(want)) {
          if (k === 'step') { assert.equal(got.step, Number(typeof v === 'object' ? decodeTensor(v).data[0] : v), `${c.name} step ${s} param ${i}: step`); continue; }
          if (v === null) continue;
          const e = decodeTensor(v).data;
          const a = got.buffers[BUFFER_NAMES[k] ?? k];
          assert.ok(a, `${c.name}: buffer ${k} missing`);
          for (let j = 0; j < e.length; j++) {
            assert.ok(isClose(a[j], e[j], c.tolerance), `${c.name} step ${s} param ${i} ${k}[${j}]: ${a[j]} vs ${e[j]}`);
          }
          checked++;
        }
      });
    });
  }
  assert.ok(checked > 50, `only ${checked} state buffers checked`);
});
