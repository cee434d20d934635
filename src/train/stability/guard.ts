/**
 * `StabilityGuard`: the stability checks of one training run, in the order a training step needs
 * them (issue 8). The trainer (or any loop) calls, for each optimizer step:
 *
 * ```ts
 * guard.start(step0);                          // once: first snapshot
 * while (guard.takeSkipBatch()) task.nextBatch(); // after a rollback: read and drop S batches
 * // forward + backward (all micro-batches), unscale gradients
 * const d = guard.check(step, loss, { logStats }); // before clipping
 * if (d.action === 'step') { clip; optimizer.step(); guard.afterStep(logStep); }
 * else if (d.action === 'rollback') step = d.toStep;  // model, optimizer, extras already restored
 * optimizer.zeroGrad();
 * ```
 *
 * - Non-finite loss or gradient → `skip` (the optimizer must not run), a `skip` event; after
 *   `nanGuard.maxConsecutiveSkips` in a row, {@link TrainingDivergedError}.
 * - `spikeGuard.patience` consecutive losses above mean + k·std of the last `spikeGuard.window`
 *   accepted losses → `rollback` (one loss above it is a suspect: its update runs): parameters,
 *   optimizer state and extras (schedule, scaler) are restored from the in-memory snapshot taken
 *   every `spikeGuard.snapshotEvery` good steps, the next `skipBatches` batches are to be dropped,
 *   a `rollback` event is logged. A snapshot holds parameters that a good loss was just computed
 *   from (it is taken inside `check`, before the update), so it never holds an unvalidated update.
 * - Every step: the gradient norm of every layer group and of the whole model feeds the exploding
 *   detector (cheap: one pass over the gradients, which the non-finite check needs anyway).
 * - At logging steps: per-layer gradient norm, parameter norm and update ratio (a `{type:'layers'}`
 *   line) and the vanishing detector (K consecutive logs).
 */
import type { Tensor } from '../../tensor/index.js';
import { ValueError } from '../../errors.js';
import { TrainingDivergedError } from './errors.js';
import { type StabilityConfig, stabilityConfig, type StabilityConfigInput } from './config.js';
import { ExplodingDetector, type ExplodingState, type GradWarning, VanishingDetector } from './detectors.js';
import { layerGroupOf, lowerLayerGroups } from './layer-groups.js';
import { LayerStatsCollector, type LayerStat, TOTAL } from './layer-stats.js';
import { NanGuard, nonFiniteReason } from './nan-guard.js';
import { type SnapshotStore, type Stateful, TrainingSnapshot } from './snapshot.js';
import { LossSpikeDetector } from './spike.js';

/** A metrics.jsonl event line (src/report/parse-metrics.ts). */
export interface StabilityEvent {
  event: 'skip' | 'rollback' | 'warning';
  step: number;
  message: string;
  /** Warnings: 'vanishing' | 'exploding'. */
  kind?: string;
  /** Warnings: the layer groups (or 'total') concerned. */
  layers?: string[];
  [extra: string]: unknown;
}

/** A metrics.jsonl per-layer statistics line. */
export interface LayersRecord {
  type: 'layers';
  step: number;
  layers: LayerStat[];
}

/** What the loop does with the step. */
export type GuardDecision =
  | { action: 'step'; gradNorm: number }
  | { action: 'skip'; reason: 'loss' | 'gradients'; gradNorm: number }
  | { action: 'rollback'; toStep: number; skipBatches: number; gradNorm: number };

export interface StabilityGuardOptions {
  config?: StabilityConfig | StabilityConfigInput;
  /** Dotted names and parameters in model order. */
  namedParameters: Iterable<[string, Tensor]>;
  /** The optimizer (state dict with copied buffers); unused when `snapshot` is given. */
  optimizer?: Stateful;
  /** More parts rolled back with the model: schedule, grad scaler, trainer counters. */
  extras?: Record<string, Stateful>;
  /**
   * Where snapshots live; default: a {@link TrainingSnapshot} of the parameters, the optimizer and
   * `extras`. The Trainer passes its own (model, optimizer, schedule, data position, RNG).
   */
  snapshot?: SnapshotStore;
  /** Receives every event and layers line (write them to metrics.jsonl). */
  log?: (record: StabilityEvent | LayersRecord) => void;
  /** Receives a one-line text of every event (show it on the terminal). */
  print?: (line: string) => void;
  /** The newest checkpoint folder on disk, named in the divergence error. */
  lastCheckpoint?: () => string | null;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x);
}

