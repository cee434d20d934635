/**
 * Knowledge-distillation loss (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
 * Network", §2): T² · KL(p_T ‖ q_T), where p_T = softmax(teacher / T) and q_T = softmax(student / T)
 * are the temperature-softened distributions. The T² keeps the soft term's gradient on the scale of
 * the hard-label term as T changes (its gradient w.r.t. the student's logits is T · (q_T − p_T)).
 *
 * Composed from tensor ops: logSoftmax of both, then `klDiv(logQ, logP, { logTarget: true,
 * reduction: 'batchmean' })` — log-space targets, so a teacher probability that underflows float32 is
 * still exact — averaged over the rows that count (rows whose target is ignoreIndex are left out).
 *
 * Top-k teachers: with `teacher.indices` [N, K], the teacher is known only at those K classes of each
 * row (a cache of a large-vocabulary teacher keeps its K largest logits). Its distribution is then
 * softmax over the K logits / T — renormalised over the K, the rest taken as probability 0 — and the
 * student's log-probabilities (softmax over all C classes) are read at the same K classes. With K = C
 * this is the full divergence; with K < C it omits the terms of classes the teacher gives ~0, which
 * contribute p·log(p/q) ≈ 0.
 */
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import * as T from '../tensor/index.js';
import { klDiv } from './kl-div.js';

/** The teacher's side of the loss: its raw logits (before the temperature), all classes or top-k. */
export interface TeacherTargets {
  /** [N, C] float32 logits for every class, or [N, K] for the classes in `indices`. No gradient flows into it. */
  logits: T.Tensor;
  /** int32 [N, K]: the class of each column of `logits` (top-k); absent: column j is class j. */
  indices?: T.Tensor;
}

export interface DistillationLossOptions {
  /** Softmax temperature T > 0 applied to both sides (default 1). */
  temperature?: number;
  /** int32 [N]: rows whose target equals `ignoreIndex` (padding) are left out of the loss and the mean. */
  target?: T.Tensor;
  /** Default -100. */
  ignoreIndex?: number;
}

/**
 * T² · KL(softmax(teacher/T) ‖ softmax(student/T)) averaged over the counted rows ('batchmean').
 * @param student [N, C] float32 logits (gradient flows here).
 * @param teacher the teacher's logits (detached: it is read, never differentiated).
 * @returns scalar []; 0 (still attached to the student's graph) when no row counts.
 * @throws ValueError for a temperature that is not a positive finite number; ShapeError when the
 *   shapes disagree (named).
 */
export function distillationLoss(student: T.Tensor, teacher: TeacherTargets, options: DistillationLossOptions = {}): T.Tensor {
  const temp = options.temperature ?? 1;
  if (!(Number.isFinite(temp) && temp > 0)) throw new ValueError(`distillationLoss: temperature must be a positive number, got ${temp}`);
  if (student.ndim !== 2) throw new ShapeError(`distillationLoss: student logits must be [N, C], got ${fmtShape(student.shape)}`);
  const [N, C] = student.shape;
  const tl = teacher.logits.detach();
  if (tl.ndim !== 2 || tl.shape[0] !== N) throw new ShapeError(`distillationLoss: teacher logits must be [${N}, K], got ${fmtShape(tl.shape)}`);
  if (teacher.indices === undefined && tl.shape[1] !== C) {
    throw new ShapeError(`distillationLoss: teacher logits ${fmtShape(tl.shape)} and student logits ${fmtShape(student.shape)} have different classes (give indices for a top-k teacher)`);
  }
  if (teacher.indices !== undefined && (teacher.indices.ndim !== 2 || teacher.indices.shape[0] !== N || teacher.indices.shape[1] !== tl.shape[1])) {
    throw new ShapeError(`distillationLoss: teacher indices ${fmtShape(teacher.indices.shape)} must match teacher logits ${fmtShape(tl.shape)}`);
  }
  let s = student, t = tl, idx = teacher.indices;
  if (options.target !== undefined) {
    const ignore = options.ignoreIndex ?? -100;
    const tg = options.target.data();
    if (tg.length !== N) throw new ShapeError(`distillationLoss: target has ${tg.length} rows, logits ${N}`);
    const keep: number[] = [];
    for (let i = 0; i < N; i++) if (tg[i] !== ignore) keep.push(i);
    if (keep.length === 0) return T.mulScalar(T.sum(student), 0);
    if (keep.length < N) {
      const rows = T.tensor(Int32Array.from(keep), [keep.length], 'int32');
      s = T.indexSelect(student, rows);
      t = T.indexSelect(tl, rows);
      if (idx) idx = T.indexSelect(idx, rows);
    }
  }
  const scaled = (x: T.Tensor) => (temp === 1 ? x : T.mulScalar(x, 1 / temp));
  let logQ = T.logSoftmax(scaled(s), -1);
  if (idx) logQ = T.gather(logQ, 1, idx);
  const logP = T.noGrad(() => T.logSoftmax(scaled(t), -1));
  if (temp > STABLE_ABOVE && !idx) {
    // Large T: log p − log q is a difference of two ≈ −log C numbers, lost in float32 and then
    // multiplied by T² (T = 1e6 gave kd ≈ 3229; PyTorch's float32 kl_div is as far off). Rows whose
    // centred logit gap is small take the cancellation-free form; the others keep the direct one.
    const direct = T.sum(klDiv(logQ, logP, { reduction: 'none', logTarget: true }), -1);
    const { rows, small } = smallGapKl(s, t, temp);
    return T.mulScalar(T.sum(T.where(small, rows, direct)), (temp * temp) / s.shape[0]);
  }
  const kl = klDiv(logQ, logP, { reduction: 'batchmean', logTarget: true });
  return temp === 1 ? kl : T.mulScalar(kl, temp * temp);
}

