/**
 * `trainformer lr-find --config <file> [--startLr 1e-7] [--endLr 10] [--numSteps 200]
 *  [--rule minimum|minimum/10|steepest|valley] [--<field> <value> …]`: the learning-rate range test
 * (src/train/stability/lr-find.ts) on the task, model and optimizer of a training config. Writes
 * `<outputDir>/lr_find.jsonl` and the report (report.html with the loss-versus-lr curve), and prints
 * the suggested learning rate with the rule that picked it.
 */
import { relative } from 'node:path';
import { ConfigError } from '../errors.js';
import { createTask } from '../tasks/index.js';
import { parseConfig } from '../train/config.js';
import { writeReport } from '../report/index.js';
import { runLrFind } from '../train/stability/lr-find-run.js';
import type { LrRule } from '../train/stability/lr-find.js';
import { loadRawConfig, locateConfigError, locateTaskError } from './config-file.js';

export interface LrFindFlags {
  config: string;
  startLr?: string;
  endLr?: string;
  numSteps?: string;
  rule?: string;
}

const RULES: readonly LrRule[] = ['minimum', 'minimum/10', 'steepest', 'valley'];

function flagNumber(v: string | undefined, name: string, int = false): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0 || (int && !Number.isInteger(x))) throw new ConfigError(`--${name}: must be a positive ${int ? 'integer' : 'number'} (got ${JSON.stringify(v)})`);
  return x;
}

function fmt(x: number): string {
  return Number(x.toPrecision(3)).toExponential();
}

function rel(p: string): string {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}

/** Runs the command; `rest` holds the config-field overrides. */
export async function lrFindCommand(f: LrFindFlags, rest: string[]): Promise<void> {
  const rule = (f.rule ?? 'minimum') as LrRule;
  if (!RULES.includes(rule)) throw new ConfigError(`--rule: must be one of ${RULES.join(', ')} (got ${JSON.stringify(f.rule)})`);
  const startLr = flagNumber(f.startLr, 'startLr');
  const endLr = flagNumber(f.endLr, 'endLr');
  const numSteps = flagNumber(f.numSteps, 'numSteps', true);
  if (startLr !== undefined && endLr !== undefined && endLr <= startLr) throw new ConfigError(`--endLr: must be > --startLr (${startLr}) (got ${endLr})`);
  const raw = loadRawConfig(f.config, rest).raw;
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(raw);
  } catch (e) {
    throw locateConfigError(e, f.config, rest); // a flag's value named by the flag, a file's by its line
  }
  let task: Awaited<ReturnType<typeof createTask>>;
  try {
    task = await createTask(config);
  } catch (e) {
    throw locateTaskError(e, config, f.config, rest); // as train's: a data file's problem names its field
  }
  const steps = numSteps ?? 200;
  process.stderr.write(`lr-find: ${config.task}, up to ${steps} steps from lr ${fmt(startLr ?? 1e-7)} to ${fmt(endLr ?? 10)}\n`);
  const tty = process.stderr.isTTY === true;
  const r = runLrFind(config, task, {
    startLr, endLr, numSteps, rule,
    onStep: (i, lr, loss) => {
      if (tty) process.stderr.write(`\r  step ${i + 1}/${steps}  lr ${fmt(lr)}  loss ${loss.toFixed(4)}   `);
      else if ((i + 1) % 25 === 0) process.stderr.write(`  step ${i + 1}/${steps}  lr ${fmt(lr)}  loss ${loss.toFixed(4)}\n`);
    },
  });
  if (tty) process.stderr.write('\n');
  const last = r.points[r.points.length - 1];
  const why = r.stoppedBy === 'end' ? 'reached endLr' : r.stoppedBy === 'diverged' ? `smoothed loss passed 4x its minimum at lr ${fmt(last.lr)}` : `loss not finite after lr ${fmt(last.lr)}`;
  const out = process.stdout;
  out.write(`sweep: ${r.points.length} steps, ${why}\n`);
  out.write(`suggested learning rate: ${fmt(r.suggestedLr)} (rule: ${r.ruleText})\n`);
  if (rule === 'minimum' && config.warmupSteps === 0 && config.warmupRatio === 0) {
    out.write(`note: this config has no warmup; the minimum is the edge of stability for an untrained model, minimum/10 = ${fmt(r.suggestions['minimum/10'])} is the safer peak\n`);
  }
  out.write(`other rules: ${RULES.filter((x) => x !== rule).map((x) => `${x} ${fmt(r.suggestions[x])}`).join(', ')}\n`);
  out.write(`log:    ${rel(r.path)}\n`);
  try {
    const { html } = await writeReport(config.outputDir);
    out.write(`report: ${rel(html)}\n`);
  } catch (e) {
    process.stderr.write(`warning: report not written: ${(e as Error).message}\n`);
  }
}