export class StabilityGuard {
  readonly config: StabilityConfig;
  readonly nan: NanGuard;
  readonly spike: LossSpikeDetector;
  readonly stats: LayerStatsCollector;
  private readonly params: Tensor[];
  private readonly snapshot: SnapshotStore;
  private readonly vanishing: VanishingDetector;
  private readonly exploding: ExplodingDetector;
  private readonly log: (r: StabilityEvent | LayersRecord) => void;
  private readonly print: (line: string) => void;
  private readonly lastCheckpoint: () => string | null;
  private skipLeft = 0;
  private goodSteps = 0;
  private rollbacksToSnapshot = 0;
  /** Rollbacks in the run. */
  rollbacks = 0;
  /** Warnings raised in the run. */
  readonly warnings: GradWarning[] = [];

  constructor(o: StabilityGuardOptions) {
    this.config = stabilityConfig((o.config ?? {}) as StabilityConfigInput);
    const named = [...o.namedParameters];
    this.params = named.map(([, p]) => p);
    this.stats = new LayerStatsCollector(named);
    const c = this.config;
    this.nan = new NanGuard(c.nanGuard.maxConsecutiveSkips);
    this.spike = new LossSpikeDetector(c.spikeGuard.window, c.spikeGuard.k, c.spikeGuard.patience);
    if (o.snapshot) this.snapshot = o.snapshot;
    else if (o.optimizer) this.snapshot = new TrainingSnapshot(this.params, o.optimizer, o.extras ?? {});
    else throw new ValueError('StabilityGuard: give the optimizer (or a snapshot store) so that a rollback can restore it');
    const groups = [...new Set(named.map(([n]) => layerGroupOf(n)))];
    this.vanishing = new VanishingDetector(lowerLayerGroups(groups, c.gradStats.lowerLayers), c.gradStats.vanishingThreshold, c.gradStats.patience);
    const g = c.gradStats;
    this.exploding = new ExplodingDetector(g.explodingThreshold, g.growthFactor, g.growthWindow, g.vanishingThreshold);
    this.log = o.log ?? (() => {});
    this.print = o.print ?? (() => {});
    this.lastCheckpoint = o.lastCheckpoint ?? (() => null);
  }

  private emit(e: StabilityEvent): void {
    this.log(e);
    this.print(`[${e.event}] step ${e.step}: ${e.message}`);
  }

  /** One event per kind and step, naming every layer it concerns. */
  private warn(ws: GradWarning[]): void {
    this.warnings.push(...ws);
    for (const kind of ['exploding', 'vanishing'] as const) {
      const of = ws.filter((w) => w.kind === kind);
      if (of.length === 0) continue;
      const prefix = `${kind} gradients: `;
      const message = prefix + of.map((w) => (w.message.startsWith(prefix) ? w.message.slice(prefix.length) : w.message)).join('; ');
      this.emit({ event: 'warning', step: of[0].step, message, kind, layers: of.map((w) => w.layer) });
    }
  }

  /** Takes the first snapshot (at the starting step, before any update). */
  start(step: number): void {
    if (this.config.spikeGuard.enabled) this.snapshot.capture(step);
  }

  /** The step of the snapshot a rollback would return to (null before `start`). */
  get snapshotStep(): number | null {
    return this.snapshot.step;
  }

  /** Batches still to be dropped after a rollback. */
  get batchesToSkip(): number {
    return this.skipLeft;
  }

  /** Whether the loop should read and drop the next batch (counts it down). */
  takeSkipBatch(): boolean {
    if (this.skipLeft <= 0) return false;
    this.skipLeft--;
    return true;
  }

