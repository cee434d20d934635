/**
 * Golden handler for `lr_schedule` cases: input `num_steps` N, expected `lr` [N+1] with
 * lr[k] = `createSchedule(...).lrAt(k)`. Golden schedule and option names are mapped to
 * src/optim/schedules.ts; null options mean "not given".
 */
import { ValueError } from '../../errors.js';
import { SCHEDULE_TYPES, createSchedule, scheduleOptionNames, type ScheduleConfig, type ScheduleType } from '../../optim/schedules.js';
import { decodeNumber, registerKind } from '../registry.js';
import type { GoldenCase, HandlerResult } from '../types.js';

/** Golden `schedule` → our `type` (names not listed are the same on both sides). */
const SCHEDULE_NAMES: Record<string, string> = {
  linear_with_warmup: 'linear',
  cosine_with_warmup: 'cosine',
  polynomial_with_warmup: 'polynomial',
  cosine_with_hard_restarts: 'cosine_with_restarts',
  cosine_with_restarts_with_warmup: 'cosine_with_restarts',
  wsd: 'warmup_stable_decay',
};

/** Golden option → our option, where not simply snake_case → camelCase. */
const OPTION_NAMES: Record<string, string> = {
  schedule: 'type',
  num_warmup_steps: 'warmupSteps',
  warmup_steps: 'warmupSteps',
  warmup_iters: 'warmupSteps',
  warmup: 'warmupSteps',
  max_iters: 'numTrainingSteps',
};

function camel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
}

/**
 * Maps golden options to a {@link ScheduleConfig}. Options the schedule does not read are dropped
 * here (reference files may carry e.g. `num_training_steps` for every schedule), while
 * `createSchedule` itself rejects them to catch typos in user configs.
 */
export function scheduleConfigFromGolden(options: Record<string, unknown>): ScheduleConfig {
  const cfg: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v === null || v === undefined) continue;
    const key = OPTION_NAMES[k] ?? camel(k);
    if (key in cfg) throw new ValueError(`lr_schedule golden options: '${k}' duplicates option '${key}'`);
    cfg[key] = v;
  }
  if (typeof cfg.type === 'string') cfg.type = SCHEDULE_NAMES[cfg.type] ?? cfg.type;
  if ((SCHEDULE_TYPES as readonly unknown[]).includes(cfg.type)) {
    const known = new Set(scheduleOptionNames(cfg.type as ScheduleType));
    for (const key of Object.keys(cfg)) if (!known.has(key)) delete cfg[key];
  }
  return cfg as unknown as ScheduleConfig;
}

function lrScheduleCase(c: GoldenCase): HandlerResult {
  const n = decodeNumber(c.inputs.num_steps);
  if (!Number.isInteger(n) || n < 0) throw new ValueError(`lr_schedule: inputs.num_steps must be an integer >= 0, got ${n}`);
  const schedule = createSchedule(scheduleConfigFromGolden(c.options));
  const lr = new Float64Array(n + 1);
  for (let k = 0; k <= n; k++) lr[k] = schedule.lrAt(k);
  return { expected: { lr: { shape: [n + 1], data: lr } } };
}

registerKind('lr_schedule', lrScheduleCase);
