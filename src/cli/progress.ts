/**
 * Training progress on stderr: a `cli-progress` bar on a terminal (step, loss, lr, tokens/s, ETA),
 * plain one-line records otherwise (CI logs, pipes), so logs stay readable without control codes.
 * `ProgressCallback` drives it from the Trainer's hooks; `progressLogger` prints the library's
 * messages above the bar instead of through it.
 */
import cliProgress from 'cli-progress';
import type { Logger } from '../logger.js';
import type { StepEndInfo, TrainerCallback, TrainerControl } from '../train/callbacks.js';
import type { MetricsRecord } from '../train/metrics.js';
import type { EvalMetrics } from '../tasks/types.js';

export interface ProgressValues {
  loss: number;
  lr: number;
  tokensPerSecond: number;
}

function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  // Exponent form outside [1e-3, 1e6): toFixed prints all of a huge lr's 17 digits.
  return x === 0 || (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6) ? x.toFixed(digits) : x.toExponential(2);
}

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private readonly tty: boolean;
  private readonly started = Date.now();

  /**
   * @param total optimizer steps of the run.
   * @param start steps already done (on resume).
   */
  constructor(private readonly total: number, start: number, disabled: boolean, private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = !disabled && out.isTTY === true;
    if (this.tty) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: out,
          format: 'train |{bar}| {value}/{total} | loss {loss} | lr {lr} | {tps} tok/s | ETA {eta_formatted}',
          hideCursor: true,
          etaBuffer: 50,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, start, { loss: '-', lr: '-', tps: '-' });
    }
  }

  /** Called after each optimizer step; `values` only on logging steps. */
  update(step: number, values?: ProgressValues): void {
    if (this.bar) {
      this.bar.update(step, values ? { loss: fmt(values.loss), lr: fmt(values.lr, 6), tps: Math.round(values.tokensPerSecond) } : {});
    } else if (values) {
      const el = (Date.now() - this.started) / 1000;
      this.out.write(`step ${step}/${this.total} | loss ${fmt(values.loss)} | lr ${fmt(values.lr, 6)} | ${Math.round(values.tokensPerSecond)} tok/s | ${el.toFixed(0)}s\n`);
    }
  }

  /** A message that must not be overwritten by the bar. */
  message(line: string): void {
    if (this.bar) {
      this.bar.stop();
      this.out.write(line + '\n');
      const v = (this.bar as unknown as { value: number }).value;
      this.bar.start(this.total, v);
    } else {
      this.out.write(line + '\n');
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/** The progress bar as a Trainer callback (Hugging Face's ProgressCallback). */
export class ProgressCallback implements TrainerCallback {
  private bar: Progress | null = null;

  /**
   * @param describe one-line summary of an evaluation's metrics: each evaluation during training
   *   prints `eval at step s/N: <summary>` (Hugging Face prints every evaluation's metrics; the
   *   final one is the command's own summary line). Absent: evaluations print nothing.
   */
  constructor(private readonly disabled: boolean, private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly describe?: (m: EvalMetrics) => string) {}

  /** The bar while training runs (messages must go through it). */
  get active(): Progress | null {
    return this.bar;
  }

  onTrainBegin(t: TrainerControl): void {
    this.bar = new Progress(t.totalSteps, t.step, this.disabled, this.out);
  }

  onStepEnd(_t: TrainerControl, info: StepEndInfo): void {
    this.bar?.update(info.step);
  }

  onLog(_t: TrainerControl, rec: MetricsRecord): void {
    this.bar?.update(rec.step as number, { loss: rec.loss as number, lr: rec.lr as number, tokensPerSecond: rec.tokensPerSecond as number });
  }

  onEvaluate(t: TrainerControl, m: EvalMetrics): void {
    if (this.describe && this.bar && t.step < t.totalSteps) this.bar.message(`eval at step ${t.step}/${t.totalSteps}: ${this.describe(m)}`);
  }

  onTrainEnd(): void {
    this.stop();
  }

  /** Ends the bar (also when training threw). */
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

/** A logger writing every message as a line to `out`, above the progress bar when one is showing. */
export function progressLogger(progress: ProgressCallback | null, out: NodeJS.WritableStream = process.stderr): Logger {
  const line = (m: string): void => {
    const bar = progress?.active;
    if (bar) bar.message(m);
    else out.write(`${m}\n`);
  };
  return { info: line, warn: line };
}