/** Temperatures above which the cancellation-free form is used (below, T² · float32 rounding stays < 1e-5). */
const STABLE_ABOVE = 16;

/** 1/k! for k = 0..12: the Taylor coefficients of e^x. */
const INV_FACTORIAL = Array.from({ length: 13 }, (_, k) => 1 / Array.from({ length: k }, (_, i) => i + 1).reduce((a, b) => a * b, 1));

/** e^x − 1 − x for |x| ≤ 1 without cancellation: Σ_{k=2..12} x^k / k! (Horner; truncation < 2e-10 · x²). */
function expm1MinusX(x: T.Tensor): T.Tensor {
  let r = T.addScalar(T.mulScalar(x, INV_FACTORIAL[12]), INV_FACTORIAL[11]);
  for (let k = 10; k >= 2; k--) r = T.addScalar(T.mul(r, x), INV_FACTORIAL[k]);
  return T.mul(r, T.square(x));
}

/**
 * KL(softmax(t/T) ‖ softmax(s/T)) per row, in a form without the cancellation of the direct one:
 * with d = (t − s)/T centred under q = softmax(s/T) (so Σ q·d = 0) and h(x) = e^x − 1 − x,
 *   KL = Σ q·d·(d + h(d)) / (1 + m) − log1p(m),   m = Σ q·h(d)
 * (p = q·e^d / (1 + m); every term is O(d²), none the difference of two O(1) numbers). Exact for any
 * d; used where max |d| ≤ 1 (the series of h is accurate there, and e^d cannot overflow).
 * @param s [N, C] student logits; @param t [N, C] teacher logits (detached).
 * @returns rows [N] (the KL of each row, gradient to s) and small [N] (1 where the form applies, 0 elsewhere).
 */
function smallGapKl(s: T.Tensor, t: T.Tensor, temp: number): { rows: T.Tensor; small: T.Tensor } {
  const q = T.softmax(T.mulScalar(s, 1 / temp), -1);
  const d0 = T.mulScalar(T.sub(t, s), 1 / temp);
  const d = T.sub(d0, T.sum(T.mul(q, d0), -1, true));
  const small = T.noGrad(() => T.heaviside(T.rsubScalar(T.max(T.abs(d.detach()), -1), 1), 1));
  const dc = T.clamp(d, -1, 1); // rows outside the range are not used; clamped, they stay finite
  const h = expm1MinusX(dc);
  const m = T.sum(T.mul(q, h), -1);
  const first = T.div(T.sum(T.mul(q, T.mul(dc, T.add(dc, h))), -1), T.addScalar(m, 1));
  return { rows: T.sub(first, T.log1p(m)), small };
}
