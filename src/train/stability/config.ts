/**
 * The `stability` block of the training config (issue 8). Everything has a default, so a config
 * without the block gets the guards on with these values:
 *
 * ```json
 * "stability": {
 *   "nanGuard":   { "enabled": true, "maxConsecutiveSkips": 10 },
 *   "divergence": { "lossFactor": 2, "window": 20 },
 *   "spikeGuard": { "enabled": true, "window": 50, "k": 6, "patience": 3, "skipBatches": 10,
 *                   "snapshotEvery": 50, "maxRollbacks": 5 },
 *   "gradStats":  { "enabled": true, "vanishingThreshold": 1e-7, "explodingThreshold": 1000,
 *                   "growthFactor": 10, "growthWindow": 20, "patience": 3,
 *                   "lowerLayers": null }
 * }
 * ```
 */
import { z } from 'zod';

const posInt = () => z.int().min(1);

/** Non-finite loss / gradient guard. */
export const NanGuardSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Turn this guard on or off'),
  /** Stop with TrainingDivergedError after this many optimizer steps in a row were skipped. */
  maxConsecutiveSkips: posInt().default(10).describe('Stop with TrainingDivergedError after this many optimizer steps in a row were skipped'),
});

/** Loss-spike guard: rollback to an in-memory snapshot and skip batches (PaLM, Chowdhery et al. 2022 §5.1). */
export const SpikeGuardSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Turn this guard on or off'),
  /** Number of recent good losses in the moving mean / standard deviation. */
  window: z.int().min(2).default(50).describe('Number of recent good losses in the moving mean / standard deviation'),
  /** A loss above mean + k·std of the window is above the bar. */
  k: z.number().gt(0).default(6).describe('A loss above mean + k·std of the window is above the bar'),
  /** This many consecutive losses above the bar make a spike (one is a hard batch, not a spike). */
  patience: posInt().default(3).describe('This many consecutive losses above the bar make a spike (one is a hard batch, not a spike)'),
  /** Batches skipped (read, not trained on) after a rollback. */
  skipBatches: z.int().min(0).default(10).describe('Batches skipped (read, not trained on) after a rollback'),
  /** Take an in-memory snapshot every this many good optimizer steps. */
  snapshotEvery: posInt().default(50).describe('Take an in-memory snapshot every this many good optimizer steps'),
  /** Stop with TrainingDivergedError after this many rollbacks to the same snapshot. */
  maxRollbacks: posInt().default(5).describe('Stop with TrainingDivergedError after this many rollbacks to the same snapshot'),
});

/** Per-layer statistics and vanishing / exploding gradient warnings. */
export const GradStatsSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Turn this guard on or off'),
  /** A lower layer whose gradient norm stays below this for `patience` logs is vanishing. */
  vanishingThreshold: z.number().min(0).default(1e-7).describe('A lower layer whose gradient norm stays below this for `patience` logs is vanishing'),
  /** A layer (or the whole model) whose gradient norm is above this is exploding. */
  explodingThreshold: z.number().gt(0).default(1000).describe('A layer (or the whole model) whose gradient norm is above this is exploding'),
  /** A layer whose gradient norm is more than this times its largest of the previous `growthWindow` steps is exploding. */
  growthFactor: z.number().gt(1).default(10).describe('A layer whose gradient norm is more than this times its largest of the previous `growthWindow` steps is exploding'),
  /** Steps the growth rule looks back over (and stays quiet for after a warning). */
  growthWindow: posInt().default(20).describe('Steps the growth rule looks back over (and stays quiet for after a warning)'),
  /** Consecutive logs below `vanishingThreshold` before the vanishing warning. */
  patience: posInt().default(3).describe('Consecutive logs below `vanishingThreshold` before the vanishing warning'),
  /** How many of the lowest numbered blocks the vanishing check watches; null: the lower half. */
  lowerLayers: posInt().nullable().default(null).describe('How many of the lowest numbered blocks the vanishing check watches; null: the lower half'),
});

/** A run whose loss ends far above its start fails (issue 19). */
export const DivergenceSchema = z.strictObject({
  /** A final training loss above this × the first step's loss ends the run with TrainingDivergedError; null: no check. */
  lossFactor: z.number().gt(1).nullable().default(2).describe("A final training loss above this times the first step's loss ends the run with TrainingDivergedError (exit 1); null: no check"),
  /** The final training loss is the mean of the last this many steps. */
  window: posInt().default(20).describe('The final training loss is the mean of the last this many steps'),
});

export const StabilitySchema = z.strictObject({
  nanGuard: NanGuardSchema.prefault({}),
  divergence: DivergenceSchema.prefault({}),
  spikeGuard: SpikeGuardSchema.prefault({}),
  gradStats: GradStatsSchema.prefault({}),
});

/** The validated stability block with every default filled in. */
export type StabilityConfig = z.infer<typeof StabilitySchema>;
export type StabilityConfigInput = z.input<typeof StabilitySchema>;

/** Validated defaults merged with `input` (tests and hand-written loops). */
export function stabilityConfig(input: StabilityConfigInput = {}): StabilityConfig {
  return StabilitySchema.parse(input);
}
