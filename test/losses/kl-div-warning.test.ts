/**
 * klDiv's default reduction 'mean' is not the KL divergence (it divides by every element); as
 * PyTorch, trainformer says so once per process (issue 19), and 'batchmean' — sum / batch size, the
 * divergence per example — says nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import { klDiv } from '../../src/losses/index.js';
import { setLogger } from '../../src/logger.js';

test("klDiv warns once about reduction 'mean'; 'batchmean' is the per-example divergence", () => {
  const warnings: string[] = [];
  const prev = setLogger({ info: () => {}, warn: (m: string) => { warnings.push(m); } });
  try {
    // Two examples over three classes: p = target probabilities, input = log q.
    const p = [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]], q = [[0.3, 0.3, 0.4], [0.5, 0.25, 0.25]];
    const input = T.tensor(new Float32Array(q.flat().map(Math.log)), [2, 3]);
    const target = T.tensor(new Float32Array(p.flat()), [2, 3]);
    const kl = p.map((row, b) => row.reduce((a, pi, i) => a + pi * Math.log(pi / q[b][i]), 0));
    const bm = klDiv(input, target, { reduction: 'batchmean' }).item();
    assert.ok(Math.abs(bm - (kl[0] + kl[1]) / 2) < 1e-6, `batchmean ${bm} vs ${(kl[0] + kl[1]) / 2}`);
    assert.equal(warnings.length, 0, 'batchmean does not warn');
    const mean = klDiv(input, target).item();
    assert.ok(Math.abs(mean - (kl[0] + kl[1]) / 6) < 1e-6, 'mean divides by all 6 elements');
    klDiv(input, target, { reduction: 'mean' });
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /klDiv: reduction 'mean' .* not the KL divergence; use 'batchmean'/);
  } finally {
    setLogger(prev);
  }
});
