// The autocast golden cases (test/golden/fixtures/autocast, generated with PyTorch 1.13's
// torch.autocast('cpu', dtype=torch.bfloat16) by generate.py there): linear, causal attention and a
// GPT-2 block, forward and backward, on the active backend (npm test runs native and js). The
// runner holds each case to its stated tolerance; this test also holds every tensor to 3x the
// distance between PyTorch's bf16 result and the float64 one for that tensor (`informative`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import '../../src/golden/kinds/index.js';
import { getHandler } from '../../src/golden/registry.js';
import { runGoldenFolder } from '../../src/golden/run.js';
import type { GoldenCase, GoldenValue } from '../../src/golden/types.js';
import { repoRoot } from './paths.js';

const dir = path.join(repoRoot(), 'test', 'golden', 'fixtures', 'autocast');
const KINDS = ['autocast_linear', 'autocast_attention', 'autocast_gpt_block'];

test('autocast golden cases pass to their tolerances', () => {
  const s = runGoldenFolder(dir);
  for (const k of KINDS) {
    assert.ok(s.perKind[k] && s.perKind[k]!.passed >= 2, `${k}: ${JSON.stringify(s.perKind[k])}`);
    assert.equal(s.perKind[k]!.failed, 0, `${k}: ${JSON.stringify(s.failures.filter((f) => f.kind === k).slice(0, 2))}`);
  }
});

const data = (v: unknown): number[] => ((v as { data: unknown[] }).data).map(Number);

for (const kind of KINDS) {
  test(`${kind}: every tensor within 3x PyTorch's own bf16 error for it`, () => {
    const doc = JSON.parse(readFileSync(path.join(dir, `${kind}.json`), 'utf8')) as { cases: GoldenCase[] & { informative: { max_abs_bf16_vs_f64: Record<string, number> } }[] };
    for (const c of doc.cases as unknown as (GoldenCase & { informative: { max_abs_bf16_vs_f64: Record<string, number> } })[]) {
      const r = getHandler(kind)!({ ...c, options: c.options ?? {} });
      const bound = c.informative.max_abs_bf16_vs_f64;
      const check = (name: string, got: GoldenValue | undefined, want: unknown) => {
        const g = Array.from((got as { data: ArrayLike<number> }).data), w = data(want);
        const worst = Math.max(...g.map((x, i) => Math.abs(x - w[i]!)));
        assert.ok(worst <= 3 * bound[name]!, `${c.name} ${name}: max |trainformer - PyTorch| ${worst} > 3 x ${bound[name]}`);
      };
      check('y', r.expected!.y, c.expected!.y);
      for (const k of Object.keys(c.grads!)) check(`grad.${k}`, r.grads![k], c.grads![k]);
    }
  });
}
