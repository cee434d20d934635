/** trainformer's public API. */
export * from './errors.js';
export * from './tensor/index.js';
export { getBackend, setBackend, jsBackend, type Backend } from './backend/index.js';
