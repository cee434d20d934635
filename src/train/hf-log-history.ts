/**
 * `log_history` of trainer_state.json as Hugging Face's Trainer writes it, from trainformer's metrics
 * records (train/metrics.ts): a train line becomes `{ loss, grad_norm, learning_rate, epoch, step }`,
 * an evaluation `{ eval_<metric>…, epoch, step }` (Hugging Face prefixes every evaluation metric with
 * `eval_`); events, per-layer statistics and wall-clock fields are left out. Non-finite numbers
 * become null (JSON has no NaN). Tools that read Hugging Face runs (plots of `log_history`) read
 * these; trainformer itself resumes from its own records (`logHistory`).
 */
import type { MetricsRecord } from './metrics.js';

const finite = (v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? null : v);

/** One metrics record in Hugging Face's form, or null when it is not a train or eval line. */
export function toHfLogEntry(r: MetricsRecord): Record<string, unknown> | null {
  if (r.split === 'train') {
    const e: Record<string, unknown> = { loss: finite(r.loss) };
    if (r.gradNorm !== undefined) e.grad_norm = finite(r.gradNorm);
    if (r.lr !== undefined) e.learning_rate = r.lr;
    e.epoch = r.epoch;
    e.step = r.step;
    return e;
  }
  if (r.split === 'eval') {
    const e: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === 'number' && !['step', 'epoch', 'time', 'elapsed'].includes(k)) e[`eval_${k}`] = finite(v);
    }
    e.epoch = r.epoch;
    e.step = r.step;
    return e;
  }
  return null;
}

/** The Hugging Face `log_history` of a run's records. */
export function toHfLogHistory(records: readonly MetricsRecord[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const r of records) {
    const e = toHfLogEntry(r);
    if (e) out.push(e);
  }
  return out;
}
