/**
 * Vectorised row kernels for the common cross-entropy case — float32 logits, class-index targets,
 * one class vector per row (inner = 1), no class weights, no label smoothing, no z-loss — built on
 * the backend's softmax / unary kernels instead of class-kernel.ts's float64 JS loops. They compute
 * the same quantities (formulas in class-kernel.ts) with float32 row arithmetic:
 *   lp = log_softmax(x);  nll_r = −lp[y_r];  L_r = x[y_r] − lp[y_r] (the row log-sum-exp);
 *   dx = a·(exp(lp) − onehot(y))  for a row that counts, 0 for an ignored row.
 * Used by fusedLinearCrossEntropy on the native backend, where the JS loops' Math.exp over
 * [chunk, V] logits cost as much as the GEMMs.
 */
import type { Backend, FloatArray } from '../backend/backend.js';
import type { ClassSpec, RowTerms } from './class-kernel.js';

/** Whether the fast kernels apply to this problem (see the file comment). */
export function fastRowsApply(be: Backend, x: FloatArray, spec: ClassSpec, terms: RowTerms): boolean {
  return be.name === 'native' && x instanceof Float32Array && spec.inner === 1 && spec.logits
    && spec.weight === null && spec.eps === 0 && terms.zlse === null && terms.smooth === null;
}

/**
 * Forward over rows k = 0 … n−1 of x [n, C] (targets t[tOff + k]): writes lse, nll and wy at
 * termOff + k as forwardRows does, and leaves the log-softmax of each row in x (overwritten).
 * A row with NaN or +inf, or only −inf, gets NaN lse (and NaN nll when it counts), as forwardRows.
 */
export function fastForwardRows(be: Backend, x: Float32Array, C: number, t: Int32Array, tOff: number, n: number,
  ignoreIndex: number, out: RowTerms, termOff = tOff): void {
  // x at one column per row (the target, or column 0 for an ignored row), read before the log-softmax
  // overwrites it: L = x_c − lp_c.
  const xc = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const y = t[tOff + k];
    xc[k] = x[k * C + (y === ignoreIndex ? 0 : y)];
  }
  be.softmax(x, x, n, C, true);
  for (let k = 0; k < n; k++) {
    const y = t[tOff + k], ti = termOff + k;
    const valid = y !== ignoreIndex;
    const lp = C > 0 ? x[k * C + (valid ? y : 0)] : NaN;
    out.lse[ti] = xc[k] - lp;
    out.wy[ti] = valid ? 1 : 0;
    out.nll[ti] = valid ? -lp : 0;
  }
}

/**
 * Backward for a constant NLL factor `a` (reduction 'mean' or 'sum'; class-kernel.ts's f.a), over
 * rows holding the log-softmax left by fastForwardRows: overwrites x [n, C] in place with
 * dx = a·(softmax − onehot(y)), and 0 on ignored rows (NaN where the row is NaN).
 */
export function fastUnitBackwardRows(be: Backend, x: Float32Array, C: number, t: Int32Array, tOff: number, n: number,
  ignoreIndex: number, a: number): void {
  be.unary('exp', x, x, n * C);
  // Scale runs of consecutive rows alike: a on rows that count, 0 on ignored rows (0 − p·0 as
  // backwardRows, so a NaN row stays NaN and an infinite a — no row counts — never reaches them).
  for (let k0 = 0; k0 < n;) {
    const ign = t[tOff + k0] === ignoreIndex;
    let k1 = k0 + 1;
    while (k1 < n && (t[tOff + k1] === ignoreIndex) === ign) k1++;
    const run = x.subarray(k0 * C, k1 * C);
    be.unary('mulScalar', run, run, (k1 - k0) * C, ign ? 0 : a);
    if (!ign) for (let k = k0; k < k1; k++) x[k * C + t[tOff + k]] -= a;
    k0 = k1;
  }
}
