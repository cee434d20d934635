/**
 * Data-parallel training over MPI (DESIGN.md "Distributed"): the process group and its collectives,
 * DistributedDataParallel gradient buckets, ZeRO-1 optimizer sharding, the start-up consistency check
 * and the distributed sampler (which lives in data/, below the tasks that use it).
 */
export { detectLaunch, type LaunchInfo } from './launch.js';
export {
  initProcessGroup, getProcessGroup, destroyProcessGroup, MpiProcessGroup, SingleProcessGroup, fmtBytes,
  type ProcessGroup, type Work, type ReduceOp, type InitOptions, type CollectiveArray,
} from './process-group.js';
export { DistributedDataParallel, type DdpOptions, type DdpStepStats } from './ddp.js';
export { ZeroRedundancyOptimizer } from './zero.js';
export { checkSameOnAllRanks } from './consistency.js';
export { DistributedSampler, type DistributedSamplerOptions } from '../data/index.js';
