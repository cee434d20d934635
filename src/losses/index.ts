/**
 * Losses and the training objective (DESIGN.md "Losses"): functional, PyTorch semantics, every
 * softmax-based loss computed from log-sum-exp.
 */
export type { Reduction } from './common.js';
export { crossEntropy, type CrossEntropyOptions, type CrossEntropyLayout } from './cross-entropy.js';
export { nllLoss, type NllLossOptions } from './nll.js';
export { zLoss, type ZLossOptions } from './z-loss.js';
export { bceWithLogits, type BceWithLogitsOptions } from './bce.js';
export { mseLoss, l1Loss, smoothL1Loss, huberLoss, type PointwiseOptions, type SmoothL1Options, type HuberOptions } from './pointwise.js';
export { klDiv, type KlDivOptions } from './kl-div.js';
export { distillationLoss, type TeacherTargets, type DistillationLossOptions } from './distillation.js';
export { l1Penalty, l2Penalty } from './penalty.js';
export { Objective, type ObjectiveTerm, type ObjectiveResult } from './objective.js';
export { fusedLinearCrossEntropy, fusedLinearCrossEntropyWithParts, type FusedLinearCrossEntropyOptions, type FusedLinearCrossEntropyParts } from './fused-linear-cross-entropy.js';
export { notePeak, peakLiveBytes, resetPeak } from './peak.js';
