/**
 * Data-parallel training inside the Trainer (issue 13), through the hooks of the one training path
 * (DESIGN.md "Distributed"): under `mpirun -np N` (the launcher's OMPI_COMM_WORLD_* environment) the
 * Trainer joins the process group and
 * - shards the data: the task reads rank r's share of each global batch of N × perDeviceTrainBatchSize
 *   (`Task.setDataParallel`), evaluation is sharded and its sums reduced where the task's metrics
 *   are sums;
 * - normalises the loss by the step's counted targets over every rank and micro-batch (an all-reduce
 *   of the counts before the first backward), so gradients are summed, not averaged, across ranks
 *   and N ranks × batch b train exactly as one process with batch N·b;
 * - synchronises gradients with `DistributedDataParallel` buckets during the last micro-step's
 *   backward only (the others run in `noSync`);
 * - sums the step's logged loss, terms and tokens over the ranks (every rank logs the same numbers;
 *   rank 0 writes them);
 * - shards the optimizer state with `zeroStage: 1` (ZeRO-1);
 * - checks at start that every rank runs the same version, config, model and resume checkpoint.
 * Every collective has the `ddpTimeout` deadline: a dead or hung rank ends the others with a
 * `DistributedError` instead of a hang.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import {
  checkSameOnAllRanks, DistributedDataParallel, initProcessGroup, ZeroRedundancyOptimizer, type ProcessGroup,
} from '../distributed/index.js';
import type { Tensor } from '../tensor/index.js';
import type { Task } from '../tasks/types.js';
import type { TrainConfig } from './config.js';
import type { AnyOptimizer } from './optimizer.js';
import type { GradSync } from './step.js';

/** trainformer's version (package.json), for the start-up check. */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export class TrainerDataParallel implements GradSync {
  readonly pg: ProcessGroup;
  readonly ddp: DistributedDataParallel;
  /** Objective term names of the last step that had any (a rank without a batch reports zeros for them). */
  private termNames: string[] = [];

  /**
   * Shards the task's data; wraps the parameters in DDP (rank 0's values are broadcast).
   * @throws ConfigError when the task cannot train data-parallel; DistributedError on a failed collective.
   */
  constructor(pg: ProcessGroup, task: Task, params: readonly [string, Tensor][], config: TrainConfig) {
    this.pg = pg;
    if (!task.setDataParallel) throw new ConfigError(`task: ${task.name} cannot train data-parallel (started by mpirun with ${pg.size} ranks)`);
    task.setDataParallel(pg.size, pg.rank, (sums) => this.reduceSum(sums, 'all-reduce of evaluation sums'));
    this.ddp = new DistributedDataParallel(params, pg, { gradReduction: 'sum', bucketCapMb: config.ddpBucketCapMb });
  }

  /** This rank writes files and logs (rank 0). */
  get isMain(): boolean {
    return this.pg.rank === 0;
  }

  /** The optimizer, sharded by ZeRO-1 when `zeroStage` is 1. */
  wrapOptimizer(optimizer: AnyOptimizer, zeroStage: number): AnyOptimizer {
    return zeroStage === 1 ? (new ZeroRedundancyOptimizer(optimizer, this.pg) as unknown as AnyOptimizer) : optimizer;
  }

  /**
   * Stops every rank at start when they do not run the same job.
   * @throws DistributedError naming what differs and on which ranks.
   */
  checkSameJob(config: TrainConfig, params: readonly [string, Tensor][], resumeFrom: string | null, task: Task): void {
    checkSameOnAllRanks(this.pg, {
      version: packageVersion(),
      config: JSON.stringify(config),
      model: params.map(([n, p]) => `${n}:${p.shape.join('x')}`).join(','),
      data: `${task.batchesPerEpoch} batches per epoch`,
      resume: resumeFrom ?? 'none',
    });
  }

  /** The step's counted targets over every rank. */
  reduceTargetCount(local: number): number {
    const a = new Float64Array([local]);
    this.reduceSum(a, 'all-reduce of the counted targets');
    return a[0];
  }

  noSync<T>(fn: () => T): T {
    return this.ddp.noSync(fn);
  }

  synchronize(): void {
    this.ddp.synchronize();
  }

  /** Sums the step's loss, tokens and terms over the ranks (in place). */
  reduceStep(stats: { loss: number; tokens: number; terms: Record<string, number> }): void {
    const own = Object.keys(stats.terms).sort();
    if (own.length) this.termNames = own;
    const names = this.termNames;
    const a = Float64Array.from([stats.loss, stats.tokens, ...names.map((n) => stats.terms[n] ?? 0)]);
    this.reduceSum(a, 'all-reduce of the logged loss');
    stats.loss = a[0];
    stats.tokens = a[1];
    names.forEach((n, i) => { stats.terms[n] = a[2 + i]; });
  }

  /**
   * Bytes of optimizer state each rank holds (float32 moments; ZeRO-1 shards them). A collective.
   * @returns one number per rank, on every rank.
   */
  optimizerStateBytesPerRank(optimizer: AnyOptimizer): number[] {
    const zero = optimizer as unknown as { localStateBytes?: () => number };
    let own = 0;
    if (zero.localStateBytes) own = zero.localStateBytes();
    else for (const s of optimizer.state.values()) for (const t of Object.values(s.buffers)) own += t.numel() * 4;
    const all = new Float64Array(this.pg.size);
    all[this.pg.rank] = own;
    this.reduceSum(all, 'all-reduce of optimizer state sizes');
    return Array.from(all);
  }

  /** In-place sum over the ranks. */
  reduceSum(values: Float64Array, label: string): void {
    this.pg.allReduce(values, 'sum', label).wait();
  }
}

/**
 * The process group of this process: the launcher's job (`mpirun`), or null for one process.
 * @throws DistributedError when started by mpirun but MPI cannot start.
 */
export function joinLaunchedJob(config: TrainConfig): ProcessGroup | null {
  const pg = initProcessGroup({ timeoutSec: config.ddpTimeout });
  return pg.size > 1 ? pg : null;
}