  /**
   * Judges a step after backward (gradients final, unscaled, not yet clipped).
   * @param step the optimizer step about to run (0-based: steps completed so far).
   * @param loss the step's loss (mean over its micro-batches).
   * @param opts.logStats record per-layer statistics for `afterStep` (a logging step).
   * @param opts.logStep the step number written in events (default `step`).
   * @throws TrainingDivergedError after too many consecutive skips or rollbacks to one snapshot.
   */
  check(step: number, loss: number, opts: { logStats?: boolean; logStep?: number } = {}): GuardDecision {
    const c = this.config;
    const at = opts.logStep ?? step;
    const norms = this.stats.measureGrads();
    const gradNorm = norms[norms.length - 1].gradNorm;
    const reason = c.nanGuard.enabled ? nonFiniteReason(loss, gradNorm) : null;
    if (reason !== null) {
      this.emit({ event: 'skip', step: at, message: `optimizer step skipped: non-finite ${reason === 'loss' ? `loss (${fmt(loss)})` : `gradient norm (${fmt(gradNorm)})`}`, reason });
      this.nan.skip(at, reason, this.lastCheckpoint());
      return { action: 'skip', reason, gradNorm };
    }
    const s = this.spike.stats();
    const verdict = c.spikeGuard.enabled && this.snapshot.step !== null ? this.spike.observe(loss) : 'ok';
    if (verdict === 'spike') {
      const threshold = s!.mean + c.spikeGuard.k * s!.std;
      this.rollbacksToSnapshot++;
      this.rollbacks++;
      if (this.rollbacksToSnapshot > c.spikeGuard.maxRollbacks) {
        throw new TrainingDivergedError(
          `training diverged at step ${at}: the loss spiked (${fmt(loss)} > ${fmt(threshold)}) again after ${c.spikeGuard.maxRollbacks} rollbacks to step ${this.snapshot.step} ` +
          `(stability.spikeGuard.maxRollbacks = ${c.spikeGuard.maxRollbacks}); lower learningRate`, at);
      }
      const toStep = this.snapshot.restore();
      this.skipLeft = c.spikeGuard.skipBatches;
      this.stats.cancel();
      this.emit({
        event: 'rollback', step: at, toStep, loss, threshold,
        message: `loss spike: ${c.spikeGuard.patience} consecutive losses above mean ${fmt(s!.mean)} + ${c.spikeGuard.k}·std ${fmt(s!.std)} = ${fmt(threshold)} ` +
          `(last ${fmt(loss)}): rolled back to step ${toStep}, skipping the next ${c.spikeGuard.skipBatches} batches`,
      });
      return { action: 'rollback', toStep, skipBatches: c.spikeGuard.skipBatches, gradNorm };
    }
    this.nan.ok();
    // A suspect's update runs (it may be a hard batch); no snapshot is taken until a loss is back under the bar.
    if (c.spikeGuard.enabled && verdict === 'ok') {
      this.goodSteps++;
      if (this.goodSteps % c.spikeGuard.snapshotEvery === 0) {
        this.snapshot.capture(step);
        this.rollbacksToSnapshot = 0;
      }
    }
    if (c.gradStats.enabled) {
      this.warn(this.exploding.update(at, norms));
      if (opts.logStats) this.stats.beforeStep();
    }
    return { action: 'step', gradNorm };
  }

  /**
   * After the optimizer step of a logging step: logs the per-layer statistics line and raises the
   * vanishing / exploding warnings of the layer groups. Returns the statistics (null when
   * `check` was not asked for them).
   * @param logStep the step number written in the line (the trainer's logged step).
   */
  afterStep(logStep: number): LayerStat[] | null {
    if (!this.stats.pending) return null;
    const layers = this.stats.afterStep();
    this.log({ type: 'layers', step: logStep, layers });
    const groups = layers.filter((l) => l.name !== TOTAL);
    this.warn(this.vanishing.update(logStep, groups));
    return layers;
  }

  /**
   * The guard's counters and detector histories as JSON, for a checkpoint (the in-memory snapshot
   * itself is not saved: after a resume the next snapshot is taken at the resumed step).
   */
  stateDict(): GuardState {
    return {
      nan: this.nan.stateDict(),
      spikeWindow: this.spike.history(),
      spikeSuspects: this.spike.suspects(),
      goodSteps: this.goodSteps,
      rollbacks: this.rollbacks,
      rollbacksToSnapshot: this.rollbacksToSnapshot,
      skipLeft: this.skipLeft,
      vanishing: this.vanishing.stateDict(),
      exploding: this.exploding.stateDict(),
    };
  }

  loadStateDict(s: Partial<GuardState>): void {
    this.nan.loadStateDict(s.nan ?? {});
    this.spike.loadHistory(s.spikeWindow ?? [], s.spikeSuspects ?? []);
    this.goodSteps = s.goodSteps ?? 0;
    this.rollbacks = s.rollbacks ?? 0;
    this.rollbacksToSnapshot = s.rollbacksToSnapshot ?? 0;
    this.skipLeft = s.skipLeft ?? 0;
    this.vanishing.loadStateDict(s.vanishing ?? {});
    this.exploding.loadStateDict(s.exploding ?? {});
  }
}

/** JSON state of a {@link StabilityGuard}. */
export interface GuardState {
  nan: { consecutive: number; total: number };
  spikeWindow: number[];
  spikeSuspects: number[];
  goodSteps: number;
  rollbacks: number;
  rollbacksToSnapshot: number;
  skipLeft: number;
  vanishing: ReturnType<VanishingDetector['stateDict']>;
  exploding: ExplodingState;
}
