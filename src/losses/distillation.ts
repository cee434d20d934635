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
  const kl = klDiv(logQ, logP, { reduction: 'batchmean', logTarget: true });
  return temp === 1 ? kl : T.mulScalar(kl, temp * temp);
}
