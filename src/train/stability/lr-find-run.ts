/**
 * The learning-rate range test on a real training setup: the task, model and optimizer a training
 * config builds, trained for up to `numSteps` steps (the Trainer's own step, train/step.ts: the same
 * accumulation and clipping) while the learning rate sweeps exponentially (src/train/stability/lr-find.ts).
 * Writes `<outputDir>/lr_find.jsonl` as it goes — `{lr, loss, smoothed}` per step, then
 * `{suggestedLr, rule, suggestions, stoppedBy}` — the format the run report reads
 * (src/report/parse-lr-find.ts). The model is left trained by the sweep: it is not a result.
 */
import * as fs from 'node:fs';
import { join, resolve } from 'node:path';
import { GradScaler } from '../../optim/grad-scaler.js';
import type { Task } from '../../tasks/types.js';
import type { TrainConfig } from '../config.js';
import { createOptimizer } from '../optimizer.js';
import { runTrainingStep } from '../step.js';
import { describeRule, lrFind, type LrFindOptions, type LrFindResult, type LrRule } from './lr-find.js';
import { ensureDir } from '../../io/ensure-dir.js';

export interface LrFindRunOptions extends LrFindOptions {
  /** Which suggestion to report (default 'minimum'). */
  rule?: LrRule;
  /** Called after each step (progress). */
  onStep?: (i: number, lr: number, loss: number) => void;
}

/** What `runLrFind` returns: the sweep, and where the log was written. */
export interface LrFindRun extends LrFindResult {
  path: string;
  /** The rule's one-line description. */
  ruleText: string;
}

/**
 * Runs the sweep on `task` with the optimizer of `config` and writes lr_find.jsonl.
 * @throws ValueError from lrFind (bad options; a loss not finite from the first steps).
 */
export function runLrFind(config: TrainConfig, task: Task, o: LrFindRunOptions = {}): LrFindRun {
  const dir = resolve(config.outputDir);
  ensureDir(dir, 'outputDir');
  const path = join(dir, 'lr_find.jsonl');
  // Written beside the target and renamed at the end: a failed sweep never clobbers an earlier lr_find.jsonl.
  const tmp = join(dir, `.lr_find.jsonl.${process.pid}.tmp`);
  const params = [...task.model.namedParameters()];
  const optimizer = createOptimizer(config, params);
  // The Trainer's step: counted-target accumulation, clipping; scaling off.
  const parts = { task, optimizer, scaler: new GradScaler({ enabled: false }), params, maxGradNorm: config.maxGradNorm };
  const lines: string[] = [];
  fs.writeFileSync(tmp, '');
  const num = (x: number) => (Number.isFinite(x) ? x : null);
  task.model.train();
  const step = (lr: number, i: number): number => {
    const batches = Array.from({ length: config.gradientAccumulationSteps }, () => task.nextBatch());
    optimizer.setLr(lr);
    const { loss } = runTrainingStep(parts, batches, (l) => (Number.isFinite(l.loss) ? {} : { skip: true }));
    o.onStep?.(i, lr, loss);
    return loss;
  };
  const rule = o.rule ?? 'minimum';
  let result: ReturnType<typeof lrFind>;
  const ruleText = describeRule(rule);
  try {
    result = lrFind(step, o, rule, (p) => {
      const line = JSON.stringify({ lr: p.lr, loss: num(p.loss), smoothed: num(p.smoothed) });
      lines.push(line);
      fs.appendFileSync(tmp, line + '\n');
    });
    fs.appendFileSync(tmp, JSON.stringify({ suggestedLr: result.suggestedLr, rule: ruleText, suggestions: result.suggestions, stoppedBy: result.stoppedBy }) + '\n');
    fs.renameSync(tmp, path);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return { ...result, path, ruleText };
}
