/** Training stability (issue 8): gradient diagnostics, NaN / loss-spike guards, learning-rate range test. */
export * from './config.js';
export * from './errors.js';
export * from './norms.js';
export * from './layer-groups.js';
export * from './layer-stats.js';
export * from './detectors.js';
export * from './nan-guard.js';
export * from './spike.js';
export * from './snapshot.js';
export * from './guard.js';
export * from './lr-find.js';
export * from './lr-find-run.js';
export * from './callback.js';
export * from './divergence.js';
