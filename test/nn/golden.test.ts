// The shared golden cases of layer_norm, rms_norm, batch_norm1d and dropout, plus synthetic cases in
// the same format for edge cases (n = 1 error, large values, p = 1, several normalised dims), whose
// expected values are computed here in float64 from the README's formulas.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { formatGoldenSummary, runGoldenFolder } from '../../src/golden/run.js';
import { goldenDir } from '../golden/paths.js';

const KINDS = ['layer_norm', 'rms_norm', 'batch_norm1d', 'dropout'];
const tmp = mkdtempSync(path.join(tmpdir(), 'nn-golden-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A golden float32 tensor; non-finite values written as the README's strings. */
const enc = (v: number): number | string => (Number.isFinite(v) ? v : String(v));
const t32 = (shape: number[], data: number[]) => ({ dtype: 'float32', shape, data: data.map((v) => enc(Math.fround(v))) });
const t64 = (shape: number[], data: number[]) => ({ dtype: 'float64', shape, data });

describe('golden cases of the nn kinds', () => {
  test('shared cases all pass', () => {
    const s = runGoldenFolder(goldenDir(), { kinds: KINDS });
    assert.equal(s.failed, 0, formatGoldenSummary(s).join('\n'));
    for (const k of KINDS) assert.ok((s.perKind[k]?.passed ?? 0) > 0, `${k} ran`);
  });

  test('synthetic edge cases pass', () => {
    // rms_norm with values whose squares overflow float32.
    const x = [3e20, -4e20, 1, 2];
    const rms0 = Math.sqrt((9e40 + 16e40) / 2 + 1e-6), rms1 = Math.sqrt((1 + 4) / 2 + 1e-6);
    const w = [0.5, 2];
    const y = [x[0] / rms0 * w[0], x[1] / rms0 * w[1], x[2] / rms1 * w[0], x[3] / rms1 * w[1]];
    // layer_norm over two trailing dims [2, 2] without affine.
    const lx = [1, 2, 3, 6, -1, 0, 1, 4];
    const ly: number[] = [];
    for (let r = 0; r < 2; r++) {
      const row = lx.slice(r * 4, r * 4 + 4).map(Math.fround);
      const mu = row.reduce((a, b) => a + b) / 4;
      const v = row.reduce((a, b) => a + (b - mu) ** 2, 0) / 4;
      ly.push(...row.map((e) => (e - mu) / Math.sqrt(v + 1e-5)));
    }
    const files = {
      'rms_norm.json': { kind: 'rms_norm', cases: [{ name: 'rms_huge', kind: 'rms_norm', options: { eps: 1e-6 },
        inputs: { x: t32([2, 2], x), weight: t32([2], w) }, expected: { y: t64([2, 2], y) }, tolerance: { rtol: 1e-5, atol: 1e-6 } }] },
      'layer_norm.json': { kind: 'layer_norm', cases: [{ name: 'ln_two_dims', kind: 'layer_norm', options: { eps: 1e-5, normalized_shape: [2, 2] },
        inputs: { x: t32([2, 2, 2], lx) }, expected: { y: t64([2, 2, 2], ly) }, tolerance: { rtol: 1e-5, atol: 1e-6 } }] },
      'batch_norm1d.json': { kind: 'batch_norm1d', cases: [
        { name: 'bn_n1', kind: 'batch_norm1d', options: { training: true, momentum: 0.1, eps: 1e-5 },
          inputs: { x: t32([1, 2], [1, 2]), running_mean: t32([2], [0, 0]), running_var: t32([2], [1, 1]) },
          expected_error: 'Expected more than 1 value per channel when training' },
        { name: 'bn_n1_3d', kind: 'batch_norm1d', options: { training: true, momentum: 0.1, eps: 1e-5 },
          inputs: { x: t32([1, 2, 1], [1, 2]) }, expected_error: 'Expected more than 1 value per channel when training' },
        { name: 'bn_empty', kind: 'batch_norm1d', options: { training: true, momentum: 0.1, eps: 1e-5 },
          inputs: { x: t32([0, 2], []), weight: t32([2], [2, 3]), bias: t32([2], [1, 1]), running_mean: t32([2], [0.5, 1]), running_var: t32([2], [2, 3]) },
          expected: { y: t64([0, 2], []), running_mean: t64([2], [0.5, 1]), running_var: t64([2], [2, 3]) },
          primary_output: 'y', grad_output: t64([0, 2], []), grads: { x: t64([0, 2], []), weight: t64([2], [0, 0]), bias: t64([2], [0, 0]) } },
        { name: 'bn_no_running_stats', kind: 'batch_norm1d', options: { training: true, momentum: 0.1, eps: 1e-5 },
          inputs: { x: t32([2, 1], [1, 3]) }, expected: { y: t64([2, 1], [-1 / Math.sqrt(1 + 1e-5), 1 / Math.sqrt(1 + 1e-5)]) },
          tolerance: { rtol: 1e-5, atol: 1e-6 } },
      ] },
      'dropout.json': { kind: 'dropout', cases: [
        { name: 'p1', kind: 'dropout', options: { p: 1, training: true }, inputs: { x: t32([3], [1, -2, Infinity]) },
          expected: { y: t64([3], [0, 0, 0]) }, primary_output: 'y', grad_output: t64([3], [1, 1, 1]), grads: { x: t64([3], [0, 0, 0]) } },
        { name: 'p0', kind: 'dropout', options: { p: 0, training: true }, inputs: { x: t32([2], [1.5, -2]) },
          expected: { y: t64([2], [1.5, -2]) }, primary_output: 'y', grad_output: t64([2], [3, 4]), grads: { x: t64([2], [3, 4]) } },
        { name: 'prop_p0.25', kind: 'dropout', property: true, options: { p: 0.25, training: true },
          input_spec: { x: { fill: 2.0, shape: [50000] }, grad_output: { fill: 0.5, shape: [50000] } },
          checks: [{ check: 'values_in_set', scale: 4 / 3, rtol: 1e-6 }, { check: 'zero_fraction', expected: 0.25, abs_tol: 6 * Math.sqrt(0.25 * 0.75 / 50000) },
            { check: 'mean_ratio', expected: 1, abs_tol: 6 * Math.sqrt(0.25 / 0.75 / 50000) }, { check: 'grad_uses_same_mask', scale: 4 / 3, rtol: 1e-6 }] },
      ] },
    };
    const dir = path.join(tmp, 'synthetic');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), JSON.stringify(content));
    const s = runGoldenFolder(dir);
    assert.equal(s.failed, 0, formatGoldenSummary(s).join('\n'));
    assert.equal(s.passed, 9);
  });
});
