// Golden cases of lr_schedule and precision_cast (../shared/golden) must all pass.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runGoldenFolder } from '../../src/golden/run.js';
import { goldenDir } from './paths.js';

for (const kind of ['lr_schedule', 'precision_cast']) {
  test(`golden ${kind}: every case passes`, () => {
    const s = runGoldenFolder(goldenDir(), { kinds: [kind] });
    assert.deepEqual(s.failures, []);
    assert.equal(s.failed, 0);
    assert.equal(s.skipped, 0);
    assert.ok(s.passed > 0, `no ${kind} case ran`);
    assert.deepEqual(Object.keys(s.perKind), [kind]);
  });
}
