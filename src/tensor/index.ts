/** The tensor layer: Tensor, creation, autograd, RNG, scopes and every op. */
export * from './dtype.js';
export { Tensor, tensor, empty, full, zeros, ones, scalar, zerosLike, arange, numel, contiguousStrides, normDim, type GradNode, type NestedArray } from './tensor.js';
export { scope, memoryStats, emptyPool, allocStorage, wrapStorage, Storage } from './storage.js';
export { backward, noGrad, withGrad, isGradEnabled, needsGrad, record, type BackwardOptions } from './autograd.js';
export { Generator, defaultGenerator, manualSeed, rand, randn, randint, bernoulli, randperm, type GeneratorState } from './random.js';
export { broadcastShapes, broadcastStrides, sameShape } from './shape.js';
export { opRegistry, registerOp, type OpInfo } from './ops/registry.js';
export * from './ops/views.js';
export * from './ops/elementwise.js';
export * from './ops/reduce.js';
export * from './ops/matmul.js';
export * from './ops/softmax.js';
export * from './ops/indexing.js';
export * from './ops/combine.js';
export * from './ops/mask.js';
export * from './ops/dropout.js';
export * from './ops/norm.js';
export * from './ops/attention.js';
