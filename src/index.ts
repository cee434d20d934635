/** trainformer's public API. */
export * from './errors.js';
export * from './tensor/index.js';
export { getBackend, setBackend, jsBackend, type Backend } from './backend/index.js';
export * from './losses/index.js';
export * from './optim/index.js';
export * from './nn/index.js';
export * from './models/index.js';
export * from './io/safetensors.js';
export * from './io/atomic.js';
export * as data from './data/index.js';
export * from './amp/cast.js';
export * as distributed from './distributed/index.js';
export { setLogger, getLogger, silentLogger, defaultLogger, type Logger } from './logger.js';
