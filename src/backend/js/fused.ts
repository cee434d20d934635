// Portable fused kernels: AdamW update and scaled dot-product attention (reference versions).

export function adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number,
  b1: number, b2: number, eps: number, wd: number, bc1: number, bc2: number): void {
  const decay = 1 - lr * wd;
  const stepSize = lr / bc1;
  const sqrtBc2 = Math.sqrt(bc2);
  for (let i = 0; i < n; i++) {
    const gi = g[i];
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

/** Reference attention: materialises one score row at a time (memory O(s) per row). */
export function attention(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
  bh: number, t: number, s: number, d: number, scale: number, causal: boolean): void {
  const row = new Float64Array(s);
  const acc = new Float64Array(d);
  for (let h = 0; h < bh; h++) {
    const qo = h * t * d, ko = h * s * d;
    for (let i = 0; i < t; i++) {
      const last = causal ? Math.min(s - 1, i + (s - t)) : s - 1;
      let mx = -Infinity;
      for (let j = 0; j <= last; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[qo + i * d + c] * k[ko + j * d + c];
        row[j] = dot * scale;
        if (row[j] > mx) mx = row[j];
      }
      let sum = 0;
      acc.fill(0);
      for (let j = 0; j <= last; j++) {
        const e = Math.exp(row[j] - mx);
        sum += e;
        for (let c = 0; c < d; c++) acc[c] += e * v[ko + j * d + c];
      }
      for (let c = 0; c < d; c++) out[qo + i * d + c] = acc[c] / sum;
      lse[h * t + i] = mx + Math.log(sum);
    }
  }
}

export function attentionBackward(q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
  g: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array, bh: number, t: number, s: number, d: number,
  scale: number, causal: boolean): void {
  dq.fill(0, 0, bh * t * d);
  dk.fill(0, 0, bh * s * d);
  dv.fill(0, 0, bh * s * d);
  const p = new Float64Array(s);
  for (let h = 0; h < bh; h++) {
    const qo = h * t * d, ko = h * s * d;
    for (let i = 0; i < t; i++) {
      const last = causal ? Math.min(s - 1, i + (s - t)) : s - 1;
      const l = lse[h * t + i];
      // delta_i = sum_c dO_ic * O_ic  (= sum_j P_ij dP_ij)
      let delta = 0;
      for (let c = 0; c < d; c++) delta += g[qo + i * d + c] * out[qo + i * d + c];
      for (let j = 0; j <= last; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[qo + i * d + c] * k[ko + j * d + c];
        p[j] = Math.exp(dot * scale - l);
      }
      for (let j = 0; j <= last; j++) {
        let dp = 0;
        for (let c = 0; c < d; c++) {
          dp += g[qo + i * d + c] * v[ko + j * d + c];
          dv[ko + j * d + c] += p[j] * g[qo + i * d + c];
        }
        const ds = p[j] * (dp - delta) * scale;
        for (let c = 0; c < d; c++) {
          dq[qo + i * d + c] += ds * k[ko + j * d + c];
          dk[ko + j * d + c] += ds * q[qo + i * d + c];
        }
      }
    }
  }
}
