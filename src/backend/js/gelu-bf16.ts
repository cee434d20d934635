// GELU on bfloat16 tensors (bf16 autocast's MLP, as PyTorch's CPU autocast runs it: bf16 in, float
// arithmetic inside, bf16 out). A bfloat16 input takes one of 65536 values, so both kernels read
// tables of the function and its derivative at every bf16 value, computed once in float64 and rounded
// to float32 (the derivative) or to float32 and then bfloat16 (the function). The native backend
// builds the same tables with the C library's erfc/exp (native/src/gelu-bf16.cc); the tables agree
// bit for bit on all 65536 inputs (test/backend/gelu-bf16.test.ts).
import { bfloat16BitsFromFloat32Bits } from '../lowp-cast.js';

const SQRT_2_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const KAPPA = 0.044715;

/**
 * erfc(|x|/√2) in float64 for a float64 x whose square is exact (every bfloat16 value): for
 * |x|/√2 < 1, 1 − erf by erf(z) = 2/√π·e^{−z²}·Σ 2ⁿz^{2n+1}/(1·3·…·(2n+1)) (positive terms, Abramowitz &
 * Stegun 7.1.6); above, the continued fraction erfc(z) = e^{−z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …))))
 * (A&S 7.1.14) evaluated bottom-up. e^{−z²} = exp(−x²/2) with an exact argument.
 */
function erfcHalfSqrt2(x: number): number {
  const ax = Math.abs(x);
  const z = ax * Math.SQRT1_2;
  const e = Math.exp(-0.5 * ax * ax);
  if (z < 1) {
    const z2 = 2 * z * z;
    let term = z, sum = z;
    for (let n = 1; n < 100; n++) {
      term *= z2 / (2 * n + 1);
      sum += term;
      if (term < 1e-18 * sum) break;
    }
    return 1 - TWO_OVER_SQRT_PI * e * sum;
  }
  if (e === 0) return 0;
  let f = z;
  for (let k = 600; k >= 1; k--) f = z + (k / 2) / f;
  return e / Math.sqrt(Math.PI) / f;
}

/** Standard normal CDF Φ(x) in float64, accurate in relative terms on both tails. */
function normalCdf(x: number): number {
  const c = 0.5 * erfcHalfSqrt2(x);
  return x < 0 ? c : 1 - c;
}

/** [GELU(x), GELU'(x)] in float64 (erf form, or GPT-2's tanh form written with sigmoids: no cancellation in the tails). */
function geluAndDerivative(x: number, tanh: boolean): [number, number] {
  if (Number.isNaN(x)) return [NaN, NaN];
  if (!tanh) {
    const cdf = normalCdf(x);
    const pdf = Math.exp(-0.5 * x * x) * INV_SQRT_2PI;
    return [x * cdf, pdf === 0 ? cdf : cdf + x * pdf];
  }
  // 0.5·x·(1 + tanh u) = x·σ(2u), and (1 − tanh² u)/2 = 2·σ(2u)·σ(−2u).
  const u = SQRT_2_PI * (x + KAPPA * x * x * x);
  const s = 1 / (1 + Math.exp(-2 * u)), sc = 1 / (1 + Math.exp(2 * u));
  const ss = s * sc;
  return [x * s, ss === 0 ? s : s + x * 2 * ss * SQRT_2_PI * (1 + 3 * KAPPA * x * x)];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 bits of the float32 value v (round to nearest even), NaN → 0x7fc0. */
function bf16Bits(v: number): number {
  if (Number.isNaN(v)) return 0x7fc0;
  f32[0] = v;
  return bfloat16BitsFromFloat32Bits(u32[0]!);
}

interface Tables { fwd: Uint16Array; deriv: Float32Array }
const tables: (Tables | undefined)[] = [undefined, undefined];

/** The tables of one variant, built on first use (~20 ms). */
export function geluBf16Tables(tanh: boolean): Tables {
  const i = tanh ? 1 : 0;
  let t = tables[i];
  if (t) return t;
  t = { fwd: new Uint16Array(65536), deriv: new Float32Array(65536) };
  for (let h = 0; h < 65536; h++) {
    u32[0] = h << 16;
    const [y, d] = geluAndDerivative(f32[0]!, tanh);
    t.fwd[h] = bf16Bits(Math.fround(y));
    t.deriv[h] = d;
  }
  tables[i] = t;
  return t;
}

export function geluBf16(tanh: boolean, x: Uint16Array, out: Uint16Array, n: number): void {
  const fwd = geluBf16Tables(tanh).fwd;
  for (let i = 0; i < n; i++) out[i] = fwd[x[i]!]!;
}

export function geluBf16Backward(tanh: boolean, x: Uint16Array, g: Uint16Array, dx: Uint16Array, n: number): void {
  const deriv = geluBf16Tables(tanh).deriv;
  for (let i = 0; i < n; i++) {
    u32[0] = g[i]! << 16;
    dx[i] = bf16Bits(Math.fround(f32[0]! * deriv[x[i]!]!));
  }
}
