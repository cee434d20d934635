/** The data layer: tokenizers, datasets (text, JSONL), collation, augmentation, seeded RNG. */
export * from './tokenizers/index.js';
export * from './rng.js';
export * from './jsonl.js';
export * from './text.js';
export * from './lm.js';
export * from './classification.js';
export * from './pairs.js';
export * from './squad.js';
export * from './collate.js';
export * from './augment.js';
export * from './eda.js';
export * from './wordnet.js';
export * from './paraphrase-cache.js';
export * from './text-augment.js';
export * from './distributed-sampler.js';
export * from './config.js';
export * from './squad-windows.js';
