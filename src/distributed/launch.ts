/**
 * What the launcher says about this process. `mpirun` (Open MPI) sets OMPI_COMM_WORLD_RANK, _SIZE,
 * _LOCAL_RANK and _LOCAL_SIZE in every process it starts; without them trainformer runs as one
 * process and never initialises MPI.
 */
import { DistributedError } from '../errors.js';

export interface LaunchInfo {
  /** This process's rank in [0, size). */
  rank: number;
  /** Number of processes in the job. */
  size: number;
  /** Rank among the processes on this machine. */
  localRank: number;
  /** Processes on this machine (threads per rank default to cores ÷ localSize). */
  localSize: number;
}

const VARS = ['OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', 'OMPI_COMM_WORLD_LOCAL_RANK', 'OMPI_COMM_WORLD_LOCAL_SIZE'] as const;

/**
 * Reads the launcher's environment.
 * @returns null when this process was not started by mpirun (no OMPI_COMM_WORLD_SIZE).
 * @throws DistributedError naming the variable when one is missing or not a valid integer.
 */
export function detectLaunch(env: NodeJS.ProcessEnv = process.env): LaunchInfo | null {
  if (env.OMPI_COMM_WORLD_SIZE === undefined) return null;
  const v: number[] = [];
  for (const name of VARS) {
    const s = env[name];
    if (s === undefined && name === 'OMPI_COMM_WORLD_LOCAL_SIZE') { v.push(-1); continue; }
    if (s === undefined || !/^[0-9]+$/.test(s)) {
      throw new DistributedError(`launcher environment: ${name} must be a non-negative integer, got ${s === undefined ? 'nothing' : `'${s}'`}`);
    }
    v.push(Number(s));
  }
  const [rank, size, localRank, localSizeRaw] = v;
  const localSize = localSizeRaw < 0 ? size : localSizeRaw;
  if (size < 1 || rank >= size) throw new DistributedError(`launcher environment: OMPI_COMM_WORLD_RANK ${rank} is not below OMPI_COMM_WORLD_SIZE ${size}`);
  if (localSize < 1 || localRank >= localSize) {
    throw new DistributedError(`launcher environment: OMPI_COMM_WORLD_LOCAL_RANK ${localRank} is not below OMPI_COMM_WORLD_LOCAL_SIZE ${localSize}`);
  }
  return { rank, size, localRank, localSize };
}
