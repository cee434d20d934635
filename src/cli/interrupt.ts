/**
 * Ctrl-C (SIGINT) during `trainformer train` (and `eval`, `predict`, `generate`, `back-translate`,
 * which catch it from their start, checkpoint loading included, and stop between batches: see
 * {@link withInterrupt}). Hugging Face's Trainer stops on KeyboardInterrupt;
 * trainformer stops too, between optimizer steps or evaluation batches (JavaScript sees the signal there),
 * saves a checkpoint of the step it reached (atomic, as every checkpoint; none with saveStrategy
 * "no"), releases the run lock and exits 130 (128 + SIGINT, what a shell reports for a Ctrl-C) with
 * one line saying where it stopped and what was saved. A second Ctrl-C quits at once: the signal's
 * default action, which leaves the last complete checkpoint as it was.
 * `train` treats SIGTERM (docker stop, Slurm preemption, systemd) the same way, saying
 * `training stopped by SIGTERM at step …` and exiting 143 (128 + 15); a second SIGINT or SIGTERM
 * ends it at once.
 */
import { basename, relative } from 'node:path';
import { setImmediate as turnOfEventLoop } from 'node:timers/promises';
import type { TrainResult } from '../train/trainer.js';

/** Exit status of a run stopped by Ctrl-C. */
export const INTERRUPTED_EXIT_CODE = 130;

/** Exit status of a training stopped by SIGTERM (docker stop, Slurm preemption): 128 + 15. */
export const TERMINATED_EXIT_CODE = 143;

/** Exit status of a training stopped because its output pipe was closed (`| head`): 128 + 13 (SIGPIPE), as `yes | head` reports. */
export const BROKEN_PIPE_EXIT_CODE = 141;

/** The exit status for a stop by `by`: 130, 143 or 141. */
export function exitCodeOf(by: NodeJS.Signals): number {
  return by === 'SIGTERM' ? TERMINATED_EXIT_CODE : by === 'SIGPIPE' ? BROKEN_PIPE_EXIT_CODE : INTERRUPTED_EXIT_CODE;
}

/** How a stop by `by` is said: `interrupted`, `stopped by SIGTERM`, `stopped: its output pipe was closed`. */
export function stoppedWords(by: NodeJS.Signals, pipe: string = 'output'): string {
  return by === 'SIGINT' ? 'interrupted' : by === 'SIGPIPE' ? `stopped because its ${pipe} was closed (the reader of the pipe exited)` : `stopped by ${by}`;
}

/**
 * Thrown by a command stopped by Ctrl-C (train, eval): `main` prints its message and exits with
 * `exitCode` (130; 143 for a training stopped by SIGTERM).
 */
export class TrainingInterrupted extends Error {
  constructor(message: string, readonly exitCode: number = INTERRUPTED_EXIT_CODE) {
    super(message);
  }
}

/**
 * Catches the first SIGINT for the life of a training or an evaluation: aborts the returned signal and hands later
 * ones back to the default action (the process ends at once).
 * @returns the signal for `TrainerOptions.signal`, and `dispose` to stop listening.
 */
export function catchInterrupt(signals: readonly NodeJS.Signals[] = ['SIGINT']): { signal: AbortSignal; dispose: () => void; stop: (reason: NodeJS.Signals) => void } {
  const controller = new AbortController();
  const dispose = (): void => {
    for (const s of signals) process.removeListener(s, onSignal);
  };
  // The abort reason is the signal's name (`SIGINT`, `SIGTERM`): the line and exit status say which.
  const onSignal = (name: NodeJS.Signals): void => {
    dispose();
    controller.abort(name);
  };
  for (const s of signals) process.on(s, onSignal);
  // `stop('SIGPIPE')`: the stop of a closed output pipe (cli/broken-pipe.ts), as a first signal's.
  return { signal: controller.signal, dispose, stop: (reason) => { if (!controller.signal.aborted) onSignal(reason); } };
}

/**
 * Runs a command that loads a checkpoint and then works batch by batch (eval, predict, generate,
 * back-translate) with Ctrl-C caught from its start: before, a Ctrl-C while the checkpoint loaded
 * (or in the commands that never listened) ended the process with the signal's default action, no
 * line. `run` checks `signal` between its steps ({@link abortedMeanwhile}, runUnlessAborted) and
 * throws {@link TrainingInterrupted} with its one line.
 */
export async function withInterrupt<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const { signal, dispose } = catchInterrupt();
  try {
    return await run(signal);
  } finally {
    dispose();
  }
}

/**
 * Whether Ctrl-C was pressed while JavaScript ran without a turn of the event loop (loading a
 * checkpoint is synchronous). The signal's listener runs in libuv's poll phase; one setImmediate
 * may run in the check phase right after the poll phase under way, before any new poll (a Ctrl-C
 * during loading was not seen: test/cli/interrupt-commands.test.ts), the second runs after one.
 */
export async function abortedMeanwhile(signal: AbortSignal): Promise<boolean> {
  await turnOfEventLoop();
  await turnOfEventLoop();
  return signal.aborted;
}

/** A path as the lines say it: relative to the working directory when under it. */
export function rel(p: string): string {
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
export function interruptedLine(r: TrainResult, saveStrategy: string, by: NodeJS.Signals = 'SIGINT', pipe = 'output'): string {
  const at = `at step ${r.step} of ${r.totalSteps}${r.interruptedDuring ? ` during the ${r.interruptedDuring}` : ''}`;
  const head = by === 'SIGPIPE' ? `training stopped ${at}: its ${pipe} was closed (the reader of the pipe exited)` : `training ${stoppedWords(by)} ${at}`;
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
