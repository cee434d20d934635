/**
 * Optimisers, parameter groups, gradient clipping, loss scaling, accumulation and LR schedules.
 *
 * One optimiser step with every piece (run it inside `scope()`):
 *   const opt = new AdamW(groupParameters(model.namedParameters(), { policy: 'nanogpt', weightDecay: 0.1 }), { lr: 6e-4 });
 *   const sched = createSchedule({ type: 'cosine', baseLr: 6e-4, warmupSteps: 100, numTrainingSteps: 5000 });
 *   const scaler = new GradScaler();
 *   setScheduledLr(opt, sched);
 *   for (const mb of microBatches) backward(scaler.scale(mulScalar(loss(mb), accumulationScale(microBatches.length))));
 *   scaler.unscale_(opt); const gradNorm = clipGradNorm(opt.parameters(), 1.0);
 *   scaler.step(opt); scaler.update(); sched.step(); opt.zeroGrad();
 * Checkpoint: `splitStateDict(opt.stateDict())` (JSON + named Float32Arrays), `sched.stateDict()`,
 * `scaler.stateDict()`; restore with `opt.loadStateDict(joinStateDict(json, tensors))` and the others' loadStateDict.
 */
export { Optimizer, type Algorithm, type ParamGroup, type ParamGroupSpec, type ParamsArg, type ParamState,
  type ParamStateDict, type OptimizerStateDict, type ZeroGradOptions } from './optimizer.js';
export { SGD, type SgdOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { groupParameters, isNoDecayName, GROUPING_POLICIES, type GroupingPolicy, type GroupParametersOptions, type DecayGroupSpec } from './param-groups.js';
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip-grad.js';
export { GradScaler, type GradScalerOptions, type GradScalerState } from './grad-scaler.js';
export { accumulationScale, accumulationWeights } from './accumulation.js';
export { setScheduledLr } from './scheduled-lr.js';
export { splitStateDict, joinStateDict, type OptimizerStateJson, type NamedBuffer } from './state-dict.js';
export * from './schedules.js';
