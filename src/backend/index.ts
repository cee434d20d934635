/**
 * Backend selection. `native` when the addon is built, otherwise `js` with a one-line notice on
 * stderr; `TRAINFORMER_BACKEND=js|native` forces one (forcing `native` when it is missing throws).
 */
import { ValueError } from '../errors.js';
import { log } from '../logger.js';
import type { Backend } from './backend.js';
import { jsBackend } from './js/index.js';
import { loadNativeBackend } from './native/index.js';

export type { Backend } from './backend.js';
export { jsBackend };

let current: Backend | null = null;
let noticed = false;

function choose(): Backend {
  const want = process.env.TRAINFORMER_BACKEND;
  if (want !== undefined && want !== '' && want !== 'js' && want !== 'native') {
    throw new ValueError(`TRAINFORMER_BACKEND must be 'js' or 'native', got '${want}'`);
  }
  const threads = process.env.TRAINFORMER_NUM_THREADS;
  if (threads !== undefined && threads !== '' && !/^[1-9][0-9]*$/.test(threads)) {
    throw new ValueError(`TRAINFORMER_NUM_THREADS must be a positive integer, got '${threads}'`);
  }
  if (want === 'js') return jsBackend;
  const native = loadNativeBackend();
  if (native) return native;
  if (want === 'native') {
    throw new ValueError("TRAINFORMER_BACKEND=native but the native addon is not built (run 'npm run build:native'; it needs g++ and libopenblas-dev)");
  }
  if (!noticed) {
    noticed = true;
    log.warn('trainformer: native backend not built; using the portable js backend');
  }
  return jsBackend;
}

/** The backend every new tensor computes on. */
export function getBackend(): Backend {
  if (!current) current = choose();
  return current;
}

/** Switches the backend (tests compare backends this way). Returns the previous one. */
export function setBackend(b: Backend): Backend {
  const prev = getBackend();
  current = b;
  return prev;
}
