/**
 * Runs one golden case through its handler and judges the result (rules: golden_api.md and
 * ../shared/golden/README.md).
 */
import { compareValue } from './compare.js';
import type { GoldenCase, HandlerResult, KindHandler } from './types.js';

/** Outcome of one case: null message = passed. */
export interface CaseVerdict {
  passed: boolean;
  /** Why it failed (first mismatch or the handler's exception). */
  message?: string;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** Judges a property case's self-reported checks against the checks the case lists. */
function judgeChecks(c: GoldenCase, result: HandlerResult): string | null {
  const reported = result.checks ?? [];
  if (!Array.isArray(reported)) return 'checks: the handler returned a non-list';
  for (const want of c.checks ?? []) {
    const name = String(want.check ?? '');
    if (!reported.some((r) => r.name === name)) return `checks: check '${name}' not reported by the handler`;
  }
  const failed = reported.find((r) => !r.passed);
  if (failed) return `checks: '${failed.name}' failed${failed.detail ? ` (${failed.detail})` : ''}`;
  return null;
}

/**
 * Runs `handler` on `c`:
 * - `expected_error` cases pass when the handler throws, fail when it returns;
 * - otherwise a thrown exception is a failure (its message shown), and every key of
 *   `c.expected` / `c.grads` must be present in the result and agree under the comparison rule;
 * - property cases (`checks`) pass when every listed check is reported and every reported check passed.
 */
export function judgeCase(c: GoldenCase, handler: KindHandler): CaseVerdict {
  let result: HandlerResult;
  try {
    result = handler(c);
  } catch (err) {
    if (c.expected_error !== undefined) return { passed: true };
    return { passed: false, message: `handler threw ${errorText(err)}` };
  }
  if (c.expected_error !== undefined) {
    return { passed: false, message: `expected an error (PyTorch: ${JSON.stringify(c.expected_error)}) but the handler returned` };
  }
  if (typeof result !== 'object' || result === null) {
    return { passed: false, message: `handler returned ${String(result)} instead of {expected, grads, checks}` };
  }
  const tol = c.tolerance ?? { rtol: 1e-5, atol: 1e-6 };
  let compared = false;
  try {
    for (const part of ['expected', 'grads'] as const) {
      const want = c[part];
      if (want === undefined || want === null) continue;
      compared = true;
      const got = result[part];
      if (got === undefined || got === null) {
        const firstKey = Object.keys(want)[0];
        if (firstKey === undefined) continue;
        return { passed: false, message: `${part}.${firstKey}: missing (the handler returned no ${part})` };
      }
      const m = compareValue(want, got, tol, part);
      if (m !== null) return { passed: false, message: m };
    }
  } catch (err) {
    return { passed: false, message: `cannot compare: ${errorText(err)}` };
  }
  if (c.property === true || c.checks !== undefined || result.checks !== undefined) {
    compared = true;
    const m = judgeChecks(c, result);
    if (m !== null) return { passed: false, message: m };
  }
  if (!compared) return { passed: false, message: 'case has nothing to compare (no expected, grads, checks or expected_error)' };
  return { passed: true };
}
