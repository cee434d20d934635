/**
 * Where library messages go. Library code (the Trainer, tasks, backends) never writes to
 * `process.stderr` itself: it calls `log.info` / `log.warn`, and the application decides what happens
 * with them by installing a logger. The `trainformer` CLI installs one that writes both to stderr
 * (through its progress bar when one is showing).
 *
 * Default (a library user who installed nothing): warnings go to `console.warn`, information is
 * dropped — a warning such as "native backend not built" must reach someone, progress lines need not.
 *
 *   import { setLogger, silentLogger } from 'trainformer';
 *   setLogger(silentLogger);                                  // nothing at all
 *   setLogger({ info: (m) => myLog.debug(m), warn: (m) => myLog.warn(m) });
 */

/** A sink for library messages; each message is one line without a trailing newline. */
export interface Logger {
  /** Progress and state changes ("resumed from … at step 40"). */
  info(message: string): void;
  /** Something the user should know about (a skipped step, a skipped malformed line, a fallback). */
  warn(message: string): void;
}

/** Drops every message. */
export const silentLogger: Logger = { info: () => {}, warn: () => {} };

/** The default: warnings through `console.warn`, information dropped. */
export const defaultLogger: Logger = { info: () => {}, warn: (m) => console.warn(m) };

let current: Logger = defaultLogger;

/**
 * Installs `logger` for every later library message.
 * @returns the logger it replaces (to restore it afterwards).
 */
export function setLogger(logger: Logger): Logger {
  const prev = current;
  current = logger;
  return prev;
}

/** The logger in use. */
export function getLogger(): Logger {
  return current;
}

/** What library code calls; forwards to the logger in use at the time of the call. */
export const log: Logger = {
  info: (m) => current.info(m),
  warn: (m) => current.warn(m),
};
