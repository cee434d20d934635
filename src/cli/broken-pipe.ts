/**
 * A reader that goes away: `trainformer train … | head -3` (stdout) or `… 2>&1 | head -3` (stderr).
 * Node ignores SIGPIPE, so a write to a pipe whose reader exited fails with EPIPE. For `train` this
 * is the user's "stop" (trial s9 F19: the training went on invisibly to its last step, or, with
 * `2>&1`, died at the next progress line with no checkpoint): the stream is silenced (nothing more is
 * written to it), the run stops as on Ctrl-C — at the end of the step under way, which is saved — and
 * the command exits 141 (128 + SIGPIPE, what a shell reports for `yes | head`), saying one line on
 * stderr when stderr is not the closed pipe. Other commands (`generate … | head`) end quietly with
 * status 0 on a closed stdout, as before.
 * A closed pipe is noticed at the first write to it: each logging step writes a progress line to
 * stderr, but stdout is written only once training ends.
 */

export type PipeName = 'stdout' | 'stderr';

let listener: ((stream: PipeName) => void) | null = null;
const broken = new Set<PipeName>();

/** Streams whose reader went away, so far. */
export function brokenPipes(): ReadonlySet<PipeName> {
  return broken;
}

/** While `train` runs: called once per stream whose reader goes away. @returns a function that stops listening. */
export function onBrokenPipe(l: (stream: PipeName) => void): () => void {
  listener = l;
  return () => { if (listener === l) listener = null; };
}

/** Makes `stream` write nothing more (its writes succeed at once): a closed pipe must not fail each later line. */
function silence(stream: NodeJS.WriteStream): void {
  stream.write = ((...args: unknown[]): boolean => {
    const cb = args.find((a) => typeof a === 'function') as (() => void) | undefined;
    if (cb) process.nextTick(cb);
    return true;
  }) as typeof stream.write;
}

/** Installs the EPIPE handling on process.stdout and process.stderr (the CLI's entry point calls it once). */
export function watchPipes(): void {
  for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]] as const) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
      if (broken.has(name)) return;
      broken.add(name);
      silence(stream);
      if (listener) listener(name);
      else if (name === 'stdout') process.exit(0);
    });
  }
}
