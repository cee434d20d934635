/**
 * float32 ↔ bfloat16 / float16 conversions (round to nearest even) for mixed precision. The rules
 * live beside the kernels (src/backend/lowp-cast.ts) so that the js backend's low-precision
 * products use the very same rounding; this module is their public home in the amp layer.
 */
export * from '../backend/lowp-cast.js';
