// The loss kinds of the shared golden set, and the PyTorch-generated cases of fixtures/edge (NaN /
// ±inf, everything ignored, empty inputs, errors; fixtures/make_edge_cases.py) and fixtures/random
// (random options with non-finite values sprinkled in; fixtures/make_random_cases.py).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runGoldenFolder } from '../../src/golden/run.js';
import { goldenDir, repoRoot } from '../golden/paths.js';

const KINDS = ['cross_entropy', 'z_loss', 'nll_loss', 'bce_with_logits', 'mse_loss', 'l1_loss', 'smooth_l1_loss',
  'huber_loss', 'kl_div', 'regularization'];

const fixtures = path.join(repoRoot(), 'test/losses/fixtures');
for (const [label, dir] of [['shared golden', goldenDir()], ['edge fixtures', path.join(fixtures, 'edge')], ['random fixtures', path.join(fixtures, 'random')]]) {
  test(`${label}: every case of the loss kinds passes`, () => {
    const s = runGoldenFolder(dir, { kinds: KINDS });
    assert.deepEqual(s.failures, []);
    assert.equal(s.failed, 0);
    assert.equal(s.skipped, 0);
    for (const k of KINDS) if (k !== 'regularization' || !dir.endsWith('random')) assert.ok((s.perKind[k]?.passed ?? 0) > 0, `no ${k} case ran in ${dir}`);
  });
}
