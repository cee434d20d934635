/**
 * Training progress on stderr: a `cli-progress` bar on a terminal (step, loss, lr, tokens/s, ETA),
 * plain one-line records otherwise (CI logs, pipes), so logs stay readable without control codes.
 */
import cliProgress from 'cli-progress';

export interface ProgressValues {
  loss: number;
  lr: number;
  tokensPerSecond: number;
}

function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(digits) : x.toExponential(2);
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
