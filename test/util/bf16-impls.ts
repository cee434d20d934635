/** Native bf16 GEMM test helpers: which implementations this CPU can run, and running under one. */
import type { Bf16GemmImpl } from '../../src/backend/native/index.js';

interface Bf16Info { impl: Bf16GemmImpl; cpuBf16: boolean; dnnl: boolean }
interface Bf16Addon { bf16GemmInfo(impl?: Bf16GemmImpl): Bf16Info }

/** The bf16 GEMMs this machine runs: emulation always, the own kernel with AVX512_BF16, oneDNN when built in too. */
export function bf16Impls(addon: Bf16Addon | null | undefined): Bf16GemmImpl[] {
  const info = addon?.bf16GemmInfo();
  const impls: Bf16GemmImpl[] = [];
  if (info) impls.push('emulate');
  if (info?.cpuBf16) impls.push('own');
  if (info?.cpuBf16 && info.dnnl) impls.push('dnnl');
  return impls;
}

/** Runs `fn` with the addon's bf16 GEMM switched to `impl`, then restores the previous one. */
export function withBf16Impl(addon: Bf16Addon, impl: Bf16GemmImpl, fn: () => void): void {
  const prev = addon.bf16GemmInfo().impl;
  addon.bf16GemmInfo(impl);
  try {
    fn();
  } finally {
    addon.bf16GemmInfo(prev);
  }
}
