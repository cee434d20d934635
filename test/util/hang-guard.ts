/**
 * The wall-clock bound of a child process (or a test) that exists only to end a hang, never to judge
 * speed. CI runs on 2 cores shared with other work, where a niced test can wait minutes for a CPU,
 * so the bound is far above any honest run: a run that reaches it has hung. (The distributed tests
 * bound only the time a job could run: test/distributed/job.ts.)
 */
export const HANG_GUARD_MS = 10 * 60_000;
