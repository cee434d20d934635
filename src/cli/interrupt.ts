/**
 * Ctrl-C (SIGINT) during `trainformer train` (and `trainformer eval`, which stops between batches,
 * prints nothing and writes no --output). Hugging Face's Trainer stops on KeyboardInterrupt;
 * trainformer stops too, between optimizer steps or evaluation batches (JavaScript sees the signal there),
 * saves a checkpoint of the step it reached (atomic, as every checkpoint; none with saveStrategy
 * "no"), releases the run lock and exits 130 (128 + SIGINT, what a shell reports for a Ctrl-C) with
 * one line saying where it stopped and what was saved. A second Ctrl-C quits at once: the signal's
 * default action, which leaves the last complete checkpoint as it was.
 */
import { basename, relative } from 'node:path';
import type { TrainResult } from '../train/trainer.js';

/** Exit status of a run stopped by Ctrl-C. */
export const INTERRUPTED_EXIT_CODE = 130;

/** Thrown by a command stopped by Ctrl-C (train, eval): `main` prints its message and exits 130. */
export class TrainingInterrupted extends Error {}

/**
 * Catches the first SIGINT for the life of a training or an evaluation: aborts the returned signal and hands later
 * ones back to the default action (the process ends at once).
 * @returns the signal for `TrainerOptions.signal`, and `dispose` to stop listening.
 */
export function catchInterrupt(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = (): void => {
    process.removeListener('SIGINT', onSigint);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.removeListener('SIGINT', onSigint) };
}

function rel(p: string): string {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}

/**
 * The line said after an interrupted run:
 * `training interrupted at step 37 of 1000; step 37 is saved in runs/x/checkpoint-37 — continue with --resume`,
 * or `…; nothing saved (saveStrategy "no")`, or `…; nothing saved (no step was trained)`; during an
 * evaluation `training interrupted at step 5 of 5 during the final evaluation; step 5 is saved in
 * runs/x/checkpoint-5 — evaluate it with \`trainformer eval runs/x/checkpoint-5\``; during loadBestModelAtEnd's
 * evaluation `…; step 8 is saved in runs/x/checkpoint-8 — evaluate the best model with \`trainformer eval runs/x/checkpoint-4\``.
 */
export function interruptedLine(r: TrainResult, saveStrategy: string): string {
  const head = `training interrupted at step ${r.step} of ${r.totalSteps}${r.interruptedDuring ? ` during the ${r.interruptedDuring}` : ''}`;
  if (r.checkpoint !== null && basename(r.checkpoint) === `checkpoint-${r.step}`) {
    // Every step is trained: --resume would find nothing to train, the checkpoint can be evaluated.
    const next = r.interruptedDuring === 'evaluation of the best model' && r.bestCheckpoint
      ? `evaluate the best model with \`trainformer eval ${rel(r.bestCheckpoint)}\``
      : r.interruptedDuring === 'final evaluation' ? `evaluate it with \`trainformer eval ${rel(r.checkpoint)}\`` : 'continue with --resume';
    return `${head}; step ${r.step} is saved in ${rel(r.checkpoint)} — ${next}`;
  }
  if (saveStrategy === 'no') return `${head}; nothing saved (saveStrategy "no")`;
  return `${head}; nothing saved (no step was trained)`;
}
