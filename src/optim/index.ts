/** Optimisers, parameter groups, gradient clipping, loss scaling, accumulation and LR schedules. */
export { Optimizer, type Algorithm, type ParamGroup, type ParamGroupSpec, type ParamsArg, type ParamState,
  type ParamStateDict, type OptimizerStateDict, type ZeroGradOptions } from './optimizer.js';
export { SGD, type SgdOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { groupParameters, isNoDecayName, GROUPING_POLICIES, type GroupingPolicy, type GroupParametersOptions, type DecayGroupSpec } from './param_groups.js';
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip_grad.js';
export { GradScaler, type GradScalerOptions, type GradScalerState } from './grad_scaler.js';
export { accumulationScale, accumulationWeights } from './accumulation.js';
export { setScheduledLr } from './scheduled_lr.js';
export { splitStateDict, joinStateDict, type OptimizerStateJson, type NamedBuffer } from './state_dict.js';
export * from './schedules.js';
