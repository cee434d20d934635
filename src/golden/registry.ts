/**
 * Registry of golden-case handlers, one per kind, plus the shared decoding and comparison helpers
 * handlers and the runner use. A handler file `src/golden/kinds/<kind>.ts` calls
 * `registerKind('<kind>', handler)` when imported.
 */
import { ValueError } from '../errors.js';
import type { KindHandler } from './types.js';

export { decodeNumber, decodeTensor } from './decode.js';
export { compareValue, isClose, type Tolerance } from './compare.js';

const handlers = new Map<string, KindHandler>();

/**
 * Registers the handler of a kind.
 * @throws ValueError if the kind is empty or already has a handler (two files claiming one kind).
 */
export function registerKind(kind: string, handler: KindHandler): void {
  if (typeof kind !== 'string' || kind.length === 0) {
    throw new ValueError(`registerKind: kind must be a non-empty string, got ${JSON.stringify(kind)}`);
  }
  if (typeof handler !== 'function') {
    throw new ValueError(`registerKind: handler of kind '${kind}' must be a function, got ${typeof handler}`);
  }
  if (handlers.has(kind)) {
    throw new ValueError(`registerKind: kind '${kind}' is already registered (two handler files for one kind?)`);
  }
  handlers.set(kind, handler);
}

/** The handler of a kind, or undefined when none is registered. */
export function getHandler(kind: string): KindHandler | undefined {
  return handlers.get(kind);
}

/** Kinds with a registered handler, sorted. */
export function registeredKinds(): string[] {
  return [...handlers.keys()].sort();
}
