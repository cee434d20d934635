/**
 * The teacher of a classification student (distillation, issue 15): its logits for a training batch,
 * computed in eval mode without gradients — live, or read from the teacher-logit cache
 * (tasks/teacher-cache.ts), which is filled on first use with one pass over the training set.
 */
import { sequentialBatches, type ClassificationBatch, type EncodedClassificationExample } from '../data/index.js';
import { log } from '../logger.js';
import type { TeacherTargets } from '../losses/distillation.js';
import type { EncoderForSequenceClassification } from '../models/encoder.js';
import * as T from '../tensor/index.js';
import type { TaskConfig } from './config.js';
import type { TeacherSpec } from './distillation.js';
import { intTensor } from './tensors.js';
import { poolWindows } from './window-pool.js';
import { readTeacherCache, teacherCacheKey, topKRows, writeTeacherCache, type TeacherLogits } from './teacher-cache.js';

export class ClassificationTeacher {
  readonly temperature: number;
  private readonly model: EncoderForSequenceClassification;
  private cache: TeacherLogits | null = null;
  private readonly useCache: boolean;

  /**
   * @param augment the task's augmenter (null: data.augment off or with nothing enabled): when set,
   *   training examples change every epoch and
   *   the cache is not used (said once).
   */
  constructor(
    private readonly spec: TeacherSpec,
    private readonly trainSet: readonly EncodedClassificationExample[],
    private readonly config: TaskConfig,
    private readonly collate: (items: EncodedClassificationExample[]) => ClassificationBatch,
    augment: unknown,
  ) {
    this.model = spec.model as EncoderForSequenceClassification;
    this.model.eval();
    this.temperature = spec.temperature;
    this.useCache = spec.cacheFile !== undefined && !augment;
    if (spec.cacheFile !== undefined && augment) log.warn('warning: distillation.cache: not used, data.augment changes the training examples every epoch (the teacher runs on every batch)');
  }

  /** Teacher logits [B, K] of a batch, without gradients (the model in eval mode); windows of long documents pooled as the student's. */
  private forward(batch: ClassificationBatch): T.Tensor {
    const [R, L] = batch.shape;
    return T.noGrad(() => {
      const rows = this.model.forward(intTensor(batch.inputIds, [R, L]), { attentionMask: intTensor(batch.attentionMask, [R, L]) });
      return batch.windowCounts ? poolWindows(rows, batch.windowCounts, this.config.data.longDocuments?.pool ?? 'mean') : rows;
    });
  }

  /** The cache of the whole training set: read when its key matches, else computed and written. */
  private fill(): TeacherLogits {
    const file = this.spec.cacheFile!;
    const key = teacherCacheKey(this.spec.weightsSha256, this.trainSet, this.spec.cacheTopK);
    const hit = readTeacherCache(file, key);
    if (hit && hit.n === this.trainSet.length) return hit;
    const t0 = Date.now();
    let C = 0;
    const rows: Float32Array[] = [];
    for (const batch of sequentialBatches(this.trainSet, this.config.perDeviceEvalBatchSize, (it) => this.collate(it))) {
      T.scope(() => {
        const l = this.forward(batch);
        C = l.shape[1];
        rows.push(Float32Array.from(l.data() as Float32Array));
      });
    }
    const n = this.trainSet.length;
    const all = new Float32Array(n * C);
    let o = 0;
    for (const r of rows) { all.set(r, o); o += r.length; }
    let out: TeacherLogits = { n, k: C, logits: all };
    const k = this.spec.cacheTopK;
    if (k !== undefined && k < C) {
      const top = topKRows(all, n, C, k);
      out = { n, k, logits: top.values, indices: top.indices };
    }
    writeTeacherCache(file, key, out, k);
    log.info(`distillation: teacher logits of ${n} training examples cached in ${file} (${((Date.now() - t0) / 1000).toFixed(1)} s${hit ? '; the earlier cache was stale' : ''})`);
    return out;
  }

  /**
   * The teacher side of the kd term for `batch`.
   * @param indices the batch's training-set indices (from the loader): the cached rows; absent: live.
   */
  targets(batch: ClassificationBatch, indices: Int32Array | undefined): TeacherTargets {
    if (!this.useCache || indices === undefined) return { logits: this.forward(batch) };
    this.cache ??= this.fill();
    const { k, logits, indices: cls } = this.cache;
    const B = indices.length;
    const l = new Float32Array(B * k);
    const ix = cls ? new Int32Array(B * k) : undefined;
    for (let b = 0; b < B; b++) {
      const r = indices[b];
      l.set(logits.subarray(r * k, (r + 1) * k), b * k);
      if (ix && cls) ix.set(cls.subarray(r * k, (r + 1) * k), b * k);
    }
    return { logits: T.tensor(l, [B, k]), indices: ix ? T.tensor(ix, [B, k], 'int32') : undefined };
  }
}
