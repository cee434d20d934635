/** The task objective against values computed by hand in float64. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import * as T from '../../src/tensor/index.js';
import { checkObjective, classObjective } from '../../src/tasks/objective.js';

const rows = [[1, 2, 0.5], [-1, 0, 3]];
const target = [1, 2];
const lse = rows.map((r) => Math.log(r.reduce((a, x) => a + Math.exp(x), 0)));
const ce = (lse[0] - rows[0][1] + lse[1] - rows[1][2]) / 2;
const z = (lse[0] ** 2 + lse[1] ** 2) / 2;

function close(a: number, b: number, tol = 1e-5): void {
  assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${a} vs ${b}`);
}

test('ce, zLoss and l2 terms, and their weighted total', () => {
  const logits = T.tensor(rows.flat(), [2, 3]).requiresGrad_();
  const w = T.tensor([0.5, -2, 1, 0], [2, 2]);
  const bias = T.tensor([100, 100], [2]); // 1-D: left out of the penalty
  const { loss, terms } = classObjective(logits, T.tensor(Int32Array.from(target), [2]), { ce: 1, zLoss: 1e-2, l2: 0.1 }, { params: [w, bias] });
  close(terms.ce, ce);
  close(terms.zLoss, z);
  close(terms.l2, (0.25 + 4 + 1) / 2); // ½·Σw² (the half convention: gradient w)
  close(loss.item(), ce + 1e-2 * z + 0.1 * 2.625);
});

test('ignored targets carry no loss; label smoothing mixes in the uniform target', () => {
  const logits = T.tensor(rows.flat(), [2, 3]);
  const { terms } = classObjective(logits, T.tensor(Int32Array.from([1, -100]), [2]), { ce: 1 });
  close(terms.ce, lse[0] - rows[0][1]);
  const eps = 0.1;
  const smooth = classObjective(logits, T.tensor(Int32Array.from(target), [2]), { ce: 1 }, { labelSmoothing: eps }).terms.ce;
  const uniform = rows.map((r, i) => lse[i] - r.reduce((a, x) => a + x, 0) / 3);
  close(smooth, (1 - eps) * ce + eps * (uniform[0] + uniform[1]) / 2);
});

test('unknown terms and all-zero weights are config errors naming the field', () => {
  assert.throws(() => checkObjective({ ce: 1, zloss: 1 }), (e: unknown) => e instanceof ConfigError && /^objective\.zloss: unknown term/.test((e as Error).message));
  assert.throws(() => checkObjective({ ce: 0 }), /^ConfigError: objective: needs at least one term with a weight > 0, e\.g\. \{ "ce": 1 \} \(got \{"ce":0\}\)/);
  assert.throws(() => classObjective(T.zeros([1, 2]), T.tensor(Int32Array.from([0]), [1]), { l2: 1 }), /objective\.l2: this task does not provide parameters/);
});
