// Portable fused kernels: the AdamW update (reference version; attention lives in attention.ts).

export function adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number,
  b1: number, b2: number, eps: number, wd: number, bc1: number, bc2: number, gradScale: number): void {
  const decay = 1 - lr * wd;
  const stepSize = lr / bc1;
  const sqrtBc2 = Math.sqrt(bc2);
  for (let i = 0; i < n; i++) {
    // The clipped gradient, rounded as clipGradNorm's in-place scale rounds it.
    const gi = Math.fround(g[i] * gradScale);
    // Intermediates rounded to float32 where PyTorch keeps them in float32 tensors.
    const mi = Math.fround(b1 * m[i] + (1 - b1) * gi);
    const vi = Math.fround(b2 * v[i] + (1 - b2) * gi * gi);
    m[i] = mi;
    v[i] = vi;
    const pi = wd !== 0 ? Math.fround(p[i] * decay) : p[i];
    const denom = Math.fround(Math.fround(Math.sqrt(vi)) / sqrtBc2 + eps);
    p[i] = pi - stepSize * (mi / denom);
  }
}
