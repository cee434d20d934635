/**
 * Classification metrics from integer predictions and labels: accuracy and macro-F1 (the unweighted
 * mean over classes of F1 = 2·P·R / (P + R), scikit-learn's `f1_score(average='macro')`; classes
 * that appear neither in the labels nor in the predictions are left out, and a class with no
 * predicted or no true examples has F1 0 — sklearn's `zero_division=0`).
 */

/** Fraction of positions where `pred[i] === label[i]`; NaN for empty input. */
export function accuracy(pred: ArrayLike<number>, label: ArrayLike<number>): number {
  let ok = 0;
  for (let i = 0; i < label.length; i++) if (pred[i] === label[i]) ok++;
  return label.length === 0 ? NaN : ok / label.length;
}

/** Macro-averaged F1 over the classes present in `label` or `pred`; NaN for empty input. */
export function macroF1(pred: ArrayLike<number>, label: ArrayLike<number>): number {
  const tp = new Map<number, number>(), fp = new Map<number, number>(), fn = new Map<number, number>();
  const inc = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1);
  const classes = new Set<number>();
  for (let i = 0; i < label.length; i++) {
    const p = pred[i], y = label[i];
    classes.add(p);
    classes.add(y);
    if (p === y) inc(tp, y);
    else { inc(fp, p); inc(fn, y); }
  }
  if (classes.size === 0) return NaN;
  let sum = 0;
  for (const c of classes) {
    const t = tp.get(c) ?? 0, f1d = 2 * t + (fp.get(c) ?? 0) + (fn.get(c) ?? 0);
    sum += f1d === 0 ? 0 : (2 * t) / f1d;
  }
  return sum / classes.size;
}

/** Row-wise argmax of a [N, C] row-major array. */
export function argmaxRows(x: ArrayLike<number>, n: number, c: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0, bv = -Infinity;
    for (let j = 0; j < c; j++) {
      const v = x[i * c + j];
      if (v > bv) { bv = v; best = j; }
    }
    out[i] = best;
  }
  return out;
}
