/** Training stability (issue 8): gradient diagnostics, NaN / loss-spike guards, learning-rate range test. */
export * from './config.js';
export * from './errors.js';
export * from './norms.js';
export * from './layerGroups.js';
export * from './layerStats.js';
export * from './detectors.js';
export * from './nanGuard.js';
export * from './spike.js';
export * from './snapshot.js';
export * from './guard.js';
export * from './lrFind.js';
export * from './lrFindRun.js';
export * from './callback.js';
